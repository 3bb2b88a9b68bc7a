package proctest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/tandem once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tandem-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tandem")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-race", "-o", binPath, "./cmd/tandem")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// FreePort returns a loopback TCP port that was free a moment ago (and
// whose UDP twin was too, for gossip).
func FreePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		pc.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

// Node is one `tandem agent` process.
type Node struct {
	Name       string
	APIAddr    string
	GossipAddr string
	DataDir    string
	Args       []string // extra agent flags
	t          testing.TB
	bin        string
	logPath    string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// NewNode prepares a node with free ports; Start runs it.
func NewNode(t testing.TB, name string, args ...string) *Node {
	t.Helper()
	dir := t.TempDir()
	n := &Node{
		Name:       name,
		APIAddr:    fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		GossipAddr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		DataDir:    filepath.Join(dir, "data"),
		Args:       args,
		t:          t,
		bin:        Binary(t),
		logPath:    filepath.Join(dir, name+".log"),
	}
	raftPort := FreePort(t)
	_, gport, _ := net.SplitHostPort(n.GossipAddr)
	n.Args = append([]string{"agent", "--node", name, "--data-dir", n.DataDir, "--bind", "127.0.0.1",
		"--gossip-port", gport, "--raft-port", strconv.Itoa(raftPort), "--api-addr", n.APIAddr,
		"--drain-timeout", "2s", "--log-level", "debug"}, n.Args...)
	t.Cleanup(func() {
		n.Kill()
		if t.Failed() {
			if b, err := os.ReadFile(n.logPath); err == nil {
				t.Logf("=== log of %s ===\n%s", name, tail(b, 12000))
			}
		}
	})
	return n
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Start runs the process (again, after Kill or Stop, on the same data dir).
func (n *Node) Start() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	cmd := exec.Command(n.bin, n.Args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "TANDEM_TOKEN=", "TANDEM_API_TOKEN=")
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start %s: %v", n.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	n.cmd, n.done = cmd, done
}

// Kill sends SIGKILL and waits for the process to exit.
func (n *Node) Kill() { n.signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits (bounded) for a clean exit.
func (n *Node) Stop() { n.signal(syscall.SIGTERM) }

func (n *Node) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Client talks to the node's admin API.
func (n *Node) Client() *api.Client { return api.NewClient(n.APIAddr, "") }

// Status returns the node's status, or an error if it does not answer.
func (n *Node) Status() (api.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return n.Client().Status(ctx)
}

// WaitFor polls cond every 50 ms until it holds or timeout passes.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
