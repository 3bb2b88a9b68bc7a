package balancer

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// testEnv is a running Balancer with one frontend "fe" and backend "be".
type testEnv struct {
	t    *testing.T
	b    *Balancer
	cfg  *config.Cluster // resolved, as applied last
	fail chan config.ServerKey
}

// start applies c (resolved here) and runs the balancer until the test ends.
func start(t *testing.T, c *config.Cluster) *testEnv {
	t.Helper()
	e := &testEnv{t: t, fail: make(chan config.ServerKey, 16)}
	b, err := New(Config{DrainTimeout: 2 * time.Second}, Deps{OnServerFailure: func(k config.ServerKey, err error) {
		select {
		case e.fail <- k:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.b = b
	e.apply(c, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
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
	return e
}

// apply resolves and applies c with server states.
func (e *testEnv) apply(c *config.Cluster, states map[config.ServerKey]ServerState) {
	e.t.Helper()
	e.cfg = c.Resolve()
	if err := e.b.Apply(Desired{Config: e.cfg, Servers: states}); err != nil {
		e.t.Fatal(err)
	}
}

// setStates applies server states to the current config (fast path).
func (e *testEnv) setStates(states map[config.ServerKey]ServerState) {
	e.t.Helper()
	if err := e.b.Apply(Desired{Config: e.cfg, Servers: states}); err != nil {
		e.t.Fatal(err)
	}
}

// addr is the listening address of frontend fe.
func (e *testEnv) addr(fe string) string {
	return e.b.cur.Load().frontends[fe].listeners[0].ln.Addr().String()
}

func (e *testEnv) url(path string) string { return "http://" + e.addr("fe") + path }

func (e *testEnv) serverStats(name string) ServerStats {
	for _, s := range e.b.Stats().Servers {
		if s.Key.Server == name {
			return s
		}
	}
	e.t.Fatalf("no stats for server %s", name)
	return ServerStats{}
}

// cluster is a config with frontend "fe" on a free loopback port and
// backend "be" with servers.
func cluster(servers ...config.Server) *config.Cluster {
	return &config.Cluster{
		Frontends: []config.Frontend{{Name: "fe", Bind: []string{freeAddr()}, DefaultBackend: "be"}},
		Backends:  []config.Backend{{Name: "be", Servers: servers}},
	}
}

func srv(name, addr string) config.Server { return config.Server{Name: name, Address: addr} }

func ptr[T any](v T) *T { return &v }

func key(name string) config.ServerKey { return config.ServerKey{Backend: "be", Server: name} }

// site is an httptest backend answering its name; it counts accepted
// connections and requests.
type site struct {
	*httptest.Server
	name     string
	accepts  atomic.Int64
	requests atomic.Int64
}

func newSite(t *testing.T, name string, h http.HandlerFunc) *site {
	t.Helper()
	s := &site{name: name}
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		w.Header().Set("X-Served-By", name)
		h(w, r)
	}))
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.accepts.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *site) addr() string { return strings.TrimPrefix(s.URL, "http://") }

// client is a keep-alive HTTP client that does not follow redirects.
func client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 100, DisableCompression: true},
		Timeout:   10 * time.Second,
	}
}

// get fetches url and returns status and body.
func get(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s: %v", url, err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (configs name real ports, so that a re-applied config keeps them).
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// rawServer accepts connections and hands each to fn in a goroutine.
func rawServer(t *testing.T, fn func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fn(c)
			}()
		}
	}()
	return l.Addr().String()
}

// startBench is start for benchmarks.
func startBench(b *testing.B, c *config.Cluster) *testEnv {
	b.Helper()
	e := &testEnv{fail: make(chan config.ServerKey, 16)}
	bal, err := New(Config{DrainTimeout: time.Second}, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	e.b = bal
	e.cfg = c.Resolve()
	if err := bal.Apply(Desired{Config: e.cfg}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bal.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return e
}
