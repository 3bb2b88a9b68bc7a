package health

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// specOf resolves a one-server backend with hc and returns its spec.
func specOf(t *testing.T, hc *config.HealthCheck, s config.Server) spec {
	t.Helper()
	s.Name, s.Check = "s", true
	if s.Inter == 0 {
		s.Inter = config.Duration(time.Second)
	}
	c := &config.Cluster{
		Frontends: []config.Frontend{{Name: "f", Bind: []string{"127.0.0.1:1"}, DefaultBackend: "be"}},
		Backends:  []config.Backend{{Name: "be", Mode: config.ModeTCP, HealthCheck: hc, Servers: []config.Server{s}}},
	}
	c.Frontends[0].Mode = config.ModeTCP
	if err := c.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	b := &c.Resolve().Backends[0]
	return newSpec(b, &b.Servers[0])
}

func steps(ss ...config.CheckStep) *config.HealthCheck {
	return &config.HealthCheck{Type: config.CheckTCP, CheckRules: config.CheckRules{Steps: ss}}
}

func send(text string) config.CheckStep { return config.CheckStep{Send: &config.CheckSend{Text: text}} }

func expect(m config.ExpectMatch, p string) config.CheckStep {
	return config.CheckStep{Expect: &config.CheckExpect{Match: m, Pattern: p}}
}

// fakeRedis answers PING, INFO replication (with its role) and QUIT.
func fakeRedis(role string) func(net.Conn) {
	return func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch strings.TrimSpace(strings.ToLower(line)) {
			case "ping":
				io.WriteString(c, "+PONG\r\n")
			case "info replication":
				body := "# Replication\r\nrole:" + role + "\r\nconnected_slaves:0\r\n"
				io.WriteString(c, "$"+strconv.Itoa(len(body))+"\r\n"+body+"\r\n")
			case "quit":
				io.WriteString(c, "+OK\r\n")
				return
			}
		}
	}
}

func redisPrimarySteps() *config.HealthCheck {
	return steps(
		config.CheckStep{Connect: &config.CheckConnect{}},
		send("PING\r\n"), expect(config.MatchString, "+PONG"),
		send("info replication\r\n"), expect(config.MatchString, "role:master"),
		send("QUIT\r\n"), expect(config.MatchString, "+OK"),
	)
}

func TestRedisPrimaryTCPCheck(t *testing.T) {
	primary := rawServer(t, fakeRedis("master"))
	replica := rawServer(t, fakeRedis("slave"))
	r := specOf(t, redisPrimarySteps(), config.Server{Address: primary}).probe(context.Background())
	if r.verdict != pass || r.desc != "L7OK" {
		t.Errorf("primary: %v %q, want pass L7OK", r.verdict, r.desc)
	}
	sp := specOf(t, redisPrimarySteps(), config.Server{Address: replica, CheckTiming: config.CheckTiming{Inter: config.Duration(300 * time.Millisecond)}})
	r = sp.probe(context.Background())
	// HAProxy waits for more data while "role:master" is not found: the
	// check times out at that step (tcpcheck_eval_expect, min-recv -1).
	if r.verdict != fail || r.status != "L7TOUT" || r.step != 5 ||
		!strings.Contains(r.desc, `tcp-check step 5 expect string "role:master"`) || !strings.Contains(r.desc, `role:slave`) {
		t.Errorf("replica: %v %q step %d, want L7TOUT at step 5 naming what was read", r.verdict, r.desc, r.step)
	}
	if !strings.Contains(r.read, "role:slave") {
		t.Errorf("read = %q, want the INFO reply", r.read)
	}
}

// scripted answers each connection with reply after reading n bytes.
func scripted(n int, reply string) func(net.Conn) {
	return func(c net.Conn) {
		if n > 0 {
			io.ReadFull(c, make([]byte, n))
		}
		io.WriteString(c, reply)
		io.Copy(io.Discard, c)
	}
}

