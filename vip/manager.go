package vip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// Defaults of Config.
const (
	DefaultPriority        = 100
	DefaultAddressLifetime = 5 * time.Second
	DefaultStepInterval    = 25 * time.Millisecond
	DefaultStaleHold       = 2 * time.Second
	DefaultScriptInterval  = time.Second
	// handoverTimeout bounds how long a holder that hands a VIP over
	// (Release, preempt) keeps it while waiting for the new holder to
	// gossip that it holds it.
	handoverTimeout = 3 * time.Second
)

// Config is one node's VIP settings (node settings, never replicated).
type Config struct {
	// Node is this node's name, as gossip knows it.
	Node string
	// Interface is where VIPs are added and announced, e.g. eth0.
	Interface string
	// Priority maps a VIP name to this node's priority for it, 1-255
	// (default 100). The highest priority holds; ties go to the lowest name.
	Priority map[string]int
	// AddressLifetime is the valid and preferred lifetime of a held
	// address, renewed about every second while holding: the kernel drops
	// the address this long after the agent dies (SIGKILL, panic) or
	// freezes. Whole seconds, at least 1s (default 5s).
	AddressLifetime time.Duration
	// RefreshInterval, when set, re-announces held VIPs this often beyond
	// the takeover burst (keepalived's garp_master_refresh). 0: off.
	RefreshInterval time.Duration
	// TrackInterfaces must all be up and running for this node to be
	// eligible for any VIP.
	TrackInterfaces []string
	// TrackScript, when set, is a keepalived vrrp_script (see Script).
	TrackScript *Script
	// NotifyCommand is run with sh -c on each state change of a VIP on
	// this node, with TANDEM_VIP, TANDEM_VIP_ADDRESS, TANDEM_NODE and
	// TANDEM_VIP_STATE (holder, backup or fault) in its environment; it is
	// given 10s and its output is logged.
	NotifyCommand string
	// StepInterval is how often the reconcile loop runs without a signal
	// (default 25ms). A gap between two steps longer than stallLimit
	// (twice this, at least 350ms: the process was frozen or starved)
	// makes the node drop its VIPs and wait StaleHold for a fresh view.
	// The 350ms floor sits just under the shortest time gossip's default
	// profile can declare a silent node dead (a failed probe ~50ms, then
	// 300ms of suspicion), so peers cannot have taken a VIP over during a
	// stall the loop did not notice, while a stall of up to 300ms (the
	// loop's own lag included) moves nothing. Keep 2×StepInterval under
	// the failure-detection time of the cluster settings.
	StepInterval time.Duration
	// StaleHold bounds how long after such a gap a membership view must
	// have been received before this node is eligible again: twice the
	// gap, at least 500ms, at most StaleHold (default 2s). Gossip needs a
	// few rounds to bring a resumed node up to date.
	StaleHold time.Duration
	// ParkTime, when set, keeps a VIP this node handed over to another
	// one on lo for this long, or until Unpark after Run: the requests in
	// flight still get their answers (park.go). 0: removed at once. Set it
	// to the balancer's drain timeout.
	ParkTime time.Duration
}

// Deps are the Manager's collaborators.
type Deps struct {
	// Logger receives state transitions (Info) and errors; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NetNS, when set, is the path of a network namespace (e.g.
	// /var/run/netns/a) whose interface the Manager drives: its netlink
	// handle is opened in it (netlink.NewHandleAt) and its packet sockets
	// are opened from a thread locked into it, so the rest of the process
	// stays where it is. Tests run several nodes in one process this way.
	NetNS string
}

// Manager elects and moves this node's VIPs. Its methods are safe for
// concurrent use; Run owns the reconcile loop.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	netns   string
	changed chan struct{}
	wake    chan struct{}
	running atomic.Bool

	mu         sync.Mutex
	vips       []config.VIP
	view       *View
	viewAt     time.Time
	ready      map[string]bool
	releasing  map[string]bool
	releaseAll bool
	track      trackState
	meta       Meta
	status     []Status
	held       map[string]bool
	stepped    chan struct{} // closed after each step

	// Owned by the loop (Run's goroutine, or a test stepping it).
	host          hostNet
	states        map[string]*vipState
	lastStep      time.Time
	fencedAt      time.Time
	fenceGap      time.Duration
	fenceHold     time.Duration // staleHold of fenceGap
	lastSweep     time.Time
	probing       bool                 // the host listens for ARP claims (probeLink)
	linkDown      map[string]time.Time // since when an interface is down (linkBlock)
	linkSeenUp    map[string]bool      // interfaces seen up since Run started
	prevAlive     map[string]bool
	notifyq       chan notification
	lastMeta      map[string]string
	parked        map[netip.Prefix]parkedAddr
	skipStopClean bool // test hook: Run returns without removing addresses

	drained     chan struct{} // closed by Unpark
	drainedOnce sync.Once
}

