package netns

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is one process run inside a network namespace. It can be started
// again after it exited (same arguments, the log is appended to).
type Proc struct {
	Name string
	NS   string
	Args []string // command and arguments, run as `ip netns exec NS Args...`

	t       testing.TB
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	frozen bool
}

// NewProc prepares a process; Start runs it. The process is killed when the
// test ends, and its log is printed if the test failed.
func NewProc(t testing.TB, name, ns string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, NS: ns, Args: args, t: t, logPath: filepath.Join(t.TempDir(), name+".log")}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			if b, err := os.ReadFile(p.logPath); err == nil {
				t.Logf("=== log of %s (%s), without DEBUG lines ===\n%s", name, ns, tail(withoutDebug(b), 16000))
			}
		}
	})
	return p
}

// withoutDebug drops slog's DEBUG lines (health checks, Raft chatter),
// which would push the lines that explain a failure out of the tail.
func withoutDebug(b []byte) []byte {
	var out []byte
	for line := range bytes.Lines(b) {
		if !bytes.Contains(line, []byte("level=DEBUG")) {
			out = append(out, line...)
		}
	}
	return out
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}

// Start runs the process; it fails the test if it is already running.
func (p *Proc) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.t.Fatalf("start %s: already running", p.Name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", p.NS}, p.Args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "TANDEM_TOKEN=", "TANDEM_API_TOKEN=", "TANDEM_CLUSTER_KEY=")
	if err := cmd.Start(); err != nil {
		logf.Close()
		p.t.Fatalf("start %s: %v", p.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	p.cmd, p.done, p.frozen = cmd, done, false
}

// Running reports whether the process was started and has not exited.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits for the exit. No-op when not running.
func (p *Proc) Kill() { p.signalWait(syscall.SIGKILL, 10*time.Second) }

// Stop sends SIGTERM and waits up to 30 s for a clean exit, then kills.
func (p *Proc) Stop() { p.signalWait(syscall.SIGTERM, 30*time.Second) }

// Freeze sends SIGSTOP; Thaw sends SIGCONT.
func (p *Proc) Freeze() { p.signal(syscall.SIGSTOP, true) }

// Thaw resumes a frozen process.
func (p *Proc) Thaw() { p.signal(syscall.SIGCONT, false) }

func (p *Proc) signal(sig syscall.Signal, frozen bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		p.t.Fatalf("signal %s: not running", p.Name)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %s %v: %v", p.Name, sig, err)
	}
	p.frozen = frozen
}

func (p *Proc) signalWait(sig syscall.Signal, bound time.Duration) {
	p.mu.Lock()
	cmd, done, frozen := p.cmd, p.done, p.frozen
	p.cmd, p.frozen = nil, false
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	if frozen {
		_ = cmd.Process.Signal(syscall.SIGCONT) // a stopped process cannot handle SIGTERM
	}
	select {
	case <-done:
	case <-time.After(bound):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Log returns what the process wrote so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}
