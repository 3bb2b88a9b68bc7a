package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// hookWaitDelay bounds waiting for the hook's output after it exited (a
// background process it started may hold the pipe open).
const hookWaitDelay = 2 * time.Second

// runHook runs command with sh -c and env added to this process's
// environment, calling line for every line of its stdout and stderr. When
// ctx ends, the hook's whole process group is killed.
func runHook(ctx context.Context, command string, env []string, line func(string)) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The negative pid is the process group: sh and what it started.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = hookWaitDelay
	lw := &lineWriter{emit: line}
	cmd.Stdout, cmd.Stderr = lw, lw
	err := cmd.Run()
	lw.flush()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("hook killed: %w", ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return fmt.Errorf("hook killed by signal %v", st.Signal())
		}
		return fmt.Errorf("hook exited with status %d", ee.ExitCode())
	}
	return fmt.Errorf("run hook: %w", err)
}

// maxLine bounds a line held back while waiting for its newline.
const maxLine = 64 << 10

// lineWriter splits what is written into lines (stdout and stderr share
// one, so lines stay whole).
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(string(bytes.TrimRight(w.buf[:i], "\r")))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxLine {
		w.emit(string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
}
