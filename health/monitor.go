package health

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// Config holds the monitor's settings. It is empty for now: everything a
// check needs comes from the cluster config given to Update.
type Config struct{}

// Deps are the monitor's collaborators.
type Deps struct {
	// Logger receives transitions (info) and per-check detail (debug).
	// nil: discard.
	Logger *slog.Logger
	// OnTransition is called once per edge (compare-and-swap: exactly one
	// caller sees it), from the monitor's goroutines and from Update and
	// ReportFailure; it must not block (the agent copies and returns) and
	// must not call back into the Monitor. Calls for one server are made in
	// order, under that server's lock.
	// nil: transitions are only logged.
	OnTransition func(Transition)
	// OnAgentWeight is called when an agent check changed a server's
	// weight (Status.AgentWeight), under the same rules as OnTransition.
	// nil: not reported.
	OnAgentWeight func(config.ServerKey)
}

// Status is a snapshot of one checked server. `tandem status` and the
// dashboard show LastResult (which names the failing step and what it
// read), and the agent's answer when there is an agent.
type Status struct {
	// Health is this node's view: the health checks' (CheckHealth)
	// combined with the agent's (down on "down" or "maint", nolb on
	// "drain"). Unknown until the first check.
	Health config.Health
	// LastResult is the last check's result, HAProxy-like: "L7OK 200",
	// "L7STS 404", "L4CON connection refused", "L4TOUT", "L7TOUT",
	// "L7RSP bad status line", "passive: ...", or for a ruleset the step
	// and what it read: "L7TOUT: tcp-check step 4 expect string
	// \"role:master\": no match before the timeout, got \"$3831\\r\\n# Replication...\"".
	LastResult   string
	LastStatus   string        // the check status alone: L4OK, L6OK, L7OK, L7OKC, L4CON, L4TOUT, L6RSP, L6TOUT, L7RSP, L7STS, L7TOUT, SOCKERR
	LastCode     int           // HTTP status (SMTP code, MySQL error number) of the last check, 0 if none
	LastStep     int           // the ruleset step (1-based) that failed the last check; 0: none named
	LastRead     string        // what that step read, Go-quoted, at most 64 bytes
	LastDuration time.Duration // how long the last check took
	LastCheck    time.Time     // when the last check started (or the passive failure was reported)
	Streak       int           // consecutive results of the last result's kind (good, bad, or 404 with disable-on-404)
	CheckHealth  config.Health // the health checks' own view, without the agent

	// The agent check, when the server has one.
	AgentResult string    // "via agent : drain 50%", or why the agent could not be asked ("L4CON connection refused: ...")
	AgentCheck  time.Time // when the last agent check started
	AgentWeight int       // percent of the server's weight the agent asked for; -1: none
	AgentAdmin  string    // "drain" or "maint" as the agent set it; "": ready
	AgentDown   bool      // the agent said down (fail, stopped) and not up since

	// ObserveErrors is the count of consecutive errors live traffic saw
	// (observe), reset by a success or when on-error fires.
	ObserveErrors int
}

// Transition is one change of a server's health as this node sees it.
type Transition struct {
	Key      config.ServerKey
	From, To config.Health
	Reason   string // e.g. "L7STS 404, 2 consecutive failures"
	At       time.Time
}

// Monitor runs the active checks of every checked server of this node.
type Monitor struct {
	log          *slog.Logger
	onTransition func(Transition)
	onWeight     func(config.ServerKey)

	mu      sync.Mutex
	servers map[config.ServerKey]*server
	runCtx  context.Context // non-nil while Run is running
	ran     bool
	wg      sync.WaitGroup // one per checker goroutine

	checkers atomic.Int64 // running checker goroutines, for tests and debugging
	// onLag, when set (benchmarks), gets how late each health check
	// started after the time its schedule said.
	onLag func(time.Duration)
}

// New returns a monitor with no servers. It starts nothing: call Update and Run.
func New(cfg Config, deps Deps) (*Monitor, error) {
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Monitor{
		log:          log.With("component", "health"),
		onTransition: deps.OnTransition,
		onWeight:     deps.OnAgentWeight,
		servers:      make(map[config.ServerKey]*server),
	}, nil
}

