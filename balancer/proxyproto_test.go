package balancer

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/balancer/proxyproto"
	"github.com/tandem-lb/tandem/config"
)

// dialWith connects to addr and writes pre (a PROXY header), then req.
func dialWith(t *testing.T, addr string, pre, req string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if pre != "" {
		io.WriteString(c, pre)
	}
	if req != "" {
		io.WriteString(c, req)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

// response reads one HTTP response from c.
func response(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func v2Header(src, dst string) string {
	h := proxyproto.Header{Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst)}
	return string(h.AppendV2(nil, false))
}

// TestAcceptProxyClientIsTheHeadersEverywhere: X-Forwarded-For, the access
// log and stick tables take the address a PROXY header names.
func TestAcceptProxyClientIsTheHeadersEverywhere(t *testing.T) {
	var mu sync.Mutex
	var xff []string
	handler := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		xff = append(xff, r.Header.Get("X-Forwarded-For"))
		mu.Unlock()
	}
	a, b := newSite(t, "a", handler), newSite(t, "b", handler)
	path := filepath.Join(t.TempDir(), "access.log")
	c := cluster(srv("a", a.addr()), srv("b", b.addr()))
	c.Frontends[0].AcceptProxy = &config.AcceptProxy{}
	c.Frontends[0].ForwardFor = ptr(true)
	c.Frontends[0].AccessLog = &config.AccessLog{Path: path}
	c.Backends[0].StickSource = true
	e := start(t, c)
	req := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	servedBy := map[string]string{}
	for i, pre := range []string{
		"PROXY TCP4 198.51.100.7 192.0.2.1 40000 80\r\n",
		v2Header("203.0.113.9:5555", "192.0.2.1:80"),
		"PROXY TCP4 198.51.100.7 192.0.2.1 40001 80\r\n",
		v2Header("203.0.113.9:5556", "192.0.2.1:80"),
	} {
		resp, _ := response(t, dialWith(t, e.addr("fe"), pre, req))
		ip := []string{"198.51.100.7", "203.0.113.9"}[i%2]
		by := resp.Header.Get("X-Served-By")
		if prev, ok := servedBy[ip]; ok && prev != by {
			t.Errorf("client %s went to %s, then %s: stick on src must use the header's address", ip, prev, by)
		}
		servedBy[ip] = by
	}
	if servedBy["198.51.100.7"] == servedBy["203.0.113.9"] {
		t.Errorf("both clients on %s: stick keyed on the peer (127.0.0.1), not the header", servedBy["198.51.100.7"])
	}
	mu.Lock()
	got := strings.Join(xff, ",")
	mu.Unlock()
	if got != "198.51.100.7,203.0.113.9,198.51.100.7,203.0.113.9" {
		t.Errorf("X-Forwarded-For seen by servers: %s", got)
	}
	// Lines are written as connections end, in any order.
	var clients []string
	for _, l := range readLog(t, e, path, 4) {
		clients = append(clients, strings.Fields(l)[0])
	}
	sort.Strings(clients)
	if want := []string{"198.51.100.7:40000", "198.51.100.7:40001", "203.0.113.9:5555", "203.0.113.9:5556"}; strings.Join(clients, ",") != strings.Join(want, ",") {
		t.Errorf("access log clients %q, want the headers' %q", clients, want)
	}
}

func TestAcceptProxyThenTLS(t *testing.T) {
	var xff string
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) { xff = r.Header.Get("X-Forwarded-For") })
	cert, key := selfSigned(t)
	c := cluster(srv("a", a.addr()))
	c.Frontends[0].TLS = &config.TLS{Cert: cert, Key: key}
	c.Frontends[0].AcceptProxy = &config.AcceptProxy{}
	c.Frontends[0].ForwardFor = ptr(true)
	e := start(t, c)
	raw := dialWith(t, e.addr("fe"), "PROXY TCP6 2001:db8::5 2001:db8::1 1234 443\r\n", "")
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	io.WriteString(tc, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if resp, _ := response(t, tc); resp.StatusCode != 200 || xff != "2001:db8::5" {
		t.Errorf("TLS after a PROXY header: %d, X-Forwarded-For %q", resp.StatusCode, xff)
	}
}

