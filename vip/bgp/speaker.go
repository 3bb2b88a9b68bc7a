package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/vip"
)

// Defaults of Config.
const (
	DefaultStepInterval = 150 * time.Millisecond
	DefaultStaleHold    = 2 * time.Second
	DefaultPrepend      = 3
	DefaultPriority     = 100
	sessionsEvery       = time.Second
)

// Config is one node's BGP settings (node settings, never replicated).
type Config struct {
	// Node is this node's name, as gossip knows it.
	Node string
	// ASN, RouterID, Peers, ListenPort, MED: see config.BGPNode.
	ASN        uint32
	RouterID   string
	Peers      []config.BGPPeer
	ListenPort int
	MED        *uint32
	// Interface is where the VIPs' addresses are bound (default lo; a
	// missing one is created as a dummy interface).
	Interface string
	// Priority maps a VIP name to this node's priority for it (mode
	// primary), 1-255 (default 100). Highest wins, ties to the lowest name.
	Priority map[string]int
	// TrackInterfaces must all be up for this node to announce.
	TrackInterfaces []string
	// TrackScript, when set, is the node's keepalived vrrp_script, with
	// vip.Script's semantics: while one of weight 0 fails nothing is
	// announced; another weight moves this node's priority (mode primary).
	TrackScript *vip.Script
	// ShutdownWait is how long a stop or a release announces with the
	// GRACEFUL_SHUTDOWN community before withdrawing (default 2s).
	ShutdownWait time.Duration
	// Prepend is how many times the backups of a primary-mode VIP prepend
	// their ASN (default 3).
	Prepend int
	// StepInterval is the loop's period (default 150ms); StaleHold bounds
	// the wait for a fresh view after a stall (default 2s), as in vip.Config.
	StepInterval time.Duration
	StaleHold    time.Duration
}

// Deps are the Speaker's collaborators.
type Deps struct {
	// Logger receives announcements, withdrawals and errors; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Speaker announces this node's BGP VIPs with an embedded GoBGP speaker.
// Its methods are safe for concurrent use; Run owns the loop.
type Speaker struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	changed chan struct{}
	wake    chan struct{}
	running atomic.Bool

	mu        sync.Mutex
	vips      []config.VIP
	view      *View
	viewAt    time.Time
	ready     map[string]bool
	released  map[string]time.Time // "" = all
	stopping  bool
	stoppedAt time.Time
	claims    map[string]Claim
	status    Status
	stepped   chan struct{} // closed after each step

	// Owned by the loop.
	host         host
	srv          *gobgpServer
	announced    map[netip.Prefix]route
	bound        map[netip.Prefix]bool
	lastStep     time.Time
	fencedAt     time.Time
	fenceHold    time.Duration
	lastSessions time.Time
	lastState    map[string]string
	primary      map[string]bool    // VIP name: this node announced the best path at the last step
	track        *vip.ScriptTracker // nil: no track script
}

