package balancer

import (
	"context"
	"crypto/tls"
	"errors"
	"golang.org/x/net/http2"
	"io"
	"log"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// Config is the balancer's own (node-local) configuration.
type Config struct {
	// DrainTimeout bounds how long Run waits, after ctx is cancelled, for
	// in-flight requests/connections to finish before closing them. 0: 10s.
	DrainTimeout time.Duration
	// TicketSecret, when set (the cluster key), derives the TLS session
	// ticket keys, so every LB node encrypts and decrypts the same tickets
	// and a client resumes its session on whichever node the VIP moved to.
	// Empty: each node rotates keys of its own.
	TicketSecret []byte
}

// DefaultDrainTimeout is used when Config.DrainTimeout is 0.
const DefaultDrainTimeout = 10 * time.Second

// Deps are the balancer's collaborators.
type Deps struct {
	Logger *slog.Logger
	// OnServerFailure is called (from a connection goroutine) when live
	// traffic saw PassiveFailures consecutive connection failures on a
	// server. It must not block. May be nil.
	OnServerFailure func(key config.ServerKey, err error)
	// OnServerResult is called (from a connection goroutine) with each
	// exchange's outcome on a server whose config has observe: ok, or
	// what failed. It must not block. May be nil.
	OnServerResult func(key config.ServerKey, ok bool, what string)
	// AccessLog receives the access log of frontends whose access_log has
	// no path, and the lines of "stdout" log targets (default os.Stdout).
	// access_log lines are buffered and flushed every second and at
	// shutdown.
	AccessLog io.Writer
	// ACME, when set, answers the ACME CA's HTTP-01 challenges on plain
	// HTTP frontends (before any rule) and TLS-ALPN-01 on TLS ones.
	ACME ChallengeSource
}

// Desired is the plain state the balancer serves.
type Desired struct {
	// Config is resolved (config.Resolve) and validated: the balancer
	// reads every default from it and re-defaults nothing.
	Config *config.Cluster
	// Servers holds runtime state; an absent key means admin ready (or maint
	// if Server.Disabled), the config's weight, health unknown.
	Servers map[config.ServerKey]ServerState
	// Certificates are the store's certificates (tandem cert add) by name,
	// for the frontends' TLS certificates that are not file paths. A new
	// map with the same config swaps them live: handshakes take the new
	// ones, connections open stay as they are.
	Certificates map[string]*tls.Certificate
}

// ServerState is the runtime state of one server.
type ServerState struct {
	Admin config.AdminState
	// Weight is the effective weight; -1 means the config's weight.
	Weight int
	// Health is this node's effective view: Unknown/Up route; NoLB = no new
	// traffic (like drain); Down = none.
	Health config.Health
}

// ErrStopped is returned by Apply after Run has returned, and by Run when
// called twice.
var ErrStopped = errors.New("balancer stopped")

// Balancer serves the frontends of the last applied Desired state.
type Balancer struct {
	cfg      Config
	log      *slog.Logger
	h2log    *log.Logger      // x/net/http2's own messages (client protocol errors), at debug level
	h2t      *http2.Transport // HTTP/2 to servers (upstream_h2.go)
	onFail   func(config.ServerKey, error)
	onResult func(config.ServerKey, bool, string)
	acme     ChallengeSource // nil: no ACME challenges answered
	cur      atomic.Pointer[snapshot]
	stopped  atomic.Bool // Run is shutting down: no keep-alive, no new accepts
	runCtx   context.Context
	cancel   context.CancelFunc

	mu        sync.Mutex // serializes Apply and guards the maps below
	listeners map[string]*listener
	servers   map[serverID]*server
	backends  map[string]*backendRT
	frontends map[string]*frontendRT
	lastSrv   map[config.ServerKey]ServerState
	lastCerts map[string]*tls.Certificate
	global    *limiter
	alogs     map[string]*logFile // open access logs by path ("": alogOut)
	alogOut   io.Writer
	syslogs   syslogSet // HAProxy's syslog traffic log (accesslog_syslog.go)
	ran       bool
	done      bool

	wg    sync.WaitGroup // every goroutine started by Apply or Run
	conns connSet
	park  atomic.Pointer[parker] // nil: idle connections are not parked
}

// New returns a Balancer serving nothing until Apply.
func New(cfg Config, deps Deps) (*Balancer, error) {
	if cfg.DrainTimeout < 0 {
		return nil, errors.New("balancer: negative DrainTimeout")
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Balancer{
		cfg:       cfg,
		log:       log.With("component", "balancer"),
		h2log:     slog.NewLogLogger(log.With("component", "balancer").Handler(), slog.LevelDebug),
		onFail:    deps.OnServerFailure,
		onResult:  deps.OnServerResult,
		acme:      deps.ACME,
		runCtx:    ctx,
		cancel:    cancel,
		listeners: map[string]*listener{},
		servers:   map[serverID]*server{},
		backends:  map[string]*backendRT{},
		frontends: map[string]*frontendRT{},
		global:    newLimiter(config.DefaultGlobalMaxConn),
		alogs:     map[string]*logFile{},
		alogOut:   deps.AccessLog,
	}
	b.h2t = &http2.Transport{
		AllowHTTP:          true,
		DisableCompression: true, // the request goes as the client sent it
		IdleConnTimeout:    ServerIdleTimeout,
		ReadIdleTimeout:    30 * time.Second, // pings a silent connection
		PingTimeout:        15 * time.Second,
		MaxReadFrameSize:   h2MaxFrameSize,
	}
	if b.alogOut == nil {
		b.alogOut = os.Stdout
	}
	b.conns.m = map[*clientConn]struct{}{}
	b.cur.Store(&snapshot{frontends: map[string]*frontend{}, byAddr: map[string]*frontend{}, backends: map[string]*backend{}})
	return b, nil
}

// Run serves until ctx is cancelled, then stops accepting, waits up to
// DrainTimeout for in-flight work, closes the rest, and returns after every
// goroutine it or Apply started has exited.
func (b *Balancer) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.ran {
		b.mu.Unlock()
		return ErrStopped
	}
	b.ran = true
	b.mu.Unlock()

	b.wg.Add(1)
	go b.maintain(ctx)
	if p := newParker(b); p != nil {
		b.park.Store(p)
		b.wg.Add(1)
		go p.run(ctx)
	}
	<-ctx.Done()
	b.shutdown()
	return nil
}

// shutdown stops accepting, drains, then force-closes what is left.
func (b *Balancer) shutdown() {
	b.mu.Lock()
	b.done = true
	b.stopped.Store(true)
	for _, l := range b.listeners {
		l.close()
	}
	b.mu.Unlock()

	deadline := time.Now().Add(b.cfg.DrainTimeout)
	for {
		if b.conns.closeIdle() == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.cancel() // aborts queue waits and dials
	b.conns.closeAll()
	b.wg.Wait()
	b.mu.Lock()
	for _, s := range b.servers {
		s.pool.closeAll()
	}
	b.mu.Unlock()
	b.flushAccessLogs(true)
}

// maintain runs periodic housekeeping until ctx is cancelled: closing
// expired idle server connections and expiring stick-table entries.
func (b *Balancer) maintain(ctx context.Context) {
	defer b.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			b.maintainOnce(now)
		}
	}
}

func (b *Balancer) maintainOnce(now time.Time) {
	b.mu.Lock()
	servers := make([]*server, 0, len(b.servers))
	for _, s := range b.servers {
		servers = append(servers, s)
	}
	backends := make([]*backendRT, 0, len(b.backends))
	for _, be := range b.backends {
		backends = append(backends, be)
	}
	b.mu.Unlock()
	for _, s := range servers {
		s.pool.reap(now)
	}
	for _, be := range backends {
		be.stick.expire(now)
	}
	b.flushAccessLogs(false)
	b.setTicketKeys(now)
}

// FrontendReady reports whether every bind address of that frontend is
// listening.
func (b *Balancer) FrontendReady(name string) bool {
	if b.stopped.Load() {
		return false
	}
	fe := b.cur.Load().frontends[name]
	if fe == nil {
		return false
	}
	for _, l := range fe.listeners {
		if l.closed.Load() {
			return false
		}
	}
	return len(fe.listeners) > 0
}
