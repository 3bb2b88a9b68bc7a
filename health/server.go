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
	wake chan struct{} // buffered(1): ReportFailure and Observe ask the loop to reschedule

	cancel context.CancelFunc // stops the checker; guarded by Monitor.mu

	mu      sync.Mutex // guards everything below
	m       machine
	agent   agentState
	st      Status
	health  config.Health // effective: the machine's, combined with the agent's
	obsErrs int           // consecutive errors observed in live traffic
	fast    bool          // observe asked for the next check at fastinter
	retired bool
}

func newServer(key config.ServerKey, sp spec) *server {
	s := &server{
		key:   key,
		spec:  sp,
		wake:  make(chan struct{}, 1),
		m:     machine{rise: sp.timing.Rise, fall: sp.timing.Fall},
		agent: agentState{weight: -1},
	}
	s.st.AgentWeight = -1
	return s
}

// inherit takes over the state of the server this one replaces (same
// address, changed check settings): health, streak and the agent's state
// are kept, the new rise/fall apply from the next check.
func (s *server) inherit(old *server) {
	m, st, ag, h := old.snapshot()
	m.rise, m.fall = s.m.rise, s.m.fall
	s.m, s.st, s.agent, s.health = m, st, ag, h
	if s.spec.agent == nil {
		s.agent = agentState{weight: -1}
		s.health = s.agent.effective(s.m.health)
		s.st.AgentWeight, s.st.AgentAdmin, s.st.AgentDown, s.st.AgentResult = -1, "", false, ""
	}
}

func (s *server) snapshot() (machine, Status, agentState, config.Health) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m, s.st, s.agent, s.health
}

// retire stops s from changing state. With a reason, a known health is
// reported as going back to Unknown.
func (s *server) retire(reason string, emit func(Transition)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retired = true
	if reason != "" && s.health != config.HealthUnknown {
		emit(Transition{Key: s.key, From: s.health, To: config.HealthUnknown, Reason: reason, At: time.Now()})
	}
}

// settle recomputes the effective health after the machine or the agent
// changed and emits the edge, if any; s.mu is held.
func (s *server) settle(reason string, at time.Time, emit func(Transition)) {
	from := s.health
	s.health = s.agent.effective(s.m.health)
	s.st.Health, s.st.CheckHealth, s.st.Streak = s.health, s.m.health, s.m.streak
	if s.health != from {
		emit(Transition{Key: s.key, From: from, To: s.health, Reason: reason, At: at})
	}
}

// record applies one health check result; an edge is emitted under the lock.
func (s *server) record(r result, at time.Time, emit func(Transition)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired {
		return
	}
	_, changed, why := s.m.observe(r.verdict)
	s.fast = false
	s.st.LastResult, s.st.LastStatus, s.st.LastCode = r.desc, r.status, r.code
	s.st.LastStep, s.st.LastRead = r.step, r.read
	s.st.LastDuration, s.st.LastCheck = r.dur, at
	reason := r.desc
	if changed {
		reason += ", " + why
	}
	s.settle(reason, at, emit)
}

// recordAgent applies one agent check result and reports whether the
// agent changed the server's weight.
func (s *server) recordAgent(r result, at time.Time, emit func(Transition)) (weightChanged bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired {
		return false
	}
	s.st.AgentResult, s.st.AgentCheck = r.desc, at
	if r.agent == nil {
		return false // the agent could not be asked: nothing changes
	}
	before := s.agent.weight
	s.agent.apply(*r.agent)
	s.st.AgentWeight, s.st.AgentAdmin, s.st.AgentDown = s.agent.weight, s.agent.admin, s.agent.down
	s.settle(r.agent.String(), at, emit)
	return before != s.agent.weight
}

// markDown applies a passive failure and reports whether it took s down.
// A server that is already down is left alone.
func (s *server) markDown(desc string, at time.Time, emit func(Transition)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired {
		return false
	}
	_, changed := s.m.markDown()
	if !changed {
		return false
	}
	s.st.LastResult, s.st.LastStatus, s.st.LastCode, s.st.LastStep, s.st.LastRead = desc, "", 0, 0, ""
	s.st.LastDuration, s.st.LastCheck = 0, at
	s.settle(desc, at, emit)
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
	st := s.st
	st.ObserveErrors = s.obsErrs
	return st
}

// interval is the wait before s's next health check.
func (s *server) interval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fast {
		return s.spec.timing.FastInter.D()
	}
	return s.m.interval(s.spec.timing)
}