// New validates cfg and returns a Speaker; it starts nothing.
func New(cfg Config, deps Deps) (*Speaker, error) {
	if err := cfg.fill(); err != nil {
		return nil, fmt.Errorf("new bgp speaker: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	sp := &Speaker{
		cfg: cfg, log: deps.Logger.With("component", "bgp", "node", cfg.Node), now: deps.Now,
		changed: make(chan struct{}, 1), wake: make(chan struct{}, 1),
		ready: map[string]bool{}, released: map[string]time.Time{}, claims: map[string]Claim{},
		stepped: make(chan struct{}), host: netlinkHost{iface: cfg.Interface},
		announced: map[netip.Prefix]route{}, bound: map[netip.Prefix]bool{}, lastState: map[string]string{}, primary: map[string]bool{},
	}
	if cfg.TrackScript != nil {
		sp.track = vip.NewScriptTracker(*cfg.TrackScript, sp.log, sp.signal)
	}
	return sp, nil
}

func (c *Config) fill() error {
	var errs []error
	if c.Node == "" {
		errs = append(errs, errors.New("node: want this node's name"))
	}
	if c.ASN == 0 {
		errs = append(errs, errors.New("asn: want this node's AS number"))
	}
	if a, err := netip.ParseAddr(c.RouterID); err != nil || !a.Is4() {
		errs = append(errs, fmt.Errorf("router_id: want an IPv4 address (got %q)", c.RouterID))
	}
	if len(c.Peers) == 0 {
		errs = append(errs, errors.New("peers: want at least one BGP peer"))
	}
	c.Interface = orDefault(c.Interface, config.DefaultBGPVIPInterface)
	c.ListenPort = orDefault(c.ListenPort, config.DefaultBGPPort)
	c.ShutdownWait = orDefault(c.ShutdownWait, config.DefaultBGPShutdownWait)
	c.Prepend = orDefault(c.Prepend, DefaultPrepend)
	c.StepInterval = orDefault(c.StepInterval, DefaultStepInterval)
	c.StaleHold = orDefault(c.StaleHold, DefaultStaleHold)
	c.Peers = slices.Clone(c.Peers)
	c.Priority = maps.Clone(c.Priority)
	return errors.Join(errs...)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (s *Speaker) priority(name string) int {
	p, ok := s.cfg.Priority[name]
	if !ok {
		p = DefaultPriority
	}
	if s.track != nil {
		p, _ = s.track.Priority(p)
	}
	return p
}

// Update gives the VIPs of the resolved cluster config; only those with
// announce: bgp and a valid address are kept.
func (s *Speaker) Update(vips []config.VIP) {
	var keep []config.VIP
	for _, v := range vips {
		if _, err := netip.ParsePrefix(v.Address); err == nil && v.IsBGP() {
			keep = append(keep, v)
		}
	}
	s.mu.Lock()
	s.vips = keep
	s.mu.Unlock()
	s.signal()
}

// SetView gives the gossip membership view (level-triggered).
func (s *Speaker) SetView(v View) {
	v.Members = slices.Clone(v.Members)
	now := s.now()
	s.mu.Lock()
	s.view, s.viewAt = &v, now
	s.mu.Unlock()
	s.signal()
}

// SetReady says which of this node's frontends listen.
func (s *Speaker) SetReady(frontends map[string]bool) {
	r := maps.Clone(frontends)
	s.mu.Lock()
	s.ready = r
	s.mu.Unlock()
	s.signal()
}

// Release drains VIP name ("" = all): announced with GRACEFUL_SHUTDOWN for
// ShutdownWait, then withdrawn, until Reclaim.
func (s *Speaker) Release(name string) {
	s.mu.Lock()
	if _, ok := s.released[name]; !ok {
		s.released[name] = s.now()
	}
	s.mu.Unlock()
	s.signal()
}

// Reclaim ends a Release of name ("" = all).
func (s *Speaker) Reclaim(name string) {
	s.mu.Lock()
	if name == "" {
		clear(s.released)
	} else {
		delete(s.released, name)
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Speaker) releasedAt(name string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.released[name]
	if all, ok2 := s.released[""]; ok2 && (!ok || all.Before(t)) {
		t = all
	}
	return t
}

// Shutdown is the planned stop: every VIP is announced with
// GRACEFUL_SHUTDOWN for ShutdownWait (routers that honour RFC 8326 move
// new flows to the other nodes), then withdrawn. It returns once nothing
// is announced any more, or when ctx ends. Call it before the listeners
// close; Run's end closes the sessions.
func (s *Speaker) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.stopping {
		s.stopping, s.stoppedAt = true, s.now()
	}
	s.mu.Unlock()
	s.signal()
	for {
		s.mu.Lock()
		done := !s.running.Load() || !slices.ContainsFunc(s.status.VIPs, func(v VIPStatus) bool { return v.Announcing })
		stepped := s.stepped
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bgp shutdown: %w", ctx.Err())
		case <-stepped:
		}
	}
}

// LocalMeta is what this node gossips (merge it into the node's meta).
func (s *Speaker) LocalMeta() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return EncodeMeta(s.claims)
}

// Changed is signalled (capacity 1) when LocalMeta changes.
func (s *Speaker) Changed() <-chan struct{} { return s.changed }

