package balancer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

func TestConfigSwapUnderLoadDropsNothing(t *testing.T) {
	a, b, c3 := newSite(t, "a", nil), newSite(t, "b", nil), newSite(t, "c", nil)
	cfg := cluster(srv("a", a.addr()), srv("b", b.addr()))
	e := start(t, cfg)
	addr := e.addr("fe")
	// Keep the bound port across configs, as an operator would.
	withServers := func(servers ...config.Server) *config.Cluster {
		c := cluster(servers...)
		c.Frontends[0].Bind = []string{addr}
		return c
	}
	e.apply(withServers(srv("a", a.addr()), srv("b", b.addr())), nil)

	idle := client()
	if code, _, _ := get(t, idle, "http://"+addr+"/"); code != 200 {
		t.Fatal("idle client's first request failed")
	}
	connsBefore := e.b.Stats().Frontends[0].TotalConns

	var failures, done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := client()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := cl.Get("http://" + addr + "/")
				if err != nil {
					t.Logf("request failed: %v", err)
					failures.Add(1)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Logf("request failed: %d %s", resp.StatusCode, body)
					failures.Add(1)
				}
				done.Add(1)
			}
		}()
	}
	configs := [][]config.Server{
		{srv("a", a.addr()), srv("c", c3.addr())},
		{srv("c", c3.addr())},
		{srv("b", b.addr()), srv("c", c3.addr())},
		{srv("a", a.addr()), srv("b", b.addr())},
	}
	for i := range 12 {
		time.Sleep(30 * time.Millisecond)
		e.apply(withServers(configs[i%len(configs)]...), nil)
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 {
		t.Errorf("%d of %d requests failed across config swaps", failures.Load(), done.Load())
	}
	t.Logf("%d requests", done.Load())
	if done.Load() < 50 {
		t.Errorf("only %d requests completed: load too light to prove anything", done.Load())
	}
	if code, _, _ := get(t, idle, "http://"+addr+"/"); code != 200 {
		t.Error("idle client connection unusable after config swaps")
	}
	// The idle client reused its connection: 4 load clients + 0 new for it.
	if got := e.b.Stats().Frontends[0].TotalConns - connsBefore; got > 4 {
		t.Errorf("%d new client connections, want 4 (the idle one kept)", got)
	}
}

func TestDrainKeepsInFlightAndStickyButNoNewRequests(t *testing.T) {
	release := make(chan struct{})
	h := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, w.Header().Get("X-Served-By"))
	}
	a, b := newSite(t, "a", h), newSite(t, "b", h)
	e := start(t, cookieCluster(a.addr(), b.addr()))
	slow := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("GET", e.url("/slow"), nil)
		req.Header.Set("Cookie", "SERVERID=a")
		resp, err := client().Do(req)
		if err != nil {
			slow <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(body)
	}()
	waitFor(t, "slow request on a", 5*time.Second, func() bool { return e.serverStats("a").InFlight == 1 })
	e.setStates(map[config.ServerKey]ServerState{key("a"): {Admin: config.AdminDrain, Weight: -1}})
	if st := e.serverStats("a"); st.Admin != config.AdminDrain {
		t.Fatalf("admin %v, want drain", st.Admin)
	}
	cl := client()
	for range 6 {
		if _, body, _ := get(t, cl, e.url("/")); body != "b" {
			t.Fatalf("new request went to %q while a drains", body)
		}
	}
	req, _ := http.NewRequest("GET", e.url("/"), nil)
	req.Header.Set("Cookie", "SERVERID=a")
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "a" {
		t.Errorf("sticky request went to %q, want the draining server a", body)
	}
	close(release)
	if got := <-slow; got != "a" {
		t.Errorf("in-flight request on the draining server: %q, want a", got)
	}
	waitFor(t, "a idle", 5*time.Second, func() bool {
		st := e.serverStats("a")
		return st.InFlight == 0 && st.CurConns == 0
	})
}

