package balancer

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

func TestStreamed100MBBodiesKeepMemoryFlat(t *testing.T) {
	const size = 100 << 20
	chunk := make([]byte, 64<<10)
	rand.Read(chunk)
	var uploaded atomic.Int64
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			n, _ := io.Copy(io.Discard, r.Body)
			uploaded.Store(n)
			return
		}
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	e := start(t, cluster(srv("a", a.addr())))
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	c := &http.Client{Timeout: time.Minute}
	// Upload: a streamed body of unknown length (chunked).
	pr, pw := io.Pipe()
	go func() {
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	resp, err := c.Post(e.url("/up"), "application/octet-stream", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if uploaded.Load() != size {
		t.Errorf("server received %d bytes, want %d", uploaded.Load(), size)
	}
	// Download.
	resp, err = c.Get(e.url("/down"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Errorf("downloaded %d bytes (err %v), want %d", n, err, size)
	}
	close(stop)
	wg.Wait()
	if growth := int64(peak.Load()) - int64(before.HeapInuse); growth > 64<<20 {
		t.Errorf("heap in use grew by %d MiB while streaming 2x100 MiB, want < 64 MiB", growth>>20)
	}
}

func TestWebSocketUpgradeEcho(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Header.Get("Upgrade") != "websocket" || !strings.EqualFold(req.Header.Get("Connection"), "upgrade") {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
		io.Copy(c, br) // echo
	})
	e := start(t, cluster(srv("a", addr)))
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "websocket" || resp.Header.Get("Sec-Websocket-Accept") != "x" {
		t.Fatalf("handshake answer: %d %v", resp.StatusCode, resp.Header)
	}
	for i := range 3 {
		msg := fmt.Sprintf("frame %d\n", i)
		io.WriteString(conn, msg)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := br.ReadString('\n')
		if err != nil || got != msg {
			t.Fatalf("echo %d: %q, %v", i, got, err)
		}
	}
	conn.(*net.TCPConn).CloseWrite()
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after half-close: %q, %v; want clean EOF", rest, err)
	}
}

func TestBackupOnlyWhenAllNormalServersDown(t *testing.T) {
	a, b, bk := newSite(t, "a", nil), newSite(t, "b", nil), newSite(t, "backup", nil)
	c := cluster(srv("a", a.addr()), srv("b", b.addr()), config.Server{Name: "backup", Address: bk.addr(), Backup: true})
	e := start(t, c)
	cl := client()
	for range 4 {
		if _, body, _ := get(t, cl, e.url("/")); body == "backup" {
			t.Fatal("backup served while normal servers are up")
		}
	}
	e.setStates(map[config.ServerKey]ServerState{key("a"): {Weight: -1, Health: config.HealthDown}})
	for range 4 {
		if _, body, _ := get(t, cl, e.url("/")); body != "b" {
			t.Fatalf("with a down got %q, want b", body)
		}
	}
	e.setStates(map[config.ServerKey]ServerState{
		key("a"): {Weight: -1, Health: config.HealthDown},
		key("b"): {Weight: -1, Admin: config.AdminMaint},
	})
	for range 4 {
		if _, body, _ := get(t, cl, e.url("/")); body != "backup" {
			t.Fatalf("with every normal server out got %q, want backup", body)
		}
	}
	e.setStates(nil)
	if _, body, _ := get(t, cl, e.url("/")); body == "backup" {
		t.Error("backup still served after normal servers came back")
	}
}

func cookieCluster(a, b string) *config.Cluster {
	c := cluster(srv("a", a), srv("b", b))
	c.Backends[0].Cookie = &config.Cookie{Name: "SERVERID", Insert: true, Indirect: true, NoCache: true}
	return c
}

