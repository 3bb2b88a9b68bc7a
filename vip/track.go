package vip

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// Script is a tracking script, keepalived's vrrp_script: Command runs every
// Interval; Rise consecutive successes (exit status 0) make it OK, Fall
// consecutive failures make it failing. It starts failing, one success
// away from OK (keepalived's initial state).
type Script struct {
	// Command is run with sh -c, with stdin empty; its output is ignored
	// unless it fails.
	Command string
	// Interval between runs, also the timeout of one run (default 1s).
	Interval time.Duration
	// Rise and Fall are the thresholds (default 1).
	Rise, Fall int
	// Weight, as in keepalived: 0 makes a failing script make the node
	// ineligible for every VIP; a positive weight is added to the priority
	// while the script is OK; a negative weight is added while it fails.
	// The result is clamped to 1-255. -254..254.
	Weight int
}

// trackState is the rise/fall state machine of a track script.
type trackState struct {
	ok         bool
	run        int // consecutive results that disagree with ok
	rise, fall int
}

func newTrackState(rise, fall int) trackState {
	return trackState{rise: rise, fall: fall, run: rise - 1}
}

// observe records one result and reports whether ok flipped.
func (s *trackState) observe(success bool) bool {
	if success == s.ok {
		s.run = 0
		return false
	}
	s.run++
	need := s.rise
	if s.ok {
		need = s.fall
	}
	if s.run < need {
		return false
	}
	s.ok, s.run = success, 0
	return true
}

// effectivePriority applies a track script's result to a base priority.
// eligible is false only for a failing script with weight 0.
func effectivePriority(base int, s *Script, ok bool) (prio int, eligible bool) {
	if s == nil {
		return base, true
	}
	switch {
	case s.Weight == 0:
		return base, ok
	case s.Weight > 0 && ok, s.Weight < 0 && !ok:
		base += s.Weight
	}
	return min(max(base, 1), 255), true
}

// runTrack runs the track script every Interval until ctx ends.
func (m *Manager) runTrack(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.checkOnce(ctx)
		t.Reset(m.cfg.TrackScript.Interval)
	}
}

// checkOnce runs the track script once and feeds the result to its state
// machine; a flip wakes the reconcile loop.
func (m *Manager) checkOnce(ctx context.Context) {
	s := m.cfg.TrackScript
	out, err := runShell(ctx, s.Command, nil, s.Interval)
	m.mu.Lock()
	flipped := m.track.observe(err == nil)
	ok := m.track.ok
	m.mu.Unlock()
	if err != nil {
		m.log.Debug("track script failed", "err", err, "output", truncate(out, 512))
	}
	if flipped {
		m.log.Info("track script changed state", "ok", ok, "err", err)
		m.signal()
	}
}

// runShell runs command with sh -c, extra environment and a timeout, and
// returns its combined output.
func runShell(ctx context.Context, command string, env []string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	if env != nil {
		cmd.Env = env
	}
	// A child that inherits the output pipe must not hold us past the timeout.
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return out, fmt.Errorf("run %q: timed out after %s", command, timeout)
	}
	if err != nil {
		return out, fmt.Errorf("run %q: %w", command, err)
	}
	return out, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