// New validates cfg and returns a Manager; it starts nothing.
func New(cfg Config, deps Deps) (*Manager, error) {
	if err := cfg.fill(); err != nil {
		return nil, fmt.Errorf("new vip manager: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	m := &Manager{
		cfg:       cfg,
		log:       deps.Logger.With("component", "vip", "node", cfg.Node, "iface", cfg.Interface),
		now:       deps.Now,
		netns:     deps.NetNS,
		changed:   make(chan struct{}, 1),
		wake:      make(chan struct{}, 1),
		drained:   make(chan struct{}),
		ready:     map[string]bool{},
		releasing: map[string]bool{},
		held:      map[string]bool{},
		stepped:   make(chan struct{}),
		states:    map[string]*vipState{},
	}
	if cfg.TrackScript != nil {
		m.track = newTrackState(cfg.TrackScript.Rise, cfg.TrackScript.Fall)
	}
	return m, nil
}

// fill applies defaults and validates.
func (c *Config) fill() error {
	var errs []error
	if c.Node == "" {
		errs = append(errs, errors.New("node: want this node's name"))
	}
	if c.Interface == "" {
		errs = append(errs, errors.New("interface: want the interface that carries the VIPs, e.g. eth0"))
	}
	for name, p := range c.Priority {
		if p < 1 || p > 255 {
			errs = append(errs, fmt.Errorf("priority.%s: want 1-255 (got %d)", name, p))
		}
	}
	if c.AddressLifetime == 0 {
		c.AddressLifetime = DefaultAddressLifetime
	}
	if c.AddressLifetime < time.Second {
		errs = append(errs, fmt.Errorf("address_lifetime: want at least 1s (got %s)", c.AddressLifetime))
	}
	c.AddressLifetime = c.AddressLifetime.Round(time.Second)
	if c.RefreshInterval < 0 {
		errs = append(errs, fmt.Errorf("refresh_interval: must not be negative (got %s)", c.RefreshInterval))
	}
	c.StepInterval = orDefault(c.StepInterval, DefaultStepInterval)
	if c.StepInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("step_interval: want at least 10ms (got %s)", c.StepInterval))
	}
	c.StaleHold = orDefault(c.StaleHold, DefaultStaleHold)
	if s := c.TrackScript; s != nil {
		cp := *s
		c.TrackScript = &cp
		if cp.Command == "" {
			errs = append(errs, errors.New("track_script.command: want a shell command"))
		}
		cp.Interval = orDefault(cp.Interval, DefaultScriptInterval)
		cp.Rise, cp.Fall = orDefault(cp.Rise, 1), orDefault(cp.Fall, 1)
		if cp.Interval < 0 || cp.Rise < 1 || cp.Fall < 1 {
			errs = append(errs, errors.New("track_script: want a positive interval, rise and fall"))
		}
		if cp.Weight < -254 || cp.Weight > 254 {
			errs = append(errs, fmt.Errorf("track_script.weight: want -254..254 (got %d)", cp.Weight))
		}
	}
	c.Priority = maps.Clone(c.Priority)
	c.TrackInterfaces = slices.Clone(c.TrackInterfaces)
	return errors.Join(errs...)
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Update gives the VIPs of the resolved cluster config. Callable any time.
// A VIP with an unparsable address or a name the gossip meta cannot carry
// (config validation rejects both) is logged and ignored.
func (m *Manager) Update(vips []config.VIP) {
	keep := make([]config.VIP, 0, len(vips))
	for _, v := range vips {
		if _, err := netip.ParsePrefix(v.Address); err != nil {
			m.log.Error("ignore vip with an invalid address", "vip", v.Name, "err", err)
			continue
		}
		if v.Name == "" || strings.ContainsAny(v.Name, ",:") {
			m.log.Error("ignore vip with an invalid name", "vip", v.Name)
			continue
		}
		keep = append(keep, v)
	}
	m.mu.Lock()
	m.vips = keep
	m.mu.Unlock()
	m.signal()
}