// TestAcceptProxyBadInputClosesAndCounts: malformed, truncated and
// untrusted connections are closed, counted and never reach a server.
func TestAcceptProxyBadInputClosesAndCounts(t *testing.T) {
	a := newSite(t, "a", nil)
	c := cluster(srv("a", a.addr()))
	c.Frontends[0].AcceptProxy = &config.AcceptProxy{}
	c.Frontends[0].Timeouts.Client = config.Duration(300 * time.Millisecond)
	e := start(t, c)
	closed := func(conn net.Conn) bool {
		_, err := conn.Read(make([]byte, 1))
		return err != nil
	}
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	cases := []struct{ name, pre string }{
		{"no header", ""},
		{"malformed v1", "PROXY TCP4 1.2.3.4 nowhere 1 2\r\n"},
		{"v2 with a bad version", "\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c"},
		{"truncated, then silence", "PROXY TCP4 1.2.3.4"},
	}
	for i, tc := range cases {
		body := req
		if tc.name == "truncated, then silence" {
			body = ""
		}
		conn := dialWith(t, e.addr("fe"), tc.pre, body)
		if !closed(conn) {
			t.Errorf("%s: connection not closed", tc.name)
		}
		waitFor(t, tc.name+" counted", 2*time.Second, func() bool { return e.b.Stats().Frontends[0].ProxyErrors == uint64(i+1) })
	}
	if n := a.requests.Load(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
	// A LOCAL header (the proxy's own health check) keeps the peer's address.
	resp, _ := response(t, dialWith(t, e.addr("fe"), "\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00", req))
	if resp.StatusCode != 200 {
		t.Errorf("LOCAL header: %d", resp.StatusCode)
	}

	c2 := cluster(srv("a", a.addr()))
	c2.Frontends[0].AcceptProxy = &config.AcceptProxy{Trusted: []string{"10.0.0.0/8"}}
	e2 := start(t, c2)
	if conn := dialWith(t, e2.addr("fe"), "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", req); !closed(conn) {
		t.Error("untrusted peer: connection not closed")
	}
	waitFor(t, "untrusted peer counted", 2*time.Second, func() bool { return e2.b.Stats().Frontends[0].ProxyErrors == 1 })
}

// proxyServer parses the PROXY header of each connection and echoes one
// line back, for TCP-mode tests.
func proxyServer(t *testing.T) (string, chan proxyproto.Header) {
	got := make(chan proxyproto.Header, 8)
	addr := rawServer(t, func(c net.Conn) {
		b := make([]byte, 1024)
		n := 0
		for {
			m, err := c.Read(b[n:])
			n += m
			h, hn, perr := proxyproto.Parse(b[:n])
			if perr == nil {
				got <- h
				rest := string(b[hn:n])
				if !strings.Contains(rest, "\n") {
					line, _ := bufio.NewReader(c).ReadString('\n')
					rest += line
				}
				io.WriteString(c, "echo "+rest)
				return
			}
			if err != nil || perr != proxyproto.ErrNeedMore {
				return
			}
		}
	})
	return addr, got
}

func TestSendProxyTCPMode(t *testing.T) {
	for _, v := range []config.ProxyVersion{config.ProxyV1, config.ProxyV2} {
		t.Run(v.String(), func(t *testing.T) {
			addr, got := proxyServer(t)
			s := srv("a", addr)
			s.SendProxy = v
			c := cluster(s)
			c.Frontends[0].Mode, c.Backends[0].Mode = config.ModeTCP, config.ModeTCP
			c.Frontends[0].AcceptProxy = &config.AcceptProxy{}
			e := start(t, c)
			conn := dialWith(t, e.addr("fe"), "PROXY TCP4 198.51.100.7 192.0.2.1 40000 5432\r\n", "hello\n")
			line, _ := bufio.NewReader(conn).ReadString('\n')
			h := <-got
			if line != "echo hello\n" || h.Version != int(v) || h.Src.String() != "198.51.100.7:40000" || h.Dst.String() != "192.0.2.1:5432" {
				t.Errorf("server got %+v and answered %q; want the original client and destination", h, line)
			}
		})
	}
}

func TestSendProxyV2HTTPWithTLVsAndPrivateConnections(t *testing.T) {
	var conns atomic.Int64
	addr := rawServer(t, func(c net.Conn) {
		conns.Add(1)
		br := bufio.NewReader(c)
		b, _ := br.Peek(16)
		n := 16 + int(b[14])<<8 + int(b[15])
		hb := make([]byte, n)
		io.ReadFull(br, hb)
		h, _, err := proxyproto.Parse(hb)
		info := "bad header: " + errString(err)
		if err == nil {
			info = h.Src.Addr().String() + " alpn=" + string(h.TLV(proxyproto.TypeALPN)) + " authority=" + string(h.TLV(proxyproto.TypeAuthority))
		}
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(info))+"\r\n\r\n"+info)
		}
	})
	cert, key := selfSigned(t)
	s := srv("a", addr)
	s.SendProxy, s.ProxyV2Authority, s.ProxyV2CRC32C = config.ProxyV2, true, true
	c := cluster(s)
	c.Frontends[0].TLS = &config.TLS{Cert: cert, Key: key}
	e := start(t, c)
	raw := dialWith(t, e.addr("fe"), "", "")
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, ServerName: "shop.example", NextProtos: []string{"http/1.1"}})
	br := bufio.NewReader(tc)
	for range 2 { // keep-alive: each request's server connection carries its own header
		io.WriteString(tc, "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "127.0.0.1 alpn=http/1.1 authority=shop.example" {
			t.Errorf("server saw %q", body)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d server connections for 2 requests, want 2 (a connection with a PROXY header is never pooled)", n)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestShutdownSessions: on-marked-down closes a server's connections when
// it goes down; on-marked-up closes the backup's when a normal server comes
// back (TCP mode, long sessions).
func TestShutdownSessions(t *testing.T) {
	hold := func(c net.Conn) { io.WriteString(c, "hi\n"); io.Copy(io.Discard, c) }
	normal, backup := rawServer(t, hold), rawServer(t, hold)
	a, bk := srv("a", normal), srv("bk", backup)
	a.ShutdownOnDown, a.ShutdownBackupsOnUp, bk.Backup = true, true, true
	c := cluster(a, bk)
	c.Frontends[0].Mode, c.Backends[0].Mode = config.ModeTCP, config.ModeTCP
	e := start(t, c)
	open := func() net.Conn {
		conn := dialWith(t, e.addr("fe"), "", "")
		if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || line != "hi\n" {
			t.Fatalf("session: %q %v", line, err)
		}
		return conn
	}
	closedSoon := func(conn net.Conn) bool {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := conn.Read(make([]byte, 1))
		return err != nil && !isTimeoutErr(err)
	}
	onA := open()
	e.setStates(map[config.ServerKey]ServerState{key("a"): {Weight: -1, Health: config.HealthDown}})
	if !closedSoon(onA) {
		t.Error("on-marked-down shutdown-sessions: the session on a stayed open")
	}
	onBackup := open() // a is down: the backup takes it
	e.setStates(map[config.ServerKey]ServerState{key("a"): {Weight: -1, Health: config.HealthUp}})
	if !closedSoon(onBackup) {
		t.Error("on-marked-up shutdown-backup-sessions: the session on the backup stayed open")
	}
	stays := open() // on a again
	e.setStates(map[config.ServerKey]ServerState{key("a"): {Weight: -1, Health: config.HealthUp}})
	stays.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := stays.Read(make([]byte, 1)); !isTimeoutErr(err) {
		t.Errorf("a session survives a state that does not change: %v", err)
	}
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestObserveReportsEachResult(t *testing.T) {
	type res struct {
		ok   bool
		what string
	}
	got := make(chan res, 16)
	b, err := New(Config{}, Deps{OnServerResult: func(k config.ServerKey, ok bool, what string) { got <- res{ok, what} }})
	if err != nil {
		t.Fatal(err)
	}
	live := newSite(t, "a", nil)
	s := srv("a", closedAddr(t))
	s.Check, s.Observe = true, &config.Observe{Layer: config.ObserveLayer4}
	c := cluster(s)
	c.Backends[0].Retries = ptr(0)
	e := &testEnv{t: t, b: b}
	e.apply(c, nil)
	runBalancer(t, b)
	resp, err := client().Get(e.url("/"))
	if err == nil {
		resp.Body.Close()
	}
	if r := <-got; r.ok || r.what != "connection refused" {
		t.Errorf("failed connect reported as %+v", r)
	}
	c.Backends[0].Servers[0].Address = live.addr()
	e.apply(c, nil)
	get(t, client(), e.url("/"))
	if r := <-got; !r.ok {
		t.Errorf("success reported as %+v", r)
	}
}

func runBalancer(t *testing.T, b *Balancer) {
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// observe layer7 also counts the server's HTTP statuses (100-499, 501 and
// 505 good, as HAProxy) and a response timeout; layer4 counts only
// connections.
func TestObserveLayer7CountsStatuses(t *testing.T) {
	type res struct {
		ok   bool
		what string
	}
	got := make(chan res, 16)
	b, err := New(Config{}, Deps{OnServerResult: func(k config.ServerKey, ok bool, what string) { got <- res{ok, what} }})
	if err != nil {
		t.Fatal(err)
	}
	live := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			w.WriteHeader(500)
		case "/404":
			w.WriteHeader(404)
		case "/slow":
			time.Sleep(400 * time.Millisecond)
		}
	})
	s := srv("a", live.addr())
	s.Check, s.Observe = true, &config.Observe{Layer: config.ObserveLayer7}
	c := cluster(s)
	c.Backends[0].Retries = ptr(0)
	c.Backends[0].Timeouts.Server = config.Duration(100 * time.Millisecond)
	e := &testEnv{t: t, b: b}
	e.apply(c, nil)
	runBalancer(t, b)
	next := func() res {
		select {
		case r := <-got:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("no result reported")
			return res{}
		}
	}
	for _, tt := range []struct {
		path string
		want []res
	}{
		{"/500", []res{{true, ""}, {false, "HTTP 500"}}},
		{"/404", []res{{true, ""}, {true, "HTTP 404"}}},
		{"/slow", []res{{false, "response timeout"}}},
	} {
		resp, err := client().Get(e.url(tt.path))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		for _, w := range tt.want {
			if r := next(); r != w {
				t.Errorf("GET %s: reported %+v, want %+v", tt.path, r, w)
			}
		}
	}
	c.Backends[0].Servers[0].Observe.Layer = config.ObserveLayer4
	e.apply(c, nil)
	get(t, client(), e.url("/404"))
	if r := next(); r != (res{true, ""}) {
		t.Errorf("layer4: reported %+v, want the connection only", r)
	}
	select {
	case r := <-got:
		t.Errorf("layer4 reported a status too: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
}
