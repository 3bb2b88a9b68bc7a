package services

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"

	"github.com/tandem-lb/tandem/testenv/agenttest"
	"github.com/tandem-lb/tandem/testenv/debian"
)

// Need returns the path of program bin, installing Debian package pkg
// when it is missing and the test runs as root. Otherwise the test is
// skipped, or fails under CI=true.
func Need(t testing.TB, pkg, bin string) string {
	t.Helper()
	return debian.Need(t, pkg, bin)
}

// Proc is a server process the test started.
type Proc struct {
	name string
	cmd  *exec.Cmd
	out  *Buffer
	done chan struct{}
	once sync.Once
}

// Start runs cmd in a process group of its own until Stop or the end of
// the test.
func Start(t testing.TB, name string, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{name: name, cmd: cmd, out: &Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Stop)
	return p
}

// Stop ends the process (SIGTERM, then SIGKILL after 5s) and waits for it.
func (p *Proc) Stop() {
	p.once.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
}

// Kill ends the process at once, as a crash would.
func (p *Proc) Kill() {
	p.once.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
}

// Output is what the process wrote so far.
func (p *Proc) Output() string { return p.out.String() }

// WaitPort waits until addr accepts connections, failing the test with the
// process's output if it exits first or the timeout passes.
func (p *Proc) WaitPort(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before listening on %s:\n%s", p.name, addr, p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening on %s after %v: %v\n%s", p.name, addr, timeout, err, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr is 127.0.0.1:port.
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Buffer is a goroutine-safe log buffer.
type Buffer struct {
	mu sync.Mutex
	b  []byte
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

// Tandem is a tandem agent serving a cluster config in this process.
type Tandem struct {
	API *api.Client
	// Log is the agent's log (info and above), as the journal would show it.
	Log *Buffer
}

// StartTandem runs an agent with config c (validated here) until the test
// ends and returns once its listeners are bound.
func StartTandem(t testing.TB, c *config.Cluster) *Tandem {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("tandem config: %v", err)
	}
	apiAddr := Addr(FreePort(t))
	logs := &Buffer{}
	var w io.Writer = logs
	if testing.Verbose() {
		w = io.MultiWriter(logs, os.Stderr)
	}
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a := agenttest.Start(t, "t", apiAddr, c, logger, 15*time.Second)
	select {
	case <-a.APIListening():
	case <-time.After(15 * time.Second):
		t.Fatal("tandem admin API not listening after 15s")
	}
	return &Tandem{API: api.NewClient(apiAddr, ""), Log: logs}
}

// Server is one server's line of `tandem status`.
func (tn *Tandem) Server(t testing.TB, backend, name string) api.ServerStatus {
	t.Helper()
	st, err := tn.API.Status(context.Background())
	if err != nil {
		t.Fatalf("tandem status: %v", err)
	}
	for _, s := range st.Servers {
		if s.Backend == backend && s.Server == name {
			return s
		}
	}
	t.Fatalf("tandem status has no server %s/%s", backend, name)
	return api.ServerStatus{}
}

// WaitFor polls cond every 20ms until it holds or timeout passes; it
// returns how long that took.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// Runuser runs a command as user (PostgreSQL refuses to run as root).
func Runuser(user string, args ...string) *exec.Cmd {
	if os.Geteuid() != 0 {
		return exec.Command(args[0], args[1:]...)
	}
	return exec.Command("runuser", append([]string{"-u", user, "--"}, args...)...)
}