// SetView gives the gossip membership view; level-triggered, callable any
// time. The Manager does not acquire anything before the first view.
func (m *Manager) SetView(v View) {
	v.Members = slices.Clone(v.Members)
	for i := range v.Members {
		v.Members[i].Meta.VIPs = maps.Clone(v.Members[i].Meta.VIPs)
	}
	now := m.now()
	m.mu.Lock()
	m.view, m.viewAt = &v, now
	m.mu.Unlock()
	m.signal()
}

// SetReady says which of this node's frontends are listening. A node is
// eligible for a VIP only when every frontend the VIP carries is ready.
func (m *Manager) SetReady(frontends map[string]bool) {
	r := maps.Clone(frontends)
	m.mu.Lock()
	m.ready = r
	m.mu.Unlock()
	m.signal()
}

// Release hands a VIP over ("" = all, for SIGTERM/leave): this node
// gossips that it releases it, waits (up to 3s) until another node gossips
// that it holds it, then removes the address. The node stays out of the
// election for it until Reclaim. Returns when done or ctx ends.
func (m *Manager) Release(ctx context.Context, name string) error {
	m.mu.Lock()
	if name == "" {
		m.releaseAll = true
	} else if !slices.ContainsFunc(m.vips, func(v config.VIP) bool { return v.Name == name }) {
		m.mu.Unlock()
		return fmt.Errorf("release vip %s: no such vip in the cluster config", name)
	} else {
		m.releasing[name] = true
	}
	m.mu.Unlock()
	m.signal()
	for {
		m.mu.Lock()
		done := name == "" && len(m.held) == 0 || name != "" && !m.held[name]
		stepped := m.stepped
		m.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("release vip %q: %w", name, ctx.Err())
		case <-stepped:
		}
	}
}

// Reclaim ends a Release of name ("" = all): the node takes part in the
// election for it again.
func (m *Manager) Reclaim(name string) {
	m.mu.Lock()
	if name == "" {
		m.releaseAll = false
		clear(m.releasing)
	} else {
		delete(m.releasing, name)
	}
	m.mu.Unlock()
	m.signal()
}

// LocalMeta is what this node gossips (EncodeMeta it), as of the last step.
func (m *Manager) LocalMeta() Meta {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Meta{Fault: m.meta.Fault, VIPs: maps.Clone(m.meta.VIPs)}
}

// Changed is signalled (capacity 1) when LocalMeta changes.
func (m *Manager) Changed() <-chan struct{} { return m.changed }

// Status returns every VIP as this node sees it, by name.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, len(m.status))
	for i, s := range m.status {
		s.Nodes = slices.Clone(s.Nodes)
		s.Transitions = slices.Clone(s.Transitions)
		out[i] = s
	}
	return out
}

// signal wakes the reconcile loop.
func (m *Manager) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run reconciles until ctx is done, then removes every held address (a
// clean stop: call Release first to hand over) and returns after its
// goroutines exit.
func (m *Manager) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("run vip manager: already running")
	}
	defer m.running.Store(false)
	if m.host == nil {
		h, err := openHost(m.cfg.Interface, m.netns)
		if err != nil {
			return fmt.Errorf("run vip manager: %w", err)
		}
		m.host = h
		defer func() { m.host.close(); m.host = nil }()
	}
	// Notifications outlive ctx by at most notifyTimeout, so that the
	// transitions of the clean stop are reported too.
	nctx, ncancel := context.WithCancel(context.WithoutCancel(ctx))
	defer ncancel()
	q := make(chan notification, notifyQueueLen)
	m.notifyq = q
	var wg sync.WaitGroup
	wg.Go(func() { m.runNotifier(nctx, q) })
	tctx, tcancel := context.WithCancel(ctx)
	if m.cfg.TrackScript != nil {
		wg.Go(func() { m.runTrack(tctx) })
	}
	m.lastStep = time.Time{}
	m.loop(ctx)
	tcancel()
	if !m.skipStopClean {
		m.stop(m.now())
		m.waitUnpark()
	}
	m.notifyq = nil
	close(q)
	stopNotify := time.AfterFunc(notifyTimeout, ncancel)
	wg.Wait()
	stopNotify.Stop()
	return nil
}

// loop is "wait, then reconcileOnce" until ctx ends.
func (m *Manager) loop(ctx context.Context) {
	t := time.NewTicker(m.cfg.StepInterval)
	defer t.Stop()
	for {
		m.reconcileOnce(m.now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.wake:
		}
	}
}
