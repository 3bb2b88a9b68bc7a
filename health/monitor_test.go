package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

// site is one of the article's web sites: it serves /deploy.txt while
// deployed is true, and 404 once the file is "renamed".
type site struct {
	*httptest.Server
	deployed atomic.Bool
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{}
	s.deployed.Store(true)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/deploy.txt" && s.deployed.Load() {
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *site) addr() string { return s.Listener.Addr().String() }

// recorder collects transitions; OnTransition must not block, and this
// only appends under a mutex.
type recorder struct {
	mu  sync.Mutex
	all []Transition
}

func (r *recorder) add(t Transition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, t)
}

type edge struct {
	Key      config.ServerKey
	From, To config.Health
	Reason   string
}

func (r *recorder) edges() []edge {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]edge, 0, len(r.all))
	for _, t := range r.all {
		out = append(out, edge{t.Key, t.From, t.To, t.Reason})
	}
	return out
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

func newMonitor(t *testing.T) (*Monitor, *recorder) {
	t.Helper()
	rec := &recorder{}
	m, err := New(Config{}, Deps{OnTransition: rec.add})
	if err != nil {
		t.Fatal(err)
	}
	return m, rec
}

// run runs m until the test ends and checks that Run returns.
func run(t *testing.T, m *Monitor) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
	return cancel
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func healthOf(m *Monitor, key config.ServerKey) config.Health {
	return m.Status()[key].Health
}

func ms(n int) config.Duration { return config.Duration(time.Duration(n) * time.Millisecond) }

// articleCluster is the article's backend: option httpchk HEAD /deploy.txt
// HTTP/1.0, servers with check rise 2 fall 2 and the given inter.
func articleCluster(timing config.CheckTiming, addrs ...string) *config.Cluster {
	b := config.Backend{
		Name:        "http-in",
		HealthCheck: &config.HealthCheck{Type: config.CheckHTTP, Method: "HEAD", Path: "/deploy.txt", Version: "HTTP/1.0"},
	}
	for i, a := range addrs {
		b.Servers = append(b.Servers, config.Server{
			Name: fmt.Sprintf("server%d", i+1), Address: a, Check: true, CheckTiming: timing,
		})
	}
	c := &config.Cluster{Backends: []config.Backend{b}}
	return c.Resolve()
}

// tcpCluster has n TCP-checked servers named s0..s(n-1), all at addr.
func tcpCluster(timing config.CheckTiming, addr string, n int) *config.Cluster {
	b := config.Backend{Name: "tcp", HealthCheck: &config.HealthCheck{Type: config.CheckTCP}}
	for i := range n {
		b.Servers = append(b.Servers, config.Server{
			Name: fmt.Sprintf("s%d", i), Address: addr, Check: true, CheckTiming: timing,
		})
	}
	c := &config.Cluster{Backends: []config.Backend{b}}
	return c.Resolve()
}

var server1 = config.ServerKey{Backend: "http-in", Server: "server1"}