// nocache marks only responses a cache could keep private (HAProxy's
// cacheability rules): not a POST, a 302, one already private, or one
// without freshness or a validator.
func TestCookieNoCacheOnlyOnCacheableResponses(t *testing.T) {
	h := func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			w.Header().Set("Location", "/")
			w.WriteHeader(302)
		case "/private":
			w.Header().Set("Cache-Control", "no-store, private")
		case "/public":
			w.Header().Set("Cache-Control", "no-cache, public")
		case "/pragma":
			w.Header().Set("Pragma", "no-cache")
		case "/", "/etag":
			w.Header().Set("ETag", `"v1"`) // a validator: a cache could keep it
		}
	}
	a := newSite(t, "a", h)
	c := cluster(srv("a", a.addr()))
	c.Backends[0].Cookie = &config.Cookie{Name: "SRV", Insert: true, NoCache: true}
	e := start(t, c)
	for _, tt := range []struct {
		method, path string
		want         []string
	}{
		{"GET", "/", []string{"private"}},
		{"HEAD", "/", []string{"private"}},
		{"POST", "/", nil},
		{"GET", "/redirect", nil},
		{"GET", "/private", []string{"no-store, private"}},
		{"GET", "/public", []string{"no-cache, public"}}, // public, but no freshness nor validator
		{"GET", "/plain", nil},
		{"GET", "/pragma", []string{"no-cache"}}, // Go's client reads Pragma: no-cache as Cache-Control
	} {
		req, _ := http.NewRequest(tt.method, e.url(tt.path), nil)
		cl := client()
		cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Values("Cache-Control"); !slices.Equal(got, tt.want) {
			t.Errorf("%s %s: Cache-Control %q, want %q", tt.method, tt.path, got, tt.want)
		}
		if resp.Header.Get("Set-Cookie") == "" {
			t.Errorf("%s %s: no persistence cookie", tt.method, tt.path)
		}
	}
}

func TestCookieInsertStickinessAndFailover(t *testing.T) {
	var sawCookie atomic.Value
	h := func(w http.ResponseWriter, r *http.Request) {
		sawCookie.Store(r.Header.Get("Cookie"))
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, w.Header().Get("X-Served-By"))
	}
	a, b := newSite(t, "a", h), newSite(t, "b", h)
	e := start(t, cookieCluster(a.addr(), b.addr()))
	cl := client()

	_, first, hdr := get(t, cl, e.url("/"))
	if want := "SERVERID=" + first + "; path=/"; hdr.Get("Set-Cookie") != want {
		t.Fatalf("Set-Cookie = %q, want %q", hdr.Get("Set-Cookie"), want)
	}
	// As HAProxy: the server's Cache-Control kept, private added.
	if cc := hdr.Values("Cache-Control"); len(cc) != 2 || cc[0] != "max-age=60" || cc[1] != "private" {
		t.Errorf("Cache-Control = %q, want max-age=60 then private", cc)
	}
	for range 5 {
		req, _ := http.NewRequest("GET", e.url("/"), nil)
		req.Header.Set("Cookie", "a=1; SERVERID="+first+"; b=2")
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != first {
			t.Fatalf("sticky request served by %q, want %q", body, first)
		}
		if sc := resp.Header.Get("Set-Cookie"); sc != "" {
			t.Errorf("persistent request got Set-Cookie %q", sc)
		}
		if got := sawCookie.Load(); got != "a=1; b=2" {
			t.Errorf("server saw Cookie %q, want the persistence cookie removed (indirect)", got)
		}
	}
	// The sticky server goes down: fail over, and a new cookie is set.
	e.setStates(map[config.ServerKey]ServerState{key(first): {Weight: -1, Health: config.HealthDown}})
	req, _ := http.NewRequest("GET", e.url("/"), nil)
	req.Header.Set("Cookie", "SERVERID="+first)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) == first || resp.StatusCode != 200 {
		t.Fatalf("after %s went down got %d from %q", first, resp.StatusCode, body)
	}
	if want := "SERVERID=" + string(body) + "; path=/"; resp.Header.Get("Set-Cookie") != want {
		t.Errorf("failover Set-Cookie = %q, want %q", resp.Header.Get("Set-Cookie"), want)
	}
}

func TestStickSourceKeepsClientOnServerAndFailsOver(t *testing.T) {
	a, b := newSite(t, "a", nil), newSite(t, "b", nil)
	c := cluster(srv("a", a.addr()), srv("b", b.addr()))
	c.Backends[0].StickSource = true
	e := start(t, c)
	cl := client()
	_, first, _ := get(t, cl, e.url("/"))
	for range 5 {
		if _, body, _ := get(t, cl, e.url("/")); body != first {
			t.Fatalf("stick source: got %q, want %q", body, first)
		}
	}
	e.setStates(map[config.ServerKey]ServerState{key(first): {Weight: -1, Admin: config.AdminMaint}})
	_, other, _ := get(t, cl, e.url("/"))
	if other == first {
		t.Fatal("served by a server in maint")
	}
	e.setStates(nil)
	if _, body, _ := get(t, cl, e.url("/")); body != other {
		t.Errorf("after failover the client should stay on %q, got %q", other, body)
	}
}

