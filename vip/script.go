package vip

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// ScriptTracker runs a track script (Script) on its own and keeps its
// rise/fall state, for an announcer of VIPs other than Manager (the BGP
// speaker): the same script semantics, weight included.
type ScriptTracker struct {
	s       Script
	log     *slog.Logger
	changed func()

	mu sync.Mutex
	st trackState
}

// NewScriptTracker returns a tracker of s (Interval, Rise and Fall
// defaulted as in Config); changed is called after each flip of the
// script's state.
func NewScriptTracker(s Script, log *slog.Logger, changed func()) *ScriptTracker {
	s.Interval = orDefault(s.Interval, DefaultScriptInterval)
	s.Rise, s.Fall = orDefault(s.Rise, 1), orDefault(s.Fall, 1)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ScriptTracker{s: s, log: log, changed: changed, st: newTrackState(s.Rise, s.Fall)}
}

// Run runs the script every Interval until ctx ends.
func (t *ScriptTracker) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		out, err := runShell(ctx, t.s.Command, nil, t.s.Interval)
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		flipped := t.st.observe(err == nil)
		ok := t.st.ok
		t.mu.Unlock()
		if err != nil {
			t.log.Debug("track script failed", "err", err, "output", truncate(out, 512))
		}
		if flipped {
			t.log.Info("track script changed state", "ok", ok, "err", err)
			if t.changed != nil {
				t.changed()
			}
		}
		timer.Reset(t.s.Interval)
	}
}

// OK reports whether the script is in its OK state.
func (t *ScriptTracker) OK() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.ok
}

// Priority applies the script's state to a base priority as Manager does:
// eligible is false only while a script of weight 0 fails.
func (t *ScriptTracker) Priority(base int) (prio int, eligible bool) {
	return effectivePriority(base, &t.s, t.OK())
}
