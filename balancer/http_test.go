package balancer

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-lb/tandem/config"
)

func TestRoundRobinAlternatesBetweenTwoServers(t *testing.T) {
	a, b := newSite(t, "a", nil), newSite(t, "b", nil)
	e := start(t, cluster(srv("a", a.addr()), srv("b", b.addr())))
	c := client()
	var got []string
	for range 6 {
		code, body, _ := get(t, c, e.url("/"))
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		got = append(got, body)
	}
	if diff := cmp.Diff([]string{"a", "b", "a", "b", "a", "b"}, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

func TestKeepAliveReusesClientAndServerConnections(t *testing.T) {
	a := newSite(t, "a", nil)
	e := start(t, cluster(srv("a", a.addr())))
	c := client()
	for range 20 {
		if code, _, _ := get(t, c, e.url("/")); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	if n := a.accepts.Load(); n != 1 {
		t.Errorf("server accepted %d connections for 20 sequential requests, want 1", n)
	}
	fs := e.b.Stats().Frontends[0]
	if fs.TotalConns != 1 || fs.Requests != 20 {
		t.Errorf("frontend TotalConns=%d Requests=%d, want 1 and 20", fs.TotalConns, fs.Requests)
	}
	// The last response is counted just after its bytes were flushed to
	// the client, so the client may see it first.
	waitFor(t, "20 2xx responses counted", 5*time.Second, func() bool {
		return e.b.Stats().Frontends[0].Responses[1] == 20
	})
}

func TestHopByHopHeadersStrippedBothWays(t *testing.T) {
	var seen http.Header
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		w.Header().Set("Connection", "X-Resp-Hop")
		w.Header().Set("X-Resp-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-End", "kept")
		io.WriteString(w, "ok")
	})
	e := start(t, cluster(srv("a", a.addr())))
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"+
		"Keep-Alive: 300\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: foo\r\nX-End: kept\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	for _, h := range []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Connection", "Te", "Upgrade"} {
		if v, ok := seen[h]; ok {
			t.Errorf("server received hop-by-hop header %s: %q", h, v)
		}
	}
	if seen.Get("X-End") != "kept" {
		t.Errorf("end-to-end header lost: %v", seen)
	}
	for _, h := range []string{"X-Resp-Hop", "Keep-Alive"} {
		if v, ok := resp.Header[h]; ok {
			t.Errorf("client received hop-by-hop header %s: %q", h, v)
		}
	}
	if resp.Header.Get("X-End") != "kept" {
		t.Errorf("end-to-end response header lost: %v", resp.Header)
	}
}

func TestXForwardedForAppended(t *testing.T) {
	var xff, xfp string
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) {
		xff, xfp = r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto")
	})
	c := cluster(srv("a", a.addr()))
	c.Defaults.ForwardFor = ptr(true)
	e := start(t, c)
	req, _ := http.NewRequest("GET", e.url("/"), nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "203.0.113.7, 127.0.0.1"; xff != want {
		t.Errorf("X-Forwarded-For = %q, want %q", xff, want)
	}
	if xfp != "http" {
		t.Errorf("X-Forwarded-Proto = %q, want http", xfp)
	}
}