func TestMaintGetsNothingEvenWithCookie(t *testing.T) {
	a, b := newSite(t, "a", nil), newSite(t, "b", nil)
	e := start(t, cookieCluster(a.addr(), b.addr()))
	e.setStates(map[config.ServerKey]ServerState{key("a"): {Admin: config.AdminMaint, Weight: -1}})
	cl := client()
	for range 4 {
		req, _ := http.NewRequest("GET", e.url("/"), nil)
		req.Header.Set("Cookie", "SERVERID=a")
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := a.requests.Load(); n != 0 {
		t.Errorf("server in maint got %d requests", n)
	}
}

func TestRemovedServerFinishesInFlight(t *testing.T) {
	release := make(chan struct{})
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) { <-release; io.WriteString(w, "a") })
	b := newSite(t, "b", nil)
	e := start(t, cluster(srv("a", a.addr())))
	addr := e.addr("fe")
	got := make(chan string, 1)
	go func() {
		_, body, _ := get(t, client(), "http://"+addr+"/")
		got <- body
	}()
	waitFor(t, "request on a", 5*time.Second, func() bool { return e.serverStats("a").InFlight == 1 })
	c := cluster(srv("b", b.addr()))
	c.Frontends[0].Bind = []string{addr}
	e.apply(c, nil)
	if _, body, _ := get(t, client(), "http://"+addr+"/"); body != "b" {
		t.Errorf("new request after swap went to %q", body)
	}
	close(release)
	if body := <-got; body != "a" {
		t.Errorf("in-flight request on the removed server: %q", body)
	}
}

func TestApplyBindFailureChangesNothing(t *testing.T) {
	a := newSite(t, "a", nil)
	e := start(t, cluster(srv("a", a.addr())))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	c := cluster(srv("a", a.addr()))
	c.Frontends = append(c.Frontends, config.Frontend{Name: "second", Bind: []string{busy.Addr().String()}, DefaultBackend: "be"})
	before := e.b.cur.Load()
	err = e.b.Apply(Desired{Config: c.Resolve()})
	if err == nil || !strings.Contains(err.Error(), "second") || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("Apply error %v, want one naming frontend second and %s", err, busy.Addr())
	}
	if e.b.cur.Load() != before {
		t.Error("a failed Apply changed the served config")
	}
	if !e.b.FrontendReady("fe") {
		t.Error("frontend fe not ready after a failed Apply")
	}
}

func TestRemovedListenerStopsAcceptingAndKeepsConnections(t *testing.T) {
	a := newSite(t, "a", nil)
	c := cluster(srv("a", a.addr()))
	c.Frontends = append(c.Frontends, config.Frontend{Name: "other", Bind: []string{"127.0.0.1:0"}, DefaultBackend: "be"})
	e := start(t, c)
	otherAddr := e.addr("other")
	conn, err := net.Dial("tcp", otherAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c2 := cluster(srv("a", a.addr()))
	c2.Frontends[0].Bind = []string{e.addr("fe")}
	e.apply(c2, nil)
	if e.b.FrontendReady("other") {
		t.Error("removed frontend still ready")
	}
	if _, err := net.DialTimeout("tcp", otherAddr, time.Second); err == nil {
		t.Error("removed listener still accepts")
	}
}

func TestTCPModeEchoWithHalfClose(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		data, _ := io.ReadAll(c) // until the client half-closes
		c.Write([]byte(strings.ToUpper(string(data))))
		c.(*net.TCPConn).CloseWrite()
	})
	c := cluster(srv("a", addr))
	c.Defaults.Mode = config.ModeTCP
	e := start(t, c)
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "hello over tcp")
	conn.(*net.TCPConn).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != "HELLO OVER TCP" {
		t.Errorf("echo %q, %v", got, err)
	}
	waitFor(t, "server connection closed", 5*time.Second, func() bool { return e.serverStats("a").CurConns == 0 })
	st := e.serverStats("a")
	if st.BytesIn != 14 || st.BytesOut != 14 || st.TotalConns != 1 {
		t.Errorf("server counters %+v", st.Counters)
	}
}

