package balancer

import (
	"time"

	"github.com/tandem-lb/tandem/balancer/policy"
	"github.com/tandem-lb/tandem/balancer/rules"
	"github.com/tandem-lb/tandem/config"
)

// snapshot is one applied config: immutable once published.
type snapshot struct {
	cluster   *config.Cluster
	frontends map[string]*frontend
	byAddr    map[string]*frontend // listener key → frontend
	backends  map[string]*backend
	beList    []*backend     // by config index (the rules' backend numbers)
	rules     *rules.Program // compiled once per config version
}

// timeouts are resolved durations (0: none).
type timeouts struct {
	connect, client, server, httpRequest, keepAlive, queue, tunnel time.Duration
}

func timeoutsOf(t config.Timeouts) timeouts {
	return timeouts{
		connect: t.Connect.D(), client: t.Client.D(), server: t.Server.D(),
		httpRequest: t.HTTPRequest.D(), keepAlive: t.HTTPKeepAlive.D(),
		queue: t.Queue.D(), tunnel: t.Tunnel.D(),
	}
}

// frontend is one frontend of a snapshot.
type frontend struct {
	name       string
	mode       config.Mode
	tm         timeouts
	forwardFor bool
	h2c        string       // config.Frontend.H2C
	tls        *frontendTLS // nil: plain
	backend    *backend
	rt         *frontendRT
	listeners  []*listener
	alog       *accessLog // nil: access log off
	alogJSON   bool
	rules      *rules.Proxy
	// rulesOn: the frontend or its default backend has rules,
	// use_backend/use-server or error pages, so its requests take the
	// rules stages (else they skip them: a backend reached otherwise is
	// named by a use_backend rule of the frontend).
	rulesOn bool
	// acceptProxy reads a PROXY header first; nil: none.
	acceptProxy *acceptProxy
}

// backend is one backend of a snapshot.
type backend struct {
	name        string
	mode        config.Mode
	algo        config.Algorithm
	tm          timeouts
	retries     int
	redispatch  bool
	retryIdem   bool
	forwardFor  bool
	cookie      *config.Cookie // nil: no cookie persistence
	stickSource bool
	stickExpire time.Duration
	normal      group
	backup      group
	all         []*server // config order
	isBackup    map[*server]bool
	byCookie    map[string]*server
	byName      map[string]*server
	rt          *backendRT
	rules       *rules.Proxy
	index       int // in the config's backends
}

// group is the normal or the backup servers of a backend with their policy.
type group struct {
	servers []*server
	pol     policy.Policy
	ok      func(int) bool // routable && hasSlot, allocated once
}

func newGroup(algo config.Algorithm, servers []*server) group {
	ps := make([]policy.Server, len(servers))
	for i, s := range servers {
		ps[i] = s
	}
	g := group{servers: servers, pol: policy.New(algo, ps)}
	g.ok = func(i int) bool { s := servers[i]; return s.routable() && s.hasSlot() }
	return g
}

// anyRoutable reports whether some server of g may take new traffic
// (ignoring maxconn).
func (g *group) anyRoutable() bool {
	for _, s := range g.servers {
		if s.routable() {
			return true
		}
	}
	return false
}

// frontendRT is the part of a frontend that outlives config swaps.
type frontendRT struct {
	name  string
	stats counters
	lim   *limiter
}

// backendRT is the part of a backend that outlives config swaps.
type backendRT struct {
	name  string
	stats counters
	queue queue
	stick stickTable
}

func newBackendRT(name string) *backendRT {
	be := &backendRT{name: name}
	be.queue.stats = &be.stats
	return be
}

// buildBackend builds the snapshot backend for cfg (resolved: every
// default is concrete, see config.Resolve); the servers' runtimes must
// exist in b.servers.
func (b *Balancer) buildBackend(cfg *config.Backend, rt *backendRT) *backend {
	be := &backend{
		name: cfg.Name, mode: cfg.Mode, algo: cfg.Balance, tm: timeoutsOf(cfg.Timeouts),
		retries: *cfg.Retries, redispatch: *cfg.Redispatch,
		retryIdem: *cfg.RetryIdempotent, forwardFor: *cfg.ForwardFor,
		cookie: cfg.Cookie, stickSource: cfg.StickSource, stickExpire: cfg.StickExpire.D(),
		isBackup: map[*server]bool{}, byCookie: map[string]*server{}, byName: map[string]*server{}, rt: rt,
	}
	var normal, backup []*server
	for i := range cfg.Servers {
		cs := &cfg.Servers[i]
		s := b.servers[serverID{config.ServerKey{Backend: cfg.Name, Server: cs.Name}, cs.Address}]
		be.all = append(be.all, s)
		be.byName[cs.Name] = s
		be.byCookie[cs.Cookie] = s
		if cs.Backup {
			be.isBackup[s] = true
			backup = append(backup, s)
		} else {
			normal = append(normal, s)
		}
	}
	be.normal = newGroup(be.algo, normal)
	be.backup = newGroup(be.algo, backup)
	return be
}

// rebuildPolicies returns a copy of be with fresh policies (runtime weights
// changed; static algorithms read weights only at build time).
func (be *backend) rebuildPolicies() *backend {
	nb := *be
	nb.normal = newGroup(be.algo, be.normal.servers)
	nb.backup = newGroup(be.algo, be.backup.servers)
	return &nb
}
