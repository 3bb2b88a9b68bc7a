package rules

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// clientHello returns the first bytes a Go TLS client sends: a real
// ClientHello with SNI and ALPN.
func clientHello(t testing.TB, sni string, alpn ...string) []byte {
	t.Helper()
	c, s := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl := tls.Client(c, &tls.Config{ServerName: sni, NextProtos: alpn, InsecureSkipVerify: true})
		_ = cl.Handshake() // fails when the server side closes
	}()
	_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
	head := make([]byte, 5)
	if _, err := io.ReadFull(s, head); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(head[3])<<8|int(head[4]))
	if _, err := io.ReadFull(s, body); err != nil {
		t.Fatal(err)
	}
	s.Close()
	c.Close()
	<-done
	return append(head, body...)
}

func TestParseClientHelloFromGoTLS(t *testing.T) {
	b := clientHello(t, "api.example.com", "h2", "http/1.1")
	h, err := ParseClientHello(b)
	if typ, terr := HelloType(b); err != nil || terr != nil || typ != 1 || string(h.SNI) != "api.example.com" || string(h.ALPN) != "h2" {
		t.Fatalf("ParseClientHello = %q %q, %v; HelloType %d, %v", h.SNI, h.ALPN, err, typ, terr)
	}
	for n := 0; n < len(b); n++ {
		if _, err := ParseClientHello(b[:n]); err != ErrNeedMore {
			t.Fatalf("prefix %d: %v, want ErrNeedMore", n, err)
		}
		if _, err := HelloType(b[:n]); err != ErrNeedMore {
			t.Fatalf("HelloType prefix %d: %v, want ErrNeedMore", n, err)
		}
	}
	if _, err := ParseClientHello([]byte("GET / HTTP/1.1\r\n")); err == nil || err == ErrNeedMore {
		t.Fatalf("HTTP bytes: %v", err)
	}
}

// SNI routing of TLS passthrough (configuration.txt 4.2 "tcp-request
// inspect-delay" example): wait for the hello, accept it, route by SNI.
func TestTCPContentSNIRouting(t *testing.T) {
	p, _ := compileYAML(t, `
defaults: {mode: tcp}
frontends:
  - name: tls
    bind: ["127.0.0.1:8443"]
    tcp_request:
      - inspect-delay 5s
      - content set-var(sess.seen) int(1)
      - content accept if { req.ssl_hello_type 1 }
      - content reject
    use_backend:
      - {backend: api, if: "{ req.ssl_sni -i api.example.com }"}
      - {backend: "%[req.ssl_sni,lower,map_dom(sni.map)]"}
    default_backend: web
backends:
  - {name: web, servers: [{name: w, address: 127.0.0.1:1}]}
  - {name: api, servers: [{name: a, address: 127.0.0.1:2}]}
  - {name: other, servers: [{name: o, address: 127.0.0.1:3}]}
files:
  sni.map: |
    other.example.com other
`)
	fe := p.Frontend(0)
	if fe.InspectDelay() != 5*time.Second || !fe.HasTCPContent() {
		t.Fatalf("inspect delay %v", fe.InspectDelay())
	}
	hello := clientHello(t, "API.example.com")
	for _, tc := range []struct {
		name    string
		payload []byte
		final   bool
		verdict Verdict
		backend int
	}{
		{"nothing yet", nil, false, NeedMore, -1},
		{"half a hello", hello[:len(hello)/2], false, NeedMore, -1},
		{"whole hello", hello, false, Accept, 1},
		{"www.other.example.com by dom map", clientHello(t, "www.other.example.com"), false, Accept, 2},
		{"not TLS, delay over", []byte("SSH-2.0-x\r\n"), true, Reject, -1},
		{"nothing, delay over", nil, true, Reject, -1},
	} {
		s := p.Get()
		sess := NewSession()
		s.Begin(fe, sess, Input{Conn: plainConn, Payload: tc.payload, Final: tc.final})
		v := fe.TCPContent(s)
		be := -1
		if v == Accept {
			var ok bool
			if be, ok = fe.UseBackend(s); !ok {
				be = 0
			}
		}
		if v != tc.verdict || be != tc.backend {
			t.Errorf("%s: %v backend %d, want %v %d", tc.name, v, be, tc.verdict, tc.backend)
		}
		p.Put(s)
	}
}

