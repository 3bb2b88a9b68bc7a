package balancer

import (
	"sync/atomic"

	"github.com/tandem-lb/tandem/config"
)

// counters are the live, lock-free counters of a frontend, backend or
// server.
type counters struct {
	curConns, totalConns        atomic.Int64
	requests                    atomic.Uint64
	responses                   [6]atomic.Uint64
	connectErrors, responseErrs atomic.Uint64
	retries, redispatches       atomic.Uint64
	discarded                   atomic.Uint64
	proxyErrors                 atomic.Uint64
	bytesIn, bytesOut           atomic.Uint64
	queueLen, inFlight          atomic.Int64
}

// Counters is a plain snapshot of counters.
type Counters struct {
	CurConns   int64  // connections open now (client side for frontends, server side otherwise)
	TotalConns int64  // connections since start
	Requests   uint64 // HTTP requests (TCP mode: connections)
	// Responses by class: 1xx, 2xx, 3xx, 4xx, 5xx, other. Includes the
	// balancer's own error responses (400, 408, 502, 503, 504).
	Responses      [6]uint64
	ConnectErrors  uint64 // failed connection attempts to servers
	ResponseErrors uint64 // servers that failed before or while answering
	Retries        uint64 // connection attempts re-tried
	Redispatches   uint64 // retries sent to another server
	// Discarded are server connections closed instead of reused because
	// the server sent bytes beyond its response (or after it, while the
	// connection was idle): reusing them would hand those bytes to the
	// next client.
	Discarded uint64
	// ProxyErrors are client connections closed by accept-proxy: no
	// valid PROXY header, or a peer outside the trusted list.
	ProxyErrors uint64
	BytesIn     uint64 // from clients
	BytesOut    uint64 // to clients
	// QueueLen is the requests waiting for a maxconn slot now (queues are
	// per backend; a server counts those persistent to it).
	QueueLen int64
	InFlight int64 // requests/connections in progress now
}

func (c *counters) snapshot() Counters {
	s := Counters{
		CurConns:       c.curConns.Load(),
		TotalConns:     c.totalConns.Load(),
		Requests:       c.requests.Load(),
		ConnectErrors:  c.connectErrors.Load(),
		ResponseErrors: c.responseErrs.Load(),
		Retries:        c.retries.Load(),
		Redispatches:   c.redispatches.Load(),
		Discarded:      c.discarded.Load(),
		ProxyErrors:    c.proxyErrors.Load(),
		BytesIn:        c.bytesIn.Load(),
		BytesOut:       c.bytesOut.Load(),
		QueueLen:       c.queueLen.Load(),
		InFlight:       c.inFlight.Load(),
	}
	for i := range c.responses {
		s.Responses[i] = c.responses[i].Load()
	}
	return s
}

// statusClass maps a status code to an index of Counters.Responses.
func statusClass(code int) int {
	if code >= 100 && code < 600 {
		return code/100 - 1
	}
	return 5
}

// Stats is a plain snapshot of every counter.
type Stats struct {
	Frontends []FrontendStats
	Backends  []BackendStats
	Servers   []ServerStats
}

// FrontendStats are one frontend's counters.
type FrontendStats struct {
	Name  string
	Mode  config.Mode
	Ready bool // every bind address is listening
	Counters
}

// BackendStats are one backend's counters. CurConns and InFlight are the
// sums over its servers.
type BackendStats struct {
	Name        string
	Mode        config.Mode
	ServersUp   int // servers that may take new traffic now
	ServersUsed int // servers in the config
	// ResponseTime is the sum of its servers' histograms.
	ResponseTime Histogram
	Counters
}

// ServerStats are one server's state and counters.
type ServerStats struct {
	Key     config.ServerKey
	Address string
	Backup  bool
	Admin   config.AdminState
	Health  config.Health
	// Weight is the runtime weight; EffectiveWeight has slow start applied.
	Weight          int
	EffectiveWeight int
	// IdleConns are pooled keep-alive connections to the server.
	IdleConns int
	// Routable: the balancer sends new requests and connections to it.
	Routable bool
	// ResponseTime is the time from sending a request to receiving the
	// response head (HAProxy's Tr), HTTP only, since the server's runtime
	// was created.
	ResponseTime Histogram
	Counters
}

// Stats returns a snapshot of the counters of the current config's
// frontends, backends and servers, in config order.
func (b *Balancer) Stats() Stats {
	snap := b.cur.Load()
	var st Stats
	if snap.cluster == nil {
		return st
	}
	for i := range snap.cluster.Frontends {
		fe := snap.frontends[snap.cluster.Frontends[i].Name]
		if fe == nil {
			continue
		}
		st.Frontends = append(st.Frontends, FrontendStats{
			Name: fe.name, Mode: fe.mode, Ready: b.FrontendReady(fe.name), Counters: fe.rt.stats.snapshot(),
		})
	}
	for i := range snap.cluster.Backends {
		be := snap.backends[snap.cluster.Backends[i].Name]
		if be == nil {
			continue
		}
		bs := BackendStats{Name: be.name, Mode: be.mode, Counters: be.rt.stats.snapshot()}
		bs.CurConns, bs.InFlight = 0, 0
		for _, s := range be.all {
			ss := ServerStats{
				Key: s.key, Address: s.addr, Backup: be.isBackup[s],
				Admin: config.AdminState(s.admin.Load()), Health: config.Health(s.health.Load()),
				Weight: int(s.weight.Load()), EffectiveWeight: s.Weight(),
				IdleConns: s.pool.len(), ResponseTime: s.rtime.snapshot(), Counters: s.stats.snapshot(),
				Routable: s.routable(),
			}
			if ss.Routable {
				bs.ServersUp++
			}
			bs.ServersUsed++
			bs.CurConns += ss.CurConns
			bs.InFlight += ss.InFlight
			bs.ResponseTime = bs.ResponseTime.Add(ss.ResponseTime)
			st.Servers = append(st.Servers, ss)
		}
		st.Backends = append(st.Backends, bs)
	}
	return st
}