func TestTCPCheckExpectRules(t *testing.T) {
	minRecv := func(n int) *int { return &n }
	tests := []struct {
		name       string
		reply      string
		close      bool // the server closes after its reply
		step       config.CheckStep
		want       verdict
		wantStatus string
		wantDesc   string // substring
	}{
		{name: "string found", reply: "+OK ready\r\n", step: expect(config.MatchString, "ready"), want: pass, wantStatus: "L7OK"},
		{name: "string not found, server closes", reply: "-ERR\r\n", close: true, step: expect(config.MatchString, "+OK"),
			want: fail, wantStatus: "L7RSP", wantDesc: `tcp-check step 2 expect string "+OK": got "-ERR\r\n"`},
		{name: "negated string", reply: "-ERR loading\r\n", close: true, step: config.CheckStep{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "-ERR", Not: true}},
			want: fail, wantStatus: "L7RSP", wantDesc: "matched unwanted content"},
		{name: "rstring", reply: "220 mx ESMTP\r\n", step: expect(config.MatchRString, `^2[0-9]{2} `), want: pass, wantStatus: "L7OK"},
		{name: "binary", reply: "\x00\x01+PONG", step: expect(config.MatchBinary, "2b504f4e47"), want: pass, wantStatus: "L7OK"},
		{name: "rbinary over upper-case hex", reply: "\x16\x03\x01", step: expect(config.MatchRBinary, "^160301"), want: pass, wantStatus: "L7OK"},
		{name: "min-recv 0 judges at once", reply: "nope", step: config.CheckStep{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "yes", MinRecv: minRecv(0)}},
			want: fail, wantStatus: "L7RSP"},
		{name: "ok-status L7OKC is nolb", reply: "maint\r\n", step: config.CheckStep{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "maint", OKStatus: "L7OKC"}},
			want: stop, wantStatus: "L7OKC"},
		{name: "error-status and on-error", reply: "x", close: true, step: config.CheckStep{Comment: "banner", Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "y", ErrorStatus: "L7STS", OnError: "no banner"}},
			want: fail, wantStatus: "L7STS", wantDesc: "no banner (comment: banner)"},
		{name: "timeout status", reply: "", step: config.CheckStep{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "y", TimeoutStatus: "L4TOUT"}},
			want: fail, wantStatus: "L4TOUT"},
		{name: "empty response", reply: "", close: true, step: expect(config.MatchString, "y"), want: fail, wantStatus: "L7RSP", wantDesc: "empty response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawServer(t, func(c net.Conn) {
				io.WriteString(c, tt.reply)
				if !tt.close {
					io.Copy(io.Discard, c)
				}
			})
			sp := specOf(t, steps(config.CheckStep{Connect: &config.CheckConnect{}}, tt.step),
				config.Server{Address: addr, CheckTiming: config.CheckTiming{Inter: config.Duration(300 * time.Millisecond)}})
			r := sp.probe(context.Background())
			if r.verdict != tt.want || r.status != tt.wantStatus || !strings.Contains(r.desc, tt.wantDesc) {
				t.Errorf("got %v %s %q, want %v %s containing %q", r.verdict, r.status, r.desc, tt.want, tt.wantStatus, tt.wantDesc)
			}
		})
	}
}

func TestConsecutiveExpectsJudgeTheSameBytes(t *testing.T) {
	// smtpchk's first two rules: any 3-digit code, then a 2xx code, on one greeting.
	for _, tt := range []struct {
		greeting string
		want     verdict
		desc     string
	}{
		{"220 mx.example.com ESMTP\r\n", pass, "L7OK: mx.example.com"},
		{"554 go away\r\n", fail, "L7STS 554: smtp-check step 3 expect 2xx greeting: go away"},
		{"hello\r\n", fail, "L7RSP: smtp-check step 2 expect greeting: hello"},
	} {
		addr := rawServer(t, func(c net.Conn) {
			io.WriteString(c, tt.greeting)
			r := bufio.NewReader(c)
			if line, err := r.ReadString('\n'); err == nil && strings.HasPrefix(line, "HELO localhost") {
				io.WriteString(c, "250-mx.example.com\r\n250 OK\r\n")
			}
			io.Copy(io.Discard, r)
		})
		r := specOf(t, &config.HealthCheck{Type: config.CheckSMTP}, config.Server{Address: addr}).probe(context.Background())
		if r.verdict != tt.want || !strings.HasPrefix(r.desc, tt.desc) {
			t.Errorf("greeting %q: %v %q, want %v %q", tt.greeting, r.verdict, r.desc, tt.want, tt.desc)
		}
	}
}

func TestSendFormatsAndHex(t *testing.T) {
	got := make(chan string, 1)
	addr := rawServer(t, func(c net.Conn) {
		b := make([]byte, 64)
		n, _ := io.ReadAtLeast(c, b, len("be/s:1234PING"))
		got <- string(b[:n])
		io.WriteString(c, "ok")
		io.Copy(io.Discard, c)
	})
	_, port, _ := net.SplitHostPort(addr)
	sp := specOf(t, steps(
		config.CheckStep{Send: &config.CheckSend{Format: "%[be_name]/%[srv_name]:%[srv_port]"}},
		config.CheckStep{Send: &config.CheckSend{Hex: "50494e47"}},
		expect(config.MatchString, "ok"),
	), config.Server{Address: addr})
	if r := sp.probe(context.Background()); r.verdict != pass {
		t.Fatalf("probe: %q", r.desc)
	}
	if want := "be/s:" + port + "PING"; <-got != want {
		t.Errorf("server read something else than %q", want)
	}
}

