package balancer

import (
	"sync/atomic"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// PassiveFailures is how many consecutive connection failures (connect
// refused or timed out, reset or closed before any response byte) live
// traffic must see on one server before Deps.OnServerFailure is called.
// A successful exchange resets the count.
const PassiveFailures = 3

// serverID identifies a server runtime: the same key with a new address is a
// new server (the old one drains).
type serverID struct {
	key  config.ServerKey
	addr string
}

// server is the runtime of one backend server. It outlives config swaps
// while its key and address stay the same. It implements policy.Server.
type server struct {
	key  config.ServerKey
	addr string
	be   *backendRT

	admin     atomic.Int32 // config.AdminState
	health    atomic.Int32 // config.Health
	weight    atomic.Int32 // runtime weight before slow start
	maxConn   atomic.Int32 // 0: unlimited
	slowStart atomic.Int64 // ns; 0: none
	upSince   atomic.Int64 // unix ns when it last became routable; 0: not ramping
	removed   atomic.Bool
	cookie    atomic.Pointer[string]
	opts      atomic.Pointer[serverOpts] // PROXY protocol, observe, shutdown actions (proxyproto.go)

	inFlight atomic.Int32 // requests/connections holding a maxconn slot
	fails    atomic.Int32 // consecutive connection failures

	stats counters
	rtime histogram // server response time (request sent → response head)
	pool  pool
	h2    h2Pool // HTTP/2 connections (upstream_h2.go)
}

func newServer(id serverID, be *backendRT) *server {
	s := &server{key: id.key, addr: id.addr, be: be}
	s.pool.srv = s
	return s
}

// routable: may take new (non-sticky) traffic.
func (s *server) routable() bool {
	if s.removed.Load() || config.AdminState(s.admin.Load()) != config.AdminReady {
		return false
	}
	h := config.Health(s.health.Load())
	return h == config.HealthUnknown || h == config.HealthUp
}

// stickyOK: may take traffic that is persistent to it (cookie or stick
// table). Draining and NoLB servers still do; maint and down ones do not.
func (s *server) stickyOK() bool {
	if s.removed.Load() || config.AdminState(s.admin.Load()) == config.AdminMaint {
		return false
	}
	return config.Health(s.health.Load()) != config.HealthDown
}

// hasSlot reports whether the server is under its maxconn.
func (s *server) hasSlot() bool {
	mc := s.maxConn.Load()
	return mc <= 0 || s.inFlight.Load() < mc
}

// acquire takes a maxconn slot; false when the server is full.
func (s *server) acquire() bool {
	for {
		mc := s.maxConn.Load()
		n := s.inFlight.Load()
		if mc > 0 && n >= mc {
			return false
		}
		if s.inFlight.CompareAndSwap(n, n+1) {
			s.stats.inFlight.Add(1)
			return true
		}
	}
}

// release returns a slot taken by acquire and wakes one queued request.
func (s *server) release() {
	s.inFlight.Add(-1)
	s.stats.inFlight.Add(-1)
	s.be.queue.wakeOne()
}

// Weight is the effective weight now, slow start applied (policy.Server).
func (s *server) Weight() int {
	w := int(s.weight.Load())
	if w <= 0 {
		return 0
	}
	if up := s.upSince.Load(); up != 0 {
		ss := s.slowStart.Load()
		el := time.Now().UnixNano() - up
		if ss <= 0 || el >= ss {
			s.upSince.CompareAndSwap(up, 0)
			return w
		}
		rw := int(int64(w) * el / ss)
		return max(rw, 1)
	}
	return w
}

// Active is the number of requests/connections in progress (policy.Server).
func (s *server) Active() int { return int(s.inFlight.Load()) }

// setState applies a runtime state; it reports whether the runtime weight
// changed. now is used to start slow start when the server comes back.
func (s *server) setState(st ServerState, cfgWeight int, now time.Time, fresh bool) bool {
	was := s.routable()
	s.admin.Store(int32(st.Admin))
	s.health.Store(int32(st.Health))
	w := st.Weight
	if w < 0 {
		w = cfgWeight
	}
	w = min(max(w, 0), config.MaxWeight)
	old := s.weight.Swap(int32(w))
	is := s.routable()
	if !fresh && !was && is && s.slowStart.Load() > 0 {
		s.upSince.Store(now.UnixNano())
	}
	if !is {
		// Idle connections to a server that takes no new traffic are only
		// kept while sticky traffic may still use it.
		if !s.stickyOK() {
			s.pool.closeAll()
		}
	}
	if fresh {
		return true
	}
	return int(old) != w
}

// connFailed counts a connection failure for passive health and reports it
// once the threshold is reached.
func (b *Balancer) connFailed(s *server, err error) {
	if o := s.opts.Load(); o != nil && o.observe != nil {
		o.observe(false, shortError(err))
		return
	}
	if s.fails.Add(1) == PassiveFailures && b.onFail != nil {
		b.log.Debug("passive health: consecutive connection failures", "server", s.key, "err", err)
		b.onFail(s.key, err)
	}
}

// connOK resets the passive failure count.
func (s *server) connOK() {
	if o := s.opts.Load(); o != nil && o.observe != nil {
		o.observe(true, "")
	}
	if s.fails.Load() != 0 {
		s.fails.Store(0)
	}
}

// stateOf returns the desired state of a server, defaulted as documented on
// Desired.Servers.
func stateOf(states map[config.ServerKey]ServerState, key config.ServerKey, cs *config.Server) ServerState {
	if st, ok := states[key]; ok {
		return st
	}
	st := ServerState{Admin: config.AdminReady, Weight: -1}
	if cs.Disabled {
		st.Admin = config.AdminMaint
	}
	return st
}

func cfgWeight(cs *config.Server) int { return *cs.Weight }

// Name lets hashing policies key on the server name, so a config change
// elsewhere in the backend moves only the keys that must move (policy.Named).
func (s *server) Name() string { return s.key.Server }