func TestDeployFileRenamedGoesDownAfterFallAndReturnsAfterRise(t *testing.T) {
	web := newSite(t)
	m, rec := newMonitor(t)
	// FastInter and DownInter are explicit: config.Resolve currently gives
	// a server the defaults' 2 s instead of its own Inter.
	m.Update(articleCluster(config.CheckTiming{Inter: ms(20), FastInter: ms(20), DownInter: ms(20), Rise: 2, Fall: 2}, web.addr()))
	run(t, m)

	waitFor(t, "server1 up", 5*time.Second, func() bool { return healthOf(m, server1) == config.HealthUp })
	web.deployed.Store(false) // rename deploy.txt to deploy1.txt
	waitFor(t, "server1 down", 5*time.Second, func() bool { return healthOf(m, server1) == config.HealthDown })
	st := m.Status()[server1]
	if st.LastResult != "L7STS 404" || st.LastCode != 404 || st.Streak < 2 {
		t.Errorf("status while down = %+v, want L7STS 404, code 404, streak >= 2", st)
	}
	web.deployed.Store(true) // rename it back
	waitFor(t, "server1 up again", 5*time.Second, func() bool { return healthOf(m, server1) == config.HealthUp })

	want := []edge{
		{server1, config.HealthUnknown, config.HealthUp, "L7OK 200, first check"},
		{server1, config.HealthUp, config.HealthDown, "L7STS 404, 2 consecutive failures"},
		{server1, config.HealthDown, config.HealthUp, "L7OK 200, 2 consecutive successes"},
	}
	if diff := cmp.Diff(want, rec.edges()); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

// TestCheckOnceStepsDeterministically drives one server's checker by hand,
// without Run or timers, against a real site.
func TestCheckOnceStepsDeterministically(t *testing.T) {
	web := newSite(t)
	m, rec := newMonitor(t)
	timing := config.CheckTiming{Inter: ms(2000), FastInter: ms(500), DownInter: ms(5000), Rise: 2, Fall: 3}
	m.Update(articleCluster(timing, web.addr()))
	s := m.servers[server1]
	ctx := context.Background()

	steps := []struct {
		deployed bool
		want     config.Health
		wantNext time.Duration
		wantRes  string
	}{
		{true, config.HealthUp, 2 * time.Second, "L7OK 200"},
		{false, config.HealthUp, 500 * time.Millisecond, "L7STS 404"},
		{false, config.HealthUp, 500 * time.Millisecond, "L7STS 404"},
		{false, config.HealthDown, 5 * time.Second, "L7STS 404"},
		{true, config.HealthDown, 500 * time.Millisecond, "L7OK 200"},
		{false, config.HealthDown, 5 * time.Second, "L7STS 404"},
		{true, config.HealthDown, 500 * time.Millisecond, "L7OK 200"},
		{true, config.HealthUp, 2 * time.Second, "L7OK 200"},
	}
	for i, st := range steps {
		web.deployed.Store(st.deployed)
		next := m.checkOnce(ctx, s)
		got := m.Status()[server1]
		if got.Health != st.want || next != st.wantNext || got.LastResult != st.wantRes {
			t.Fatalf("step %d: health %v next %v result %q, want %v %v %q",
				i, got.Health, next, got.LastResult, st.want, st.wantNext, st.wantRes)
		}
	}
	if n := rec.count(); n != 3 {
		t.Errorf("%d transitions, want 3: %v", n, rec.edges())
	}
}

func TestDisableOn404DrainsThenReturns(t *testing.T) {
	web := newSite(t)
	m, rec := newMonitor(t)
	c := articleCluster(config.CheckTiming{Inter: ms(2000), Rise: 2, Fall: 2}, web.addr())
	c.Backends[0].HealthCheck.DisableOn404 = true
	m.Update(c)
	s := m.servers[server1]
	ctx := context.Background()

	for _, deployed := range []bool{true, false, false, true} {
		web.deployed.Store(deployed)
		m.checkOnce(ctx, s)
	}
	want := []edge{
		{server1, config.HealthUnknown, config.HealthUp, "L7OK 200, first check"},
		{server1, config.HealthUp, config.HealthNoLB, "L7OKC 404, disable-on-404"},
		{server1, config.HealthNoLB, config.HealthUp, "L7OK 200, no longer 404"},
	}
	if diff := cmp.Diff(want, rec.edges()); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestReportFailureTakesServerDownAtOnceAndChecksBringItBack(t *testing.T) {
	web := newSite(t)
	m, rec := newMonitor(t)
	// Inter is long: only the wake-up at DownInter can bring the server back in time.
	m.Update(articleCluster(config.CheckTiming{Inter: ms(60_000), FastInter: ms(20), DownInter: ms(20), Rise: 2, Fall: 2}, web.addr()))
	m.checkOnce(context.Background(), m.servers[server1])
	run(t, m)

	m.ReportFailure(server1, errors.New("3 connection failures: connection refused"))
	st := m.Status()[server1]
	if st.Health != config.HealthDown || st.LastResult != "passive: 3 connection failures: connection refused" {
		t.Fatalf("status right after ReportFailure = %+v, want down with the passive reason", st)
	}
	waitFor(t, "active checks bring server1 back", 5*time.Second, func() bool {
		return healthOf(m, server1) == config.HealthUp
	})
	want := []edge{
		{server1, config.HealthUnknown, config.HealthUp, "L7OK 200, first check"},
		{server1, config.HealthUp, config.HealthDown, "passive: 3 connection failures: connection refused"},
		{server1, config.HealthDown, config.HealthUp, "L7OK 200, 2 consecutive successes"},
	}
	if diff := cmp.Diff(want, rec.edges()); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestReportFailureEdgeSeenExactlyOnce(t *testing.T) {
	web := newSite(t)
	m, rec := newMonitor(t)
	m.Update(articleCluster(config.CheckTiming{Inter: ms(2000), Rise: 2, Fall: 2}, web.addr()))
	m.checkOnce(context.Background(), m.servers[server1])

	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.ReportFailure(server1, errors.New("connection refused"))
		}()
	}
	wg.Wait()
	if got := rec.edges(); len(got) != 2 || got[1].To != config.HealthDown {
		t.Errorf("transitions = %v, want first check then exactly one up → down", got)
	}
}

func TestReportFailureOfUncheckedServerIsIgnored(t *testing.T) {
	m, rec := newMonitor(t)
	c := articleCluster(config.CheckTiming{}, "127.0.0.1:1")
	c.Backends[0].Servers[0].Check = false
	m.Update(c)
	m.ReportFailure(server1, errors.New("connection refused"))
	m.ReportFailure(config.ServerKey{Backend: "nope", Server: "nope"}, nil)
	if st := m.Status(); len(st) != 0 || rec.count() != 0 {
		t.Errorf("status %v, transitions %v; want none", st, rec.edges())
	}
}

func TestUpdateStartsAndStopsCheckers(t *testing.T) {
	addr := rawServer(t, func(net.Conn) {})
	base := runtime.NumGoroutine()
	m, rec := newMonitor(t)
	timing := config.CheckTiming{Inter: ms(20), Rise: 1, Fall: 1}
	run(t, m)

	checkers := func(n int) func() bool {
		return func() bool { return m.checkers.Load() == int64(n) }
	}
	allUp := func() bool {
		for _, st := range m.Status() {
			if st.Health != config.HealthUp {
				return false
			}
		}
		return true
	}

	m.Update(tcpCluster(timing, addr, 10))
	waitFor(t, "10 checkers", 5*time.Second, checkers(10))
	waitFor(t, "10 servers up", 5*time.Second, allUp)

	m.Update(tcpCluster(timing, addr, 3))
	waitFor(t, "3 checkers", 5*time.Second, checkers(3))
	if got := len(m.Status()); got != 3 {
		t.Errorf("status has %d servers, want 3", got)
	}
	removed := 0
	for _, e := range rec.edges() {
		if e.To == config.HealthUnknown && e.Reason == "check removed" {
			removed++
		}
	}
	if removed != 7 {
		t.Errorf("%d up → unknown transitions for removed servers, want 7", removed)
	}

	m.Update(tcpCluster(timing, addr, 5))
	waitFor(t, "5 checkers", 5*time.Second, checkers(5))
	waitFor(t, "5 servers up", 5*time.Second, allUp)

	m.Update(nil)
	waitFor(t, "no checker", 5*time.Second, checkers(0))
	waitFor(t, "goroutines back to the baseline", 5*time.Second, func() bool {
		// +1: Run itself is still running.
		return runtime.NumGoroutine() <= base+1
	})
}

func TestUpdateBeforeRunAndAfterRun(t *testing.T) {
	addr := rawServer(t, func(net.Conn) {})
	m, _ := newMonitor(t)
	m.Update(tcpCluster(config.CheckTiming{Inter: ms(20)}, addr, 2))
	if m.checkers.Load() != 0 {
		t.Fatal("checkers run before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	waitFor(t, "2 checkers", 5*time.Second, func() bool { return m.checkers.Load() == 2 })
	if err := m.Run(ctx); err == nil {
		t.Error("second Run: no error")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := m.checkers.Load(); n != 0 {
		t.Errorf("%d checkers still running after Run returned", n)
	}
	m.Update(tcpCluster(config.CheckTiming{Inter: ms(20)}, addr, 4)) // after Run: recorded, not started
	if n := m.checkers.Load(); n != 0 || len(m.Status()) != 4 {
		t.Errorf("after Run: %d checkers, %d servers; want 0, 4", n, len(m.Status()))
	}
}

func TestUpdateKeepsHealthUnlessAddressChanges(t *testing.T) {
	dead := closedPort(t)
	m, rec := newMonitor(t)
	timing := config.CheckTiming{Inter: ms(2000), Rise: 2, Fall: 2}
	m.Update(articleCluster(timing, dead))
	old := m.servers[server1]
	ctx := context.Background()
	m.checkOnce(ctx, old)
	m.checkOnce(ctx, old)
	before := m.Status()[server1]
	if before.Health != config.HealthDown || before.Streak != 2 {
		t.Fatalf("before: %+v, want down with streak 2", before)
	}

	t.Run("same config changes nothing", func(t *testing.T) {
		m.Update(articleCluster(timing, dead))
		if m.servers[server1] != old {
			t.Error("checker restarted for an unchanged config")
		}
	})
	t.Run("changed check settings keep the health", func(t *testing.T) {
		c := articleCluster(config.CheckTiming{Inter: ms(1000), Rise: 3, Fall: 3}, dead)
		c.Backends[0].HealthCheck.Path = "/health"
		m.Update(c)
		s := m.servers[server1]
		if s == old {
			t.Fatal("checker not restarted")
		}
		if diff := cmp.Diff(before, m.Status()[server1]); diff != "" {
			t.Errorf("status changed (-before +after):\n%s", diff)
		}
		if req := string(s.spec.rs.steps[1].send.data); s.m.rise != 3 || s.m.fall != 3 || req != "HEAD /health HTTP/1.0\r\n\r\n" {
			t.Errorf("new settings not applied: rise %d fall %d request %q", s.m.rise, s.m.fall, req)
		}
		m.checkOnce(ctx, old) // a check of the retired checker still in flight
		if got := m.Status()[server1]; got.Streak != 2 {
			t.Errorf("retired checker changed the state: %+v", got)
		}
	})
	t.Run("changed address starts over at unknown", func(t *testing.T) {
		web := newSite(t)
		m.Update(articleCluster(timing, web.addr()))
		if st := m.Status()[server1]; st.Health != config.HealthUnknown {
			t.Errorf("health after address change = %v, want unknown", st.Health)
		}
		m.checkOnce(ctx, m.servers[server1])
		if h := healthOf(m, server1); h != config.HealthUp {
			t.Errorf("health after first check at the new address = %v, want up", h)
		}
	})
	want := []edge{
		{server1, config.HealthUnknown, config.HealthDown, "L4CON connection refused, first check"},
		{server1, config.HealthDown, config.HealthUnknown, "address changed"},
		{server1, config.HealthUnknown, config.HealthUp, "L7OK 200, first check"},
	}
	if diff := cmp.Diff(want, rec.edges()); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

// TestFiveHundredServersStaggerTheirFirstChecks: 500 servers must not fire
// together; their first checks spread over [0, Inter).
func TestFiveHundredServersStaggerTheirFirstChecks(t *testing.T) {
	const n, inter = 500, 500 * time.Millisecond
	addr := rawServer(t, func(net.Conn) {})
	m, rec := newMonitor(t)
	m.Update(tcpCluster(config.CheckTiming{Inter: config.Duration(inter), Rise: 2, Fall: 2}, addr, n))
	if got := len(m.Status()); got != n {
		t.Fatalf("%d servers checked, want %d", got, n)
	}
	start := time.Now()
	run(t, m)
	waitFor(t, "500 first checks", 10*time.Second, func() bool { return rec.count() >= n })

	var buckets [5]int
	for _, tr := range rec.edges() {
		if tr.From != config.HealthUnknown || tr.To != config.HealthUp {
			t.Fatalf("unexpected transition %+v", tr)
		}
	}
	rec.mu.Lock()
	for _, tr := range rec.all {
		off := tr.At.Sub(start)
		b := int(off / (inter / time.Duration(len(buckets))))
		if b >= len(buckets) { // scheduling delay under -race: count in the last bucket
			b = len(buckets) - 1
		}
		buckets[b]++
	}
	rec.mu.Unlock()
	for i, c := range buckets {
		if c < 40 { // expected 100 per bucket
			t.Errorf("bucket %d of the first-check offsets has %d of %d servers, want ~%d: %v", i, c, n, n/len(buckets), buckets)
		}
	}
}
