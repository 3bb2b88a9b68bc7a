package health

import (
	"context"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// server is one checked server: its immutable spec and its mutable state.
// A changed spec replaces the server with a new one (see Monitor.Update);
// the old one is retired so that a check still in flight cannot change
// anything.
type server struct {
	key  config.ServerKey
	spec spec
	wake chan struct{} // buffered(1): ReportFailure asks the loop to reschedule

	cancel context.CancelFunc // stops the checker; guarded by Monitor.mu

	mu      sync.Mutex // guards m, st, retired
	m       machine
	st      Status
	retired bool
}

func newServer(key config.ServerKey, sp spec) *server {
	return &server{
		key:  key,
		spec: sp,
		wake: make(chan struct{}, 1),
		m:    machine{rise: sp.timing.Rise, fall: sp.timing.Fall},
	}
}

// inherit takes over the state of the server this one replaces (same
// address, changed check settings): health and streak are kept, the new
// rise/fall apply from the next check.
func (s *server) inherit(m machine, st Status) {
	m.rise, m.fall = s.m.rise, s.m.fall
	s.m, s.st = m, st
}

// retire stops s from changing state and returns its last state. With a
// reason, a known health is reported as going back to Unknown.
func (s *server) retire(reason string, emit func(Transition)) (machine, Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retired = true
	if reason != "" && s.m.health != config.HealthUnknown {
		emit(Transition{Key: s.key, From: s.m.health, To: config.HealthUnknown, Reason: reason, At: time.Now()})
	}
	return s.m, s.st
}

// record applies one check result; an edge is emitted under the lock.
func (s *server) record(r result, at time.Time, emit func(Transition)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired {
		return
	}
	from, changed, why := s.m.observe(r.verdict)
	s.st = Status{
		Health:       s.m.health,
		LastResult:   r.desc,
		LastCode:     r.code,
		LastDuration: r.dur,
		LastCheck:    at,
		Streak:       s.m.streak,
	}
	if changed {
		emit(Transition{Key: s.key, From: from, To: s.m.health, Reason: r.desc + ", " + why, At: at})
	}
}

// markDown applies a passive failure and reports whether it took s down.
// A server that is already down is left alone.
func (s *server) markDown(desc string, at time.Time, emit func(Transition)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired {
		return false
	}
	from, changed := s.m.markDown()
	if !changed {
		return false
	}
	s.st = Status{Health: s.m.health, LastResult: desc, LastCheck: at, Streak: s.m.streak}
	emit(Transition{Key: s.key, From: from, To: s.m.health, Reason: desc, At: at})
	return true
}

func (s *server) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *server) status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// interval is the wait before s's next check.
func (s *server) interval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.interval(s.spec.timing)
}