func (s *Speaker) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run starts the BGP speaker and announces until ctx ends, then withdraws
// everything, closes the sessions (CEASE) and unbinds the addresses.
func (s *Speaker) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("run bgp speaker: already running")
	}
	defer s.running.Store(false)
	srv, err := startServer(ctx, s.cfg, s.log)
	if err != nil {
		return fmt.Errorf("run bgp speaker: %w", err)
	}
	s.srv = srv
	s.log.Info("bgp speaker started", "asn", s.cfg.ASN, "router_id", s.cfg.RouterID, "peers", len(s.cfg.Peers))
	if s.track != nil {
		tctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); s.track.Run(tctx) }()
		defer func() { cancel(); <-done }()
	}
	t := time.NewTicker(s.cfg.StepInterval)
	defer t.Stop()
	for {
		s.stepOnce(ctx, s.now())
		select {
		case <-ctx.Done():
			s.stop()
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

// stop withdraws, closes the sessions and unbinds, after ctx ended.
func (s *Speaker) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.set(ctx, nil, s.announced); err != nil {
		s.log.Warn("withdraw at stop", "err", err)
	}
	s.srv.stop()
	for p := range s.bound {
		if err := s.host.unbind(p); err != nil {
			s.log.Warn("unbind vip address", "err", err)
		}
	}
	clear(s.bound)
	s.mu.Lock()
	s.status.Sessions = nil
	for i := range s.status.VIPs {
		s.status.VIPs[i].Announcing = false
	}
	s.mu.Unlock()
	s.log.Info("bgp speaker stopped")
}

func (s *Speaker) snapshot() inputs {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := map[string]bool{}
	for k := range s.released {
		rel[k] = true
	}
	return inputs{vips: s.vips, view: s.view, viewAt: s.viewAt, ready: s.ready, released: rel,
		stopping: s.stopping, stoppedAt: s.stoppedAt}
}

// stepOnce decides every BGP VIP, binds addresses, sets the routes and
// publishes meta and status.
func (s *Speaker) stepOnce(ctx context.Context, now time.Time) {
	in := s.snapshot()
	block := s.nodeBlock(now, in)
	want := map[netip.Prefix]route{}
	claims := map[string]Claim{}
	var ds []decision
	wanted := map[netip.Prefix]bool{}
	for _, v := range in.vips {
		d := s.decideVIP(now, v, block, in)
		p := hostRoute(d.addr)
		wanted[p] = true
		if !s.bound[p] && !in.stopping {
			if err := s.host.bind(p); err != nil {
				d.bindErr = err.Error()
			} else {
				s.bound[p] = true
			}
		}
		if d.route != nil && !s.bound[p] {
			d.route, d.claim.Announcing, d.claim.Primary, d.state = nil, false, false, "withdrawn"
			d.reason = "cannot bind the address locally: " + d.bindErr
		}
		if d.route != nil {
			want[p] = *d.route
		}
		claims[v.Name] = d.claim
		s.primary[v.Name] = d.claim.Primary
		ds = append(ds, d)
	}
	for p := range s.bound {
		if !wanted[p] {
			if err := s.host.unbind(p); err != nil {
				s.log.Warn("unbind vip address", "err", err)
			}
			delete(s.bound, p)
		}
	}
	// Withdrawals and attribute changes take effect before the meta says
	// so: a node never gossips less than it announces.
	setErr := ""
	if err := s.srv.set(ctx, want, s.announced); err != nil {
		setErr = err.Error()
		s.log.Warn("bgp routes", "err", err)
	}
	s.logTransitions(ds)
	s.publish(now, claims, ds, setErr)
}

func (s *Speaker) logTransitions(ds []decision) {
	for _, d := range ds {
		key := d.state + "|" + d.reason
		if s.lastState[d.name] == key {
			continue
		}
		s.lastState[d.name] = key
		if d.route != nil {
			s.log.Info("announcing vip", "vip", d.name, "prefix", d.route.prefix.String(), "state", d.state, "reason", d.reason)
		} else {
			s.log.Info("vip not announced", "vip", d.name, "reason", d.reason)
		}
	}
}