func TestSlowlorisCutByHTTPRequestTimeout(t *testing.T) {
	a := newSite(t, "a", nil)
	c := cluster(srv("a", a.addr()))
	c.Defaults.Timeouts.HTTPRequest = config.Duration(200 * time.Millisecond)
	e := start(t, c)
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n")
	go func() { // keep trickling header bytes
		for range 20 {
			time.Sleep(50 * time.Millisecond)
			if _, err := fmt.Fprint(conn, "X-A: b\r\n"); err != nil {
				return
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 408 {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("cut after %v, want about 200ms", el)
	}
	if a.requests.Load() != 0 {
		t.Errorf("the partial request reached the server")
	}
}

func TestQueueTimeoutAnswers503(t *testing.T) {
	release := make(chan struct{})
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) { <-release })
	c := cluster(config.Server{Name: "a", Address: a.addr(), MaxConn: 1})
	c.Defaults.Timeouts.Queue = config.Duration(100 * time.Millisecond)
	e := start(t, c)
	first := make(chan int, 1)
	go func() {
		resp, err := client().Get(e.url("/slow"))
		if err != nil {
			first <- -1
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	waitFor(t, "first request in flight", 5*time.Second, func() bool { return e.serverStats("a").InFlight == 1 })
	code, body, _ := get(t, client(), e.url("/queued"))
	if code != 503 || !strings.Contains(body, "503 Service Unavailable") {
		t.Errorf("queued request: %d %q, want 503", code, body)
	}
	close(release)
	if got := <-first; got != 200 {
		t.Errorf("first request: %d, want 200", got)
	}
}

// TestQueuedRequestServedWhenSlotFrees: a request queued behind a full
// server is served once its slot frees, and its access-log Tw covers the
// wait (its pick reads the clock after the wait, not the request's
// reading before it).
func TestQueuedRequestServedWhenSlotFrees(t *testing.T) {
	release := make(chan struct{})
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "a")
	})
	path := filepath.Join(t.TempDir(), "access.log")
	c := cluster(config.Server{Name: "a", Address: a.addr(), MaxConn: 1})
	c.Defaults.Timeouts.Queue = config.Duration(5 * time.Second)
	c.Frontends[0].AccessLog = &config.AccessLog{Path: path}
	e := start(t, c)
	go func() {
		if resp, err := client().Get(e.url("/slow")); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "first request in flight", 5*time.Second, func() bool { return e.serverStats("a").InFlight == 1 })
	got := make(chan int, 1)
	go func() {
		code, _, _ := get(t, client(), e.url("/fast"))
		got <- code
	}()
	waitFor(t, "second request queued", 5*time.Second, func() bool { return e.b.Stats().Backends[0].QueueLen == 1 })
	const held = 300 * time.Millisecond
	time.Sleep(held)
	close(release)
	if code := <-got; code != 200 {
		t.Fatalf("queued request: %d, want 200", code)
	}
	found := false
	for _, line := range readLog(t, e, path, 2) {
		if strings.Contains(line, "/fast") {
			found = true
			if tw := logTimers(t, line)[1]; tw < int(held/time.Millisecond) {
				t.Errorf("Tw %d ms, want at least the %v in the queue: %s", tw, held, line)
			}
		}
	}
	if !found {
		t.Error("no log line for the queued request")
	}
}

func TestBadResponseAnswers502(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "garbage garbage\r\n\r\n")
	})
	e := start(t, cluster(srv("a", addr)))
	code, body, _ := get(t, client(), e.url("/"))
	if code != 502 || !strings.HasPrefix(body, "502 Bad Gateway") {
		t.Errorf("got %d %q, want 502", code, body)
	}
}

func TestServerTimeoutAnswers504(t *testing.T) {
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) { time.Sleep(time.Second) })
	c := cluster(srv("a", a.addr()))
	c.Defaults.Timeouts.Server = config.Duration(100 * time.Millisecond)
	e := start(t, c)
	code, body, _ := get(t, client(), e.url("/"))
	if code != 504 || !strings.HasPrefix(body, "504 Gateway Timeout") {
		t.Errorf("got %d %q, want 504", code, body)
	}
}

func TestNoServerAnswers503(t *testing.T) {
	a := newSite(t, "a", nil)
	c := cluster(config.Server{Name: "a", Address: a.addr(), Disabled: true})
	e := start(t, c)
	code, body, _ := get(t, client(), e.url("/"))
	if want := "503 Service Unavailable: no server is available to handle this request\n"; code != 503 || body != want {
		t.Errorf("got %d %q, want 503 %q", code, body, want)
	}
}

