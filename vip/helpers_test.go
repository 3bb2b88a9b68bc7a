package vip

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

// fakeHost is an in-memory interface: addresses with lifetimes,
// announcements and link states.
type fakeHost struct {
	mu        sync.Mutex
	addrs     map[netip.Prefix]time.Duration
	replaces  int
	announced []netip.Addr
	down      map[string]bool
	failAdd   error
	probes    []netip.Addr
	resolved  []string // resolveAgain calls
	listening bool
	claims    []claim // what other hosts say on the link, until heard
	parked    map[netip.Prefix]time.Duration
	failPark  error
	unparks   []bool // the last argument of each unparkAddr call
}

func newFakeHost() *fakeHost {
	return &fakeHost{addrs: map[netip.Prefix]time.Duration{}, down: map[string]bool{}}
}

func (h *fakeHost) replaceAddr(p netip.Prefix, lifetime time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failAdd != nil {
		return h.failAdd
	}
	h.addrs[p] = lifetime
	h.replaces++
	return nil
}

func (h *fakeHost) removeAddr(p netip.Prefix) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.addrs, p)
	return nil
}

func (h *fakeHost) parkAddr(p netip.Prefix, lifetime time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failPark != nil {
		return h.failPark
	}
	if h.parked == nil {
		h.parked = map[netip.Prefix]time.Duration{}
	}
	h.parked[p] = lifetime
	delete(h.addrs, p)
	return nil
}

func (h *fakeHost) unparkAddr(p netip.Prefix, last bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.parked, p)
	h.unparks = append(h.unparks, last)
	return nil
}

func (h *fakeHost) listAddrs() ([]netip.Prefix, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]netip.Prefix, 0, len(h.addrs))
	for p := range h.addrs {
		out = append(out, p)
	}
	return out, nil
}

func (h *fakeHost) announce(ip netip.Addr) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.announced = append(h.announced, ip)
	return nil
}

func (h *fakeHost) linkUp(name string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.down[name], nil
}

func (h *fakeHost) resolveAgain(name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.resolved = append(h.resolved, name)
	return nil
}

func (h *fakeHost) probe(ip netip.Addr) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.probes = append(h.probes, ip)
	h.listening = true
	return nil
}

func (h *fakeHost) heard() ([]claim, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.listening {
		return nil, nil
	}
	out := h.claims
	h.claims = nil
	return out, nil
}

func (h *fakeHost) stopListening() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.listening = false
	h.claims = nil
}

// otherHostClaims makes another host answer for addr on the link once.
func (h *fakeHost) otherHostClaims(addr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.claims = append(h.claims, claim{addr: netip.MustParseAddr(addr), mac: []byte{2, 0, 0, 0, 0, 0xbb}})
}

func (h *fakeHost) probeCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.probes)
}

func (h *fakeHost) close() error { return nil }

func (h *fakeHost) addresses() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for p := range h.addrs {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out
}

func (h *fakeHost) has(p string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.addrs[netip.MustParsePrefix(p)]
	return ok
}

func (h *fakeHost) counts() (replaces, announcements int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.replaces, len(h.announced)
}

// harness steps a Manager on a fake clock and a fake host, as Run would
// every 100 ms.
type harness struct {
	t    *testing.T
	m    *Manager
	host *fakeHost
	mu   sync.Mutex
	now  time.Time
}

const tick = 100 * time.Millisecond

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	if cfg.Node == "" {
		cfg.Node = "a"
	}
	if cfg.Interface == "" {
		cfg.Interface = "eth0"
	}
	h := &harness{t: t, host: newFakeHost(), now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	m, err := New(cfg, Deps{Logger: testLogger(t), Now: h.clock})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	m.host = h.host
	h.m = m
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// advance moves the clock without stepping (the process is frozen).
func (h *harness) advance(d time.Duration) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
	return h.now
}

// step advances one tick and reconciles.
func (h *harness) step() { h.m.reconcileOnce(h.advance(tick)) }

// stepFor steps for d.
func (h *harness) stepFor(d time.Duration) {
	for range int(d / tick) {
		h.step()
	}
}

func (h *harness) status(name string) Status {
	h.t.Helper()
	for _, s := range h.m.Status() {
		if s.VIP == name {
			return s
		}
	}
	h.t.Fatalf("no status for vip %s", name)
	return Status{}
}

func (h *harness) meta(name string) VIPMeta {
	return h.m.LocalMeta().VIPs[name]
}

// webVIP is the VIP most tests use: carried by frontend "http".
func webVIP(opts ...func(*config.VIP)) config.VIP {
	v := config.VIP{Name: "web", Address: "10.0.0.100/24", Frontends: []string{"http"}}
	for _, o := range opts {
		o(&v)
	}
	return v
}

func nopreempt(v *config.VIP) { f := false; v.Preempt = &f }

func preemptDelay(d time.Duration) func(*config.VIP) {
	return func(v *config.VIP) { v.PreemptDelay = config.Duration(d) }
}

// view is a membership view seen by node a (alive, its meta is computed
// locally) with the given peers.
func view(voters int, peers ...Member) View {
	return View{Voters: voters, Members: append([]Member{{Name: "a", Alive: true, Role: roleVoter}}, peers...)}
}

// setup gives the Manager webVIP, a ready frontend and a view.
func (h *harness) setup(v config.VIP, vw View) {
	h.m.Update([]config.VIP{v})
	h.m.SetReady(map[string]bool{"http": true})
	h.m.SetView(vw)
}

func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// feedViews calls SetView every 20 ms until the test ends, as the agent
// does periodically.
func feedViews(t *testing.T, m *Manager, v View) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			m.SetView(v)
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	})
	t.Cleanup(func() { close(done); wg.Wait() })
}

// running is a Manager running on a fake host: Run's goroutine, its
// cancel and its result.
type running struct {
	m      *Manager
	host   *fakeHost
	cancel context.CancelFunc
	errc   chan error
}

// startRun starts Run of a Manager with cfg on a fake host and gives it
// webVIP with a ready frontend; the test sets the views.
func startRun(t *testing.T, cfg Config) *running {
	t.Helper()
	m, err := New(cfg, Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	r := &running{m: m, host: newFakeHost(), errc: make(chan error, 1)}
	m.host = r.host
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r.cancel = cancel
	go func() { r.errc <- m.Run(ctx) }()
	m.Update([]config.VIP{webVIP()})
	m.SetReady(map[string]bool{"http": true})
	return r
}

// wait returns Run's error, failing the test if Run has not returned
// within d.
func (r *running) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-r.errc:
		return err
	case <-time.After(d):
		t.Fatalf("Run did not return within %v", d)
		return nil
	}
}
