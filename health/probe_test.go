package health

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

// rawServer listens on 127.0.0.1:0 and runs handle for every connection.
// Cleanup closes the listener and every connection and waits for handlers.
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// readRequest reads one request head, up to and including the blank line.
func readRequest(c net.Conn) string {
	r := bufio.NewReader(c)
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if err != nil || line == "\r\n" {
			return b.String()
		}
	}
}

func httpSpec(hc config.HealthCheck, addr string, inter time.Duration) spec {
	hc.Type = config.CheckHTTP
	c := &config.Cluster{Backends: []config.Backend{{Name: "be", HealthCheck: &hc, Servers: []config.Server{
		{Name: "s", Address: addr, Check: true, CheckTiming: config.CheckTiming{Inter: config.Duration(inter)}},
	}}}}
	b := &c.Resolve().Backends[0]
	return newSpec(b, &b.Servers[0])
}

func TestHTTPCheckSendsExactRequest(t *testing.T) {
	tests := []struct {
		name string
		hc   config.HealthCheck
		want string // %s: the server address
	}{
		{
			name: "the article's HEAD /deploy.txt HTTP/1.0",
			hc:   config.HealthCheck{Method: "HEAD", Path: "/deploy.txt", Version: "HTTP/1.0"},
			want: "HEAD /deploy.txt HTTP/1.0\r\n\r\n",
		},
		{
			name: "HTTP/1.1 with configured host",
			hc:   config.HealthCheck{Method: "GET", Path: "/healthz", Version: "HTTP/1.1", Host: "www.example.com"},
			want: "GET /healthz HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n",
		},
		{
			name: "HTTP/1.1 without host sends the server address",
			hc:   config.HealthCheck{Method: "HEAD", Path: "/deploy.txt", Version: "HTTP/1.1"},
			want: "HEAD /deploy.txt HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
		},
		{
			name: "HTTP/1.0 with configured host",
			hc:   config.HealthCheck{Method: "GET", Path: "/", Version: "HTTP/1.0", Host: "a.example"},
			want: "GET / HTTP/1.0\r\nHost: a.example\r\n\r\n",
		},
		{
			name: "unresolved fields get HAProxy's defaults",
			hc:   config.HealthCheck{},
			want: "OPTIONS / HTTP/1.0\r\n\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan string, 1)
			addr := rawServer(t, func(c net.Conn) {
				got <- readRequest(c)
				io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
			})
			r := httpSpec(tt.hc, addr, 2*time.Second).probe(context.Background())
			if r.desc != "L7OK 200" || r.verdict != pass || r.code != 200 {
				t.Errorf("result = %+v, want L7OK 200", r)
			}
			want := strings.ReplaceAll(tt.want, "%s", addr)
			if diff := cmp.Diff(want, <-got); diff != "" {
				t.Errorf("request bytes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		code       int
		expect     []int
		disable404 bool
		want       verdict
		wantDesc   string
	}{
		{200, nil, false, pass, "L7OK 200"},
		{204, nil, false, pass, "L7OK 204"},
		{301, nil, false, pass, "L7OK 301"},
		{399, nil, false, pass, "L7OK 399"},
		{199, nil, false, fail, "L7STS 199"},
		{400, nil, false, fail, "L7STS 400"},
		{404, nil, false, fail, "L7STS 404"},
		{500, nil, false, fail, "L7STS 500"},
		{503, nil, false, fail, "L7STS 503"},
		{404, nil, true, stop, "L7OKC 404"},
		{500, nil, true, fail, "L7STS 500"},
		{200, []int{200}, false, pass, "L7OK 200"},
		{204, []int{200}, false, fail, "L7STS 204"},
		{302, []int{200}, false, fail, "L7STS 302"},
		{401, []int{200, 401}, false, pass, "L7OK 401"},
		{404, []int{200, 404}, true, stop, "L7OKC 404"},
	}
	for _, tt := range tests {
		code := tt.code
		addr := rawServer(t, func(c net.Conn) {
			readRequest(c)
			fmt.Fprintf(c, "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", code)
		})
		r := httpSpec(config.HealthCheck{ExpectStatus: tt.expect, DisableOn404: tt.disable404}, addr, 2*time.Second).probe(context.Background())
		if r.verdict != tt.want || r.desc != tt.wantDesc || r.code != tt.code {
			t.Errorf("status %d, expect %v, disable404 %v: %v %q code %d, want %v %q",
				tt.code, tt.expect, tt.disable404, r.verdict, r.desc, r.code, tt.want, tt.wantDesc)
		}
	}
}

func TestParseStatusLine(t *testing.T) {
	tests := []struct {
		line   string
		want   int
		wantOK bool
	}{
		{"HTTP/1.0 200 OK\r\n", 200, true},
		{"HTTP/1.1 404 Not Found\r\n", 404, true},
		{"HTTP/1.1 204\r\n", 204, true},
		{"HTTP/1.1 503 \n", 503, true},
		{"HTTP/1.0 200 OK", 200, true}, // connection closed after the line
		{"HTTP/1.1 20 OK\r\n", 0, false},
		{"HTTP/1.1 2000 OK\r\n", 0, false},
		{"HTTP/1.1 abc OK\r\n", 0, false},
		{"HTTP/1.1 099 OK\r\n", 0, false},
		{"SSH-2.0-OpenSSH_9.6\r\n", 0, false},
		{"200 OK\r\n", 0, false},
		{"\r\n", 0, false},
	}
	for _, tt := range tests {
		code, ok := parseStatusLine(tt.line)
		if code != tt.want || ok != tt.wantOK {
			t.Errorf("parseStatusLine(%q) = %d, %v; want %d, %v", tt.line, code, ok, tt.want, tt.wantOK)
		}
	}
}

func TestProbeResults(t *testing.T) {
	reply := func(s string) func(net.Conn) {
		return func(c net.Conn) {
			readRequest(c)
			io.WriteString(c, s)
		}
	}
	tests := []struct {
		name     string
		handle   func(net.Conn) // nil: nothing listens
		tcp      bool
		want     verdict
		wantDesc string
		wantCode int
	}{
		{name: "200", handle: reply("HTTP/1.1 200 OK\r\n\r\n"), want: pass, wantDesc: "L7OK 200", wantCode: 200},
		{name: "404", handle: reply("HTTP/1.0 404 Not Found\r\n\r\n"), want: fail, wantDesc: "L7STS 404", wantCode: 404},
		{name: "status line without CRLF", handle: reply("HTTP/1.0 302 Found"), want: pass, wantDesc: "L7OK 302", wantCode: 302},
		{name: "garbage", handle: reply("hello\r\n"), want: fail, wantDesc: "L7RSP bad status line"},
		{name: "endless line", handle: reply("HTTP/1.1 200 " + strings.Repeat("x", 2*maxStatusLine)), want: fail, wantDesc: "L7RSP bad status line"},
		{name: "closed without answer", handle: func(c net.Conn) { readRequest(c) }, want: fail, wantDesc: "L7RSP empty response"},
		{name: "connection refused", handle: nil, want: fail, wantDesc: "L4CON connection refused"},
		{name: "tcp connect ok", handle: func(net.Conn) {}, tcp: true, want: pass, wantDesc: "L4OK"},
		{name: "tcp closed port", handle: nil, tcp: true, want: fail, wantDesc: "L4CON connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := closedPort(t)
			if tt.handle != nil {
				addr = rawServer(t, tt.handle)
			}
			sp := httpSpec(config.HealthCheck{Method: "HEAD", Path: "/deploy.txt"}, addr, 2*time.Second)
			if tt.tcp {
				sp.rs = connectOnly()
			}
			r := sp.probe(context.Background())
			if r.verdict != tt.want || r.desc != tt.wantDesc || r.code != tt.wantCode {
				t.Errorf("probe = %v %q code %d, want %v %q code %d", r.verdict, r.desc, r.code, tt.want, tt.wantDesc, tt.wantCode)
			}
		})
	}
}

func TestCheckTimeoutServerNeverAnswers(t *testing.T) {
	silent := func(c net.Conn) { io.Copy(io.Discard, c) } // accepts, reads, never answers
	tests := []struct {
		name         string
		inter        time.Duration
		checkTimeout time.Duration
		wantAtLeast  time.Duration
		wantBelow    time.Duration
	}{
		{"inter bounds the check", 100 * time.Millisecond, 0, 100 * time.Millisecond, time.Second},
		{"timeout check bounds the response", 10 * time.Second, 100 * time.Millisecond, 100 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := httpSpec(config.HealthCheck{Method: "HEAD", Path: "/"}, rawServer(t, silent), tt.inter)
			sp.lim.check = tt.checkTimeout
			sp.lim.connect = 5 * time.Second
			r := sp.probe(context.Background())
			if r.verdict != fail || r.desc != "L7TOUT" {
				t.Errorf("probe = %v %q, want fail L7TOUT", r.verdict, r.desc)
			}
			if r.dur < tt.wantAtLeast || r.dur >= tt.wantBelow {
				t.Errorf("check took %v, want in [%v, %v)", r.dur, tt.wantAtLeast, tt.wantBelow)
			}
		})
	}
}

func TestProbeCancelledAbortsAtOnce(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	sp := httpSpec(config.HealthCheck{Method: "HEAD", Path: "/"}, addr, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if r := sp.probe(ctx); r.dur > 10*time.Second {
		t.Errorf("cancelled check took %v", r.dur)
	}
}

func TestFirstDelayStaggersOverInter(t *testing.T) {
	sp := spec{timing: config.CheckTiming{Inter: config.Duration(time.Second), Rise: 1, Fall: 1}}
	var buckets [10]int
	for range 10000 {
		d := sp.firstDelay()
		if d < 0 || d >= time.Second {
			t.Fatalf("first delay %v outside [0, 1s)", d)
		}
		buckets[d/(100*time.Millisecond)]++
	}
	for i, n := range buckets {
		if n < 800 || n > 1200 { // expected 1000, sd ~30
			t.Errorf("bucket %d has %d of 10000 first checks, want ~1000: %v", i, n, buckets)
		}
	}
}

func TestProbeAddressForms(t *testing.T) {
	listen := func(t *testing.T, network, addr string) string {
		t.Helper()
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Skipf("no %s loopback here: %v", network, err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				readRequest(c)
				io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
				c.Close()
			}
		}()
		return ln.Addr().String()
	}
	tests := []struct {
		name    string
		network string
		host    string // "" keeps the listener's address
	}{
		{"ipv4", "tcp4", ""},
		{"ipv6 in brackets", "tcp6", ""},
		{"hostname", "tcp4", "localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loop := map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[tt.network]
			addr := listen(t, tt.network, loop)
			if tt.host != "" {
				_, port, _ := net.SplitHostPort(addr)
				addr = net.JoinHostPort(tt.host, port)
			}
			sp := httpSpec(config.HealthCheck{Method: "GET", Path: "/", Version: "HTTP/1.1"}, addr, 2*time.Second)
			if r := sp.probe(context.Background()); r.desc != "L7OK 200" {
				t.Errorf("probe %s = %q, want L7OK 200", addr, r.desc)
			}
		})
	}
}