// Update reconciles the set of checked servers with c (resolved,
// validated): servers with Check=true or an agent are checked; new ones
// start, removed ones stop, changed address/check settings restart the
// checker but keep the current health if the address is unchanged.
// Callable before Run and at any time; it does not wait for stopped
// checkers to exit (Run does).
//
// A server that stops being checked, or whose address changes, goes back to
// Unknown; if it was not Unknown that is reported as a transition with the
// reason "check removed" or "address changed".
func (m *Monitor) Update(c *config.Cluster) {
	want := make(map[config.ServerKey]spec)
	if c != nil {
		for i := range c.Backends {
			b := &c.Backends[i]
			for j := range b.Servers {
				if s := &b.Servers[j]; s.Check || s.Agent != nil {
					want[config.ServerKey{Backend: b.Name, Server: s.Name}] = newSpec(b, s)
				}
			}
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	for key, old := range m.servers {
		sp, ok := want[key]
		switch {
		case !ok:
			m.stop(old, "check removed")
			delete(m.servers, key)
			m.log.Debug("stop checking", "backend", key.Backend, "server", key.Server)
		case !old.spec.equal(sp):
			s := newServer(key, sp)
			if sp.addr == old.spec.addr {
				m.stop(old, "")
				s.inherit(old)
			} else {
				m.stop(old, "address changed")
			}
			m.servers[key] = s
			m.start(s)
			m.log.Debug("restart checking", "backend", key.Backend, "server", key.Server, "address", sp.addr)
		}
	}
	for key, sp := range want {
		if _, ok := m.servers[key]; !ok {
			s := newServer(key, sp)
			m.servers[key] = s
			m.start(s)
			m.log.Debug("start checking", "backend", key.Backend, "server", key.Server, "address", sp.addr)
		}
	}
}

// start runs s's checker if Run is running; m.mu is held.
func (m *Monitor) start(s *server) {
	if m.runCtx == nil {
		return
	}
	ctx, cancel := context.WithCancel(m.runCtx)
	s.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.loop(ctx, s)
	}()
}

// stop retires s and cancels its checker; m.mu is held. With a reason, a
// known health is reported as going back to Unknown.
func (m *Monitor) stop(s *server, reason string) {
	if s.cancel != nil {
		s.cancel()
	}
	s.retire(reason, m.emit)
}

// Run runs the checkers until ctx is done and returns after all of them
// exited. It returns an error only if the monitor is already running or
// has run.
func (m *Monitor) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.ran {
		m.mu.Unlock()
		return errors.New("run health monitor: already running or ran")
	}
	m.ran = true
	m.runCtx = ctx
	for _, s := range m.servers {
		m.start(s)
	}
	m.mu.Unlock()

	<-ctx.Done()

	m.mu.Lock()
	m.runCtx = nil // no further start: wg.Add cannot race with Wait
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// Status is a snapshot of every checked server (unchecked servers are
// absent = unknown = routed).
func (m *Monitor) Status() map[config.ServerKey]Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[config.ServerKey]Status, len(m.servers))
	for key, s := range m.servers {
		out[key] = s.status()
	}
	return out
}

// ReportFailure is passive health: live traffic saw repeated connection
// failures. A checked server that is not down (Up, NoLB, or Unknown, which
// is routed) goes down at once, with the reason "passive: <err>", and the
// active checks (at DownInter) bring it back after Rise successes.
// Unchecked servers are ignored (nothing could bring them back), logged at
// debug.
func (m *Monitor) ReportFailure(key config.ServerKey, err error) {
	m.mu.Lock()
	s := m.servers[key]
	m.mu.Unlock()
	if s == nil || s.spec.rs == nil {
		m.log.Debug("ignore passive failure of unchecked server",
			"backend", key.Backend, "server", key.Server, "err", err)
		return
	}
	desc := "passive: connection failures"
	if err != nil {
		desc = "passive: " + err.Error()
	}
	if s.markDown(desc, time.Now(), m.emit) {
		s.wakeUp()
	}
}

// emit reports one transition; the caller holds the server's lock, so
// transitions of one server are delivered in order.
func (m *Monitor) emit(t Transition) {
	m.log.Info("server health changed", "backend", t.Key.Backend, "server", t.Key.Server,
		"from", t.From.String(), "to", t.To.String(), "reason", t.Reason)
	if m.onTransition != nil {
		m.onTransition(t)
	}
}

// loop is one server's checker: wait, then checkOnce (and, on its own
// schedule, checkAgentOnce).
func (m *Monitor) loop(ctx context.Context, s *server) {
	m.checkers.Add(1)
	defer m.checkers.Add(-1)
	var check, agent optTimer
	var due time.Time // when the next health check should start
	if s.spec.rs != nil {
		d := s.spec.firstDelay()
		check.start(d)
		due = time.Now().Add(d)
	}
	if s.spec.agent != nil {
		agent.start(time.Duration(rand.Int64N(int64(s.spec.agentInter))))
	}
	defer check.stop()
	defer agent.stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			d := s.interval()
			check.reset(d)
			due = time.Now().Add(d)
		case <-check.c():
			if m.onLag != nil {
				m.onLag(time.Since(due))
			}
			d := m.checkOnce(ctx, s)
			check.reset(d)
			due = time.Now().Add(d)
		case <-agent.c():
			agent.reset(m.checkAgentOnce(ctx, s))
		}
	}
}

// optTimer is a timer that may not exist: its channel is then nil, which
// never fires in a select.
type optTimer struct{ t *time.Timer }

func (o *optTimer) start(d time.Duration) { o.t = time.NewTimer(d) }

func (o *optTimer) c() <-chan time.Time {
	if o.t == nil {
		return nil
	}
	return o.t.C
}

func (o *optTimer) reset(d time.Duration) {
	if o.t != nil {
		o.t.Reset(d)
	}
}

func (o *optTimer) stop() {
	if o.t != nil {
		o.t.Stop()
	}
}

// checkOnce runs one health check of s, applies its result and returns the
// wait before the next check. A check cut short by ctx is discarded.
func (m *Monitor) checkOnce(ctx context.Context, s *server) time.Duration {
	start := time.Now()
	r := s.spec.probe(ctx)
	if ctx.Err() != nil {
		return s.interval()
	}
	m.log.Debug("check", "backend", s.key.Backend, "server", s.key.Server,
		"result", r.desc, "duration", r.dur)
	s.record(r, start, m.emit)
	return s.interval()
}

// checkAgentOnce runs one agent check of s and applies the agent's answer;
// it returns the wait before the next one.
func (m *Monitor) checkAgentOnce(ctx context.Context, s *server) time.Duration {
	start := time.Now()
	r := s.spec.probeAgent(ctx)
	if ctx.Err() != nil {
		return s.spec.agentInter
	}
	m.log.Debug("agent check", "backend", s.key.Backend, "server", s.key.Server,
		"result", r.desc, "duration", r.dur)
	if s.recordAgent(r, start, m.emit) && m.onWeight != nil {
		m.onWeight(s.key)
	}
	return s.spec.agentInter
}