// dyingServer accepts, reads the request head (and what of the body is
// there), then closes without answering; it counts requests per method.
func dyingServer(t *testing.T, seen *sync.Map) string {
	return rawServer(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		n, _ := seen.LoadOrStore(req.Method, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	})
}

func count(m *sync.Map, k string) int64 {
	if v, ok := m.Load(k); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func TestIdempotentGETResentPOSTNot(t *testing.T) {
	var seen sync.Map
	dead := dyingServer(t, &seen)
	good := newSite(t, "good", nil)
	c := cluster(srv("dead", dead), srv("good", good.addr()))
	c.Defaults.Redispatch = ptr(true)
	e := start(t, c)
	cl := client()
	for i := range 4 {
		code, body, _ := get(t, cl, e.url(fmt.Sprint("/get", i)))
		if code != 200 || body != "good" {
			t.Fatalf("GET %d: %d %q, want 200 from good", i, code, body)
		}
	}
	if count(&seen, "GET") == 0 {
		t.Fatal("the dying server never got a GET: the test proves nothing")
	}
	posts502 := 0
	for i := range 4 {
		resp, err := cl.Post(e.url(fmt.Sprint("/post", i)), "text/plain", strings.NewReader("payload"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 502 {
			posts502++
		}
	}
	if posts502 == 0 || int64(posts502) != count(&seen, "POST") {
		t.Errorf("%d POSTs answered 502, dying server saw %d: each failed POST must be answered 502 and never re-sent", posts502, count(&seen, "POST"))
	}
	if got := good.requests.Load(); got != 4+int64(4-posts502) {
		t.Errorf("good server saw %d requests, want %d (no POST re-sent)", got, 4+4-posts502)
	}
}

func TestConnectFailureRetriedOnAnotherServer(t *testing.T) {
	good := newSite(t, "good", nil)
	c := cluster(srv("closed", closedAddr(t)), srv("good", good.addr()))
	c.Defaults.Redispatch = ptr(true)
	e := start(t, c)
	cl := client()
	for i := range 6 {
		if code, body, _ := get(t, cl, e.url("/")); code != 200 || body != "good" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	bs := e.b.Stats().Backends[0]
	if bs.ConnectErrors == 0 || bs.Redispatches == 0 || bs.Retries == 0 {
		t.Errorf("backend counters %+v: want connect errors, retries and redispatches", bs.Counters)
	}
	select {
	case k := <-e.fail:
		if k != key("closed") {
			t.Errorf("passive health reported %v, want be/closed", k)
		}
	case <-time.After(5 * time.Second):
		t.Error("passive health: OnServerFailure not called after repeated connect failures")
	}
}

func TestChunkedBodiesBothWays(t *testing.T) {
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		for _, part := range strings.SplitAfter(string(b), " ") {
			io.WriteString(w, strings.ToUpper(part))
			w.(http.Flusher).Flush()
		}
	})
	e := start(t, cluster(srv("a", a.addr())))
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for range 2 { // twice on one connection: framing must leave it reusable
		fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5;ext=1\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != "HELLO WORLD" {
			t.Fatalf("body %q, %v", body, err)
		}
		if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
			t.Errorf("response framing %v, want chunked", resp.TransferEncoding)
		}
	}
}

func TestHTTP10ClientGetsUnchunkedBody(t *testing.T) {
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part1 ")
		w.(http.Flusher).Flush()
		io.WriteString(w, "part2")
	})
	e := start(t, cluster(srv("a", a.addr())))
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET / HTTP/1.0\r\n\r\n")
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(raw), "\r\n\r\npart1 part2") || strings.Contains(string(raw), "chunked") {
		t.Errorf("HTTP/1.0 response:\n%s", raw)
	}
}