// TestInterimResponsesForwarded: a server's 103 Early Hints reaches an
// HTTP/1.1 client before the final response (hop-by-hop headers removed);
// an HTTP/1.0 client gets only the final response; a server's own
// 100 Continue is never forwarded (the balancer answers Expect itself).
func TestInterimResponsesForwarded(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n"+
				"HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\nKeep-Alive: timeout=5\r\n\r\n"+
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	e := start(t, cluster(srv("a", addr)))
	for _, tt := range []struct {
		proto, want string
	}{
		{"HTTP/1.1", "HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n"},
		{"HTTP/1.0", "HTTP/1.1 200 OK\r\n"},
	} {
		c, err := net.Dial("tcp", e.addr("fe"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET / %s\r\nHost: x\r\nConnection: close\r\n\r\n", tt.proto)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("%s: %v", tt.proto, err)
		}
		if !strings.HasPrefix(string(got), tt.want) || !strings.HasSuffix(string(got), "\r\n\r\nok") {
			t.Errorf("%s client got:\n%q\nwant it to start with:\n%q\nand end with the body", tt.proto, got, tt.want)
		}
	}
}

// TestPipelinedRequestsBeyondTheReadBuffer: 12 pipelined requests of
// exactly 1 KiB in one write, so that the 4 KiB client buffer empties at a
// request boundary while the rest waits in the socket (no new poller event
// for it): every request is answered, in order.
func TestPipelinedRequestsBeyondTheReadBuffer(t *testing.T) {
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
	e := start(t, cluster(srv("a", a.addr())))
	var reqs strings.Builder
	for i := range 12 {
		head := fmt.Sprintf("GET /r%02d HTTP/1.1\r\nHost: x\r\nX-Pad: ", i)
		pad := 1024 - len(head) - len("\r\n\r\n")
		reqs.WriteString(head + strings.Repeat("p", pad) + "\r\n\r\n")
	}
	if reqs.Len() != 12*1024 || clientBufSize != 4096 {
		t.Fatalf("requests are %d bytes, buffer %d: the test needs 1 KiB requests and a 4 KiB buffer", reqs.Len(), clientBufSize)
	}
	c, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, reqs.String()); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := range 12 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("/r%02d", i); string(body) != want {
			t.Fatalf("response %d: %q, want %q", i, body, want)
		}
	}
}

// TestTrailersForwarded: trailer fields of a chunked body reach the other
// side both ways (a gRPC-web or checksum trailer); a malformed trailer
// line is a malformed request.
func TestTrailersForwarded(t *testing.T) {
	var reqTrailer http.Header
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		reqTrailer = r.Trailer.Clone()
		w.Header().Set("Trailer", "X-Checksum")
		io.WriteString(w, "part1 ")
		w.(http.Flusher).Flush() // chunked
		io.WriteString(w, "part2")
		w.Header().Set("X-Checksum", "abc123")
	})
	e := start(t, cluster(srv("a", a.addr())))
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sent\r\n\r\n"+
		"5\r\nhello\r\n0\r\nX-Sent: 42\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "part1 part2" {
		t.Fatalf("body %q, %v", body, err)
	}
	if got := resp.Trailer.Get("X-Checksum"); got != "abc123" {
		t.Errorf("response trailer X-Checksum = %q, want abc123 (trailers %v)", got, resp.Trailer)
	}
	if got := reqTrailer.Get("X-Sent"); got != "42" {
		t.Errorf("request trailer X-Sent = %q at the server, want 42 (trailers %v)", got, reqTrailer)
	}

	fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"5\r\nhello\r\n0\r\nBad Name: 1\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Errorf("malformed trailer: status %d, want an error", resp.StatusCode)
	}
}

// TestPipelinedRequestArrivingDuringTheLastOne: a client that waited for
// each answer starts pipelining: its next request reaches the socket while
// the balancer serves a slow one (so no poller event announces it when the
// answer goes). Every request is answered, in order, and the pairs wait
// for one grace (sendTail's wait) in all, not one per pair.
func TestPipelinedRequestArrivingDuringTheLastOne(t *testing.T) {
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/slow") {
			time.Sleep(30 * time.Millisecond)
		}
		io.WriteString(w, r.URL.Path)
	})
	e := start(t, cluster(srv("a", a.addr())))
	c, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	read := func(want string) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
	send := func(path string) {
		t.Helper()
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	// The same pairs one after the other first: the time they take is the
	// machine's, without any wait for a request already there.
	const pairs = 10
	start := time.Now()
	for i := range pairs {
		slow, next := fmt.Sprintf("/slow%d", i), fmt.Sprintf("/next%d", i)
		send(slow)
		read(slow)
		send(next)
		read(next)
	}
	sequential := time.Since(start)
	start = time.Now()
	for i := range pairs {
		slow, next := fmt.Sprintf("/slow%d", i), fmt.Sprintf("/after%d", i)
		send(slow)
		time.Sleep(10 * time.Millisecond) // the slow one is being served
		send(next)
		read(slow)
		read(next)
	}
	pipelined := time.Since(start)
	// At most one grace of waiting (the first pair shows the pipelining);
	// a grace per pair would be 500 ms more.
	if limit := sequential + idleParkAfter + 200*time.Millisecond; pipelined > limit {
		t.Fatalf("%d pipelined pairs took %v, one after the other %v: the answers waited for requests already there", pairs, pipelined, sequential)
	}
}
