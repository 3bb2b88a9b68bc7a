package balancer

import (
	"crypto/tls"
	"io"
	"testing"

	"github.com/tandem-lb/tandem/config"
)

// ALPN none offers no protocol (HAProxy 2.6 on a bind without "alpn"): a
// client asking for h2 only still connects and speaks HTTP/1.1.
func TestNoALPNNegotiatesNothing(t *testing.T) {
	ca := newTestCA(t)
	cert, _ := ca.issue(t, t.TempDir(), "c.pem", false, false, "a.example.com")
	s := newSite(t, "s", nil)
	c := cluster(srv("s", s.addr()))
	c.Frontends[0].TLS = &config.TLS{Certificates: []string{cert}, ALPN: []string{config.NoALPN}}
	e := start(t, c)
	conn, err := tls.Dial("tcp", e.addr("fe"), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "" {
		t.Errorf("negotiated %q, want no ALPN", p)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if b, _ := io.ReadAll(conn); len(b) < 12 || string(b[:12]) != "HTTP/1.1 200" {
		t.Errorf("HTTP/1.1 over TLS without ALPN: %q", b)
	}
	h2only, err := tls.Dial("tcp", e.addr("fe"), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatalf("a client offering h2 only is refused: %v", err)
	}
	h2only.Close()
}

// curves limits the key exchange groups; no_tickets turns resumption by
// tickets off.
func TestCurvesAndNoTickets(t *testing.T) {
	ca := newTestCA(t)
	cert, _ := ca.issue(t, t.TempDir(), "c.pem", false, false, "a.example.com")
	s := newSite(t, "s", nil)
	c := cluster(srv("s", s.addr()))
	c.Frontends[0].TLS = &config.TLS{Certificates: []string{cert}, Curves: "secp384r1", NoTickets: true}
	e := start(t, c)
	for _, tt := range []struct {
		curve tls.CurveID
		ok    bool
	}{{tls.X25519, false}, {tls.CurveP256, false}, {tls.CurveP384, true}} {
		_, _, err := handshake(e.addr("fe"), "a.example.com", &tls.Config{CurvePreferences: []tls.CurveID{tt.curve}})
		if (err == nil) != tt.ok {
			t.Errorf("client with %v only: handshake error %v, want ok=%v", tt.curve, err, tt.ok)
		}
	}
	cache := tls.NewLRUClientSessionCache(4)
	for i := range 2 {
		conf := &tls.Config{InsecureSkipVerify: true, ClientSessionCache: cache, NextProtos: []string{"http/1.1"}}
		conn, err := tls.Dial("tcp", e.addr("fe"), conf)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
		io.ReadAll(conn)
		if conn.ConnectionState().DidResume {
			t.Errorf("connection %d resumed with no_tickets", i+1)
		}
		conn.Close()
	}
}