func TestCheckPortAddrAndSendProxy(t *testing.T) {
	got := make(chan string, 1)
	checkAddr := rawServer(t, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		got <- line
	})
	host, port, _ := net.SplitHostPort(checkAddr)
	p := 0
	for _, ch := range port {
		p = p*10 + int(ch-'0')
	}
	// The server address is dead; checks go to check_addr:check_port with a PROXY header.
	s := config.Server{Address: closedPort(t), ServerCheck: config.ServerCheck{CheckAddr: host, CheckPort: p, CheckSendProxy: true}}
	r := specOf(t, nil, s).probe(context.Background())
	if r.verdict != pass || r.desc != "L4OK" {
		t.Errorf("probe = %v %q, want L4OK at the check address", r.verdict, r.desc)
	}
	if l := <-got; l != "PROXY UNKNOWN\r\n" {
		t.Errorf("check sent %q, want a v1 LOCAL header", l)
	}
	v2 := make(chan []byte, 1)
	addr2 := rawServer(t, func(c net.Conn) {
		b := make([]byte, 16)
		io.ReadFull(c, b)
		v2 <- b
	})
	s2 := config.Server{Address: addr2, ServerProxy: config.ServerProxy{SendProxy: config.ProxyV2}}
	specOf(t, nil, s2).probe(context.Background())
	if b := <-v2; b[12] != 0x20 || binary.BigEndian.Uint16(b[14:]) != 0 {
		t.Errorf("v2 check header %x, want LOCAL with no addresses", b)
	}
}

func TestHTTPCheckSequence(t *testing.T) {
	reqs := make(chan string, 4)
	api := rawServer(t, func(c net.Conn) {
		reqs <- readRequest(c)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"role\":\"lead\"}")
	})
	chunked := rawServer(t, func(c net.Conn) {
		reqs <- readRequest(c)
		io.WriteString(c, "HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbusy\r\n0\r\n\r\n")
	})
	_, p2, _ := net.SplitHostPort(chunked)
	port2 := 0
	for _, ch := range p2 {
		port2 = port2*10 + int(ch-'0')
	}
	hc := &config.HealthCheck{Type: config.CheckHTTP, CheckRules: config.CheckRules{Steps: []config.CheckStep{
		{Connect: &config.CheckConnect{}},
		{Send: &config.CheckSend{Method: "GET", URI: "/leader", Version: "HTTP/1.1", Headers: []config.CheckHeader{{Name: "Host", Value: "db"}}}},
		{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: `"role":"lead"`}},
		{Connect: &config.CheckConnect{Port: port2}},
		{Send: &config.CheckSend{Method: "POST", URI: "/q", Version: "HTTP/1.0", Body: "hi"}},
		{Expect: &config.CheckExpect{Match: config.MatchRStatus, Pattern: "^5", Not: true}, Comment: "no 5xx"},
	}}}
	r := specOf(t, hc, config.Server{Address: api}).probe(context.Background())
	if r.verdict != fail || r.code != 503 || r.step != 6 || !strings.Contains(r.desc, "L7STS 503: http-check step 6 expect ! rstatus \"^5\": got status 503 (comment: no 5xx)") {
		t.Errorf("probe = %v %q code %d step %d", r.verdict, r.desc, r.code, r.step)
	}
	if got := <-reqs; got != "GET /leader HTTP/1.1\r\nHost: db\r\nConnection: close\r\n\r\n" {
		t.Errorf("first request %q", got)
	}
	if got := <-reqs; got != "POST /q HTTP/1.0\r\nConnection: close\r\nContent-Length: 2\r\n\r\n" {
		t.Errorf("second request %q", got)
	}
}

func TestHTTPBodyMatch(t *testing.T) {
	for _, tt := range []struct {
		name, resp string
		want       verdict
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhealthy", pass},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhea\r\n4\r\nlthy\r\n0\r\n\r\n", pass},
		{"until close", "HTTP/1.0 200 OK\r\n\r\nhealthy", pass},
		{"missing", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nsick", fail},
	} {
		addr := rawServer(t, func(c net.Conn) { readRequest(c); io.WriteString(c, tt.resp) })
		hc := &config.HealthCheck{Type: config.CheckHTTP, CheckRules: config.CheckRules{Steps: []config.CheckStep{
			{Send: &config.CheckSend{URI: "/"}}, {Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "healthy"}}}}}
		if r := specOf(t, hc, config.Server{Address: addr}).probe(context.Background()); r.verdict != tt.want {
			t.Errorf("%s: %v %q, want %v", tt.name, r.verdict, r.desc, tt.want)
		}
	}
}

func TestHTTPRulesetWithoutSendWaitsForAnAnswer(t *testing.T) {
	// HAProxy's ruleset for "http-check expect" under an option httpchk
	// of the defaults section: a connect and an expect, no request.
	addr := rawServer(t, func(c net.Conn) { readRequest(c); io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\n") })
	hc := &config.HealthCheck{Type: config.CheckHTTP, CheckRules: config.CheckRules{Steps: []config.CheckStep{
		{Expect: &config.CheckExpect{Match: config.MatchStatus, Pattern: "200"}}}}}
	sp := specOf(t, hc, config.Server{Address: addr, CheckTiming: config.CheckTiming{Inter: config.Duration(200 * time.Millisecond)}})
	if r := sp.probe(context.Background()); r.status != "L7TOUT" {
		t.Errorf("probe = %q, want L7TOUT (nothing asked, nothing answered)", r.desc)
	}
}