// When a rule waits for more bytes, the next call runs the rules again
// from the first one (tcp_rules.c tcp_inspect_request keeps current_rule
// only for an action that yields): the set-var above it runs twice.
func TestTCPContentRerunsFromTheFirstRule(t *testing.T) {
	p, _ := compileYAML(t, `
defaults: {mode: tcp}
frontends:
  - name: f
    bind: ["127.0.0.1:9000"]
    tcp_request:
      - inspect-delay 1s
      - content set-var(txn.n) var(txn.n),add(1)
      - content set-var(txn.n) int(1) unless { var(txn.n) -m found }
      - content accept if { req.len ge 4 }
    default_backend: b
backends:
  - {name: b, servers: [{name: s, address: 127.0.0.1:1}]}
`)
	fe := p.Frontend(0)
	s := p.Get()
	defer p.Put(s)
	s.Begin(fe, nil, Input{Payload: []byte("ab")})
	if v := fe.TCPContent(s); v != NeedMore {
		t.Fatalf("2 bytes: %v", v)
	}
	s.In.Payload = []byte("abcd")
	if v := fe.TCPContent(s); v != Accept {
		t.Fatalf("4 bytes: %v", v)
	}
	if v, ok := s.getVar(p.varSlots["txn.n"], 2); !ok || v.i != 2 {
		t.Fatalf("txn.n = %+v %v, want 2 (the rules ran from the first one at each call)", v, ok)
	}
}

// In mode http, payload fetches are refused: HAProxy reads its internal
// HTTP form (HTX) there, not the client's bytes (config/rules checks it).
func TestPayloadFetchesRefusedInModeHTTP(t *testing.T) {
	_, err := config.Load("test.yaml", []byte("frontends:\n  - name: web\n    bind: [\"127.0.0.1:8080\"]\n    mode: http\n    default_backend: b\n"+
		"    http_request: [\"deny if { req.len gt 3 }\"]\nbackends:\n  - {name: b, mode: http, servers: [{name: s, address: \"127.0.0.1:1\"}]}\n"))
	if err == nil || !strings.Contains(err.Error(), `fetch "req.len" reads the raw request bytes`) {
		t.Fatalf("err = %v, want req.len refused in mode http", err)
	}
}

// Before a stream exists only sess.* variables do (vars.c get_vars): a
// txn.* set by tcp-request connection is gone, a sess.* one stays.
func TestConnectionRulesSetOnlySessionVariables(t *testing.T) {
	p, _ := compileYAML(t, `
defaults: {mode: tcp}
frontends:
  - name: f
    bind: ["127.0.0.1:9000"]
    tcp_request:
      - connection set-var(txn.t) int(1)
      - connection set-var(sess.s) int(2)
      - content reject unless { var(sess.s) -m int 2 }
      - content reject if { var(txn.t) -m found }
    default_backend: b
backends:
  - {name: b, servers: [{name: s, address: 127.0.0.1:1}]}
`)
	fe := p.Frontend(0)
	s := p.Get()
	defer p.Put(s)
	s.Begin(fe, NewSession(), Input{Final: true})
	fe.TCPConnection(s)
	if v := fe.TCPContent(s); v != Continue {
		t.Fatalf("verdict %v: txn.t must not exist, sess.s must", v)
	}
}

func TestDateAndHTTPDate(t *testing.T) {
	p := prog(t, `
    http_request:
      - set-header X-Start t=%[date(0,ms)]
      - set-header Expires %[date(3600),http_date]
      - set-header X-Ms %[date(1500,ms),http_date(0,ms)]
`, "")
	s := p.Get()
	defer p.Put(s)
	req := newReq("GET", "/")
	s.Begin(p.Frontend(0), nil, Input{Req: req, Now: time.Date(2026, 12, 1, 9, 45, 23, 250e6, time.UTC)})
	p.Frontend(0).HTTPRequest(s, req)
	if req.get("X-Start") != "t=1796118323250" || req.get("Expires") != "Tue, 01 Dec 2026 10:45:23 GMT" || req.get("X-Ms") != "Tue, 01 Dec 2026 09:45:24.750 GMT" {
		t.Fatalf("X-Start %q Expires %q X-Ms %q", req.get("X-Start"), req.get("Expires"), req.get("X-Ms"))
	}
}