func TestTCPModeTunnelTimeout(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	c := cluster(srv("a", addr))
	c.Defaults.Mode = config.ModeTCP
	c.Defaults.Timeouts.Tunnel = config.Duration(150 * time.Millisecond)
	e := start(t, c)
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "x")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("read data from an idle tunnel")
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("idle tunnel cut after %v, want about 150-300ms", el)
	}
}

func TestRunDrainsInFlightThenReturns(t *testing.T) {
	release := make(chan struct{})
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "a")
	})
	b, err := New(Config{DrainTimeout: 5 * time.Second}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(Desired{Config: cluster(srv("a", a.addr())).Resolve()}); err != nil {
		t.Fatal(err)
	}
	addr := b.cur.Load().frontends["fe"].listeners[0].ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- b.Run(ctx) }()
	idle, err := net.Dial("tcp", addr) // an idle keep-alive client
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	got := make(chan string, 1)
	go func() {
		_, body, _ := get(t, client(), "http://"+addr+"/slow")
		got <- body
	}()
	waitFor(t, "request in flight", 5*time.Second, func() bool { return b.Stats().Servers[0].InFlight == 1 })
	cancel()
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Error("idle connection not closed by the drain")
	}
	select {
	case <-ran:
		t.Fatal("Run returned with a request in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if body := <-got; body != "a" {
		t.Errorf("in-flight request during drain: %q", body)
	}
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the drain")
	}
	if err := b.Apply(Desired{Config: cluster(srv("a", a.addr())).Resolve()}); err != ErrStopped {
		t.Errorf("Apply after Run: %v, want ErrStopped", err)
	}
}

func TestSlowStartRampsWeight(t *testing.T) {
	a := newSite(t, "a", nil)
	c := cluster(config.Server{Name: "a", Address: a.addr(), Weight: ptr(100), SlowStart: config.Duration(400 * time.Millisecond)})
	e := start(t, c)
	e.setStates(map[config.ServerKey]ServerState{key("a"): {Weight: -1, Health: config.HealthDown}})
	e.setStates(map[config.ServerKey]ServerState{key("a"): {Weight: -1, Health: config.HealthUp}})
	w0 := e.serverStats("a").EffectiveWeight
	if w0 < 1 || w0 > 60 {
		t.Errorf("effective weight right after coming up = %d, want small", w0)
	}
	waitFor(t, "full weight", 3*time.Second, func() bool { return e.serverStats("a").EffectiveWeight == 100 })
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
	e := start(t, cluster(srv("a", a.addr())))
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	for _, want := range []string{"/1", "/2"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != want {
			t.Errorf("got %q, want %q", body, want)
		}
	}
}

func TestRuntimeWeightChangeRebuildsStaticPolicy(t *testing.T) {
	a, b := newSite(t, "a", nil), newSite(t, "b", nil)
	c := cluster(srv("a", a.addr()), srv("b", b.addr()))
	c.Backends[0].Balance = config.AlgoStaticRR
	e := start(t, c)
	cl := client()
	e.setStates(map[config.ServerKey]ServerState{key("a"): {Weight: 0}, key("b"): {Weight: -1}})
	for range 6 {
		if _, body, _ := get(t, cl, e.url("/")); body != "b" {
			t.Fatalf("weight 0 server a served a request")
		}
	}
	e.setStates(nil)
	seen := map[string]bool{}
	for range 6 {
		_, body, _ := get(t, cl, e.url("/"))
		seen[body] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("after restoring weights served by %v, want both", seen)
	}
}

func TestFrontendMaxConnHoldsClientsInAcceptQueue(t *testing.T) {
	a := newSite(t, "a", nil)
	c := cluster(srv("a", a.addr()))
	c.Frontends[0].MaxConn = 1
	e := start(t, c)
	first := newBenchClient(t, e.addr("fe"))
	if err := first.do(); err != nil {
		t.Fatal(err)
	}
	second := newBenchClient(t, e.addr("fe"))
	second.conn.Write(second.req)
	second.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := second.br.Peek(1); err == nil {
		t.Fatal("a connection over maxconn was served")
	}
	first.conn.Close()
	second.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(second.br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("queued connection after a slot freed: %v", err)
	}
}
