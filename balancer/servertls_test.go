package balancer

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// tlsSite is an HTTPS backend with a certificate of ca for names; it
// answers the SNI it got and counts its connections.
type tlsSite struct {
	*httptest.Server
	conns atomic.Int64
}

func newTLSSite(t *testing.T, ca *testCA, clientCAs *x509.CertPool, names ...string) *tlsSite {
	t.Helper()
	file, _ := ca.issue(t, t.TempDir(), "srv.pem", false, false, names...)
	cert, err := tls.LoadX509KeyPair(file, file)
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsSite{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-SNI", r.TLS.ServerName)
		if len(r.TLS.PeerCertificates) > 0 {
			w.Header().Set("X-Client", r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		io.WriteString(w, "secure")
	}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point of some tests
	if clientCAs != nil {
		s.TLS.ClientCAs, s.TLS.ClientAuth = clientCAs, tls.RequireAndVerifyClientCert
	}
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *tlsSite) addr() string { return strings.TrimPrefix(s.URL, "https://") }

func TestServerTLSVerifiesAndReuses(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	site := newTLSSite(t, ca, nil, "api.internal")
	files := map[string]string{"ca.pem": string(ca.pem), "other.pem": string(other.pem)}
	for _, tt := range []struct {
		name string
		tls  config.ServerTLS
		code int
		sni  string
	}{
		{"verify required with the CA", config.ServerTLS{CA: "ca.pem"}, 200, ""},
		{"the name checked: SNI", config.ServerTLS{CA: "ca.pem", SNI: "str(api.internal)"}, 200, "api.internal"},
		{"the name checked: verifyhost", config.ServerTLS{CA: "ca.pem", VerifyHost: "api.internal"}, 200, ""},
		{"a wrong CA", config.ServerTLS{CA: "other.pem"}, 503, ""},
		{"a wrong name", config.ServerTLS{CA: "ca.pem", VerifyHost: "db.internal"}, 503, ""},
		{"verify none trusts any server", config.ServerTLS{Verify: "none", SNI: "str(x.example)"}, 200, "x.example"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := srv("s", site.addr())
			s.TLS = &tt.tls
			c := cluster(s)
			c.Files = files
			c.Backends[0].Retries = ptr(0)
			e := start(t, c)
			before := site.conns.Load()
			cl := client()
			for range 3 {
				code, body, h := get(t, cl, e.url("/"))
				if code != tt.code || code == 200 && (body != "secure" || h.Get("X-SNI") != tt.sni) {
					t.Fatalf("got %d %q SNI %q, want %d SNI %q", code, body, h.Get("X-SNI"), tt.code, tt.sni)
				}
			}
			if n := site.conns.Load() - before; tt.code == 200 && n != 1 {
				t.Errorf("%d TLS connections to the server for 3 requests, want 1 (reused)", n)
			}
		})
	}
}

// A server that asks for a client certificate gets the store's; a renewal
// is presented on the next connection, without a config change.
func TestServerTLSClientCertificate(t *testing.T) {
	ca := newTestCA(t)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	site := newTLSSite(t, ca, pool, "api.internal")
	dir := t.TempDir()
	f1, _ := ca.issue(t, dir, "c1.pem", false, true, "lb-one")
	f2, _ := ca.issue(t, dir, "c2.pem", false, true, "lb-two")
	load := func(f string) *tls.Certificate {
		c, err := loadCertFile(f, "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	s := srv("s", site.addr())
	s.TLS = &config.ServerTLS{CA: "ca.pem", Certificate: "lb"}
	c := cluster(s)
	c.Files = map[string]string{"ca.pem": string(ca.pem)}
	e := &testEnv{t: t}
	b, err := New(Config{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	e.b = b
	rc := c.Resolve()
	if err := b.Apply(Desired{Config: rc, Certificates: map[string]*tls.Certificate{"lb": load(f1)}}); err != nil {
		t.Fatal(err)
	}
	runBalancer(t, b)
	if _, _, h := get(t, client(), e.url("/")); h.Get("X-Client") != "lb-one" {
		t.Fatalf("client certificate %q, want lb-one", h.Get("X-Client"))
	}
	if err := b.Apply(Desired{Config: rc, Certificates: map[string]*tls.Certificate{"lb": load(f2)}}); err != nil {
		t.Fatal(err)
	}
	nc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	// The first request's server connection goes back to the pool after
	// its answer reached the client: wait for it, then drop it so that the
	// next request dials.
	sp := &b.cur.Load().backends["be"].byName["s"].pool
	waitFor(t, "the first server connection pooled", 5*time.Second, func() bool { return sp.len() == 1 })
	sp.closeAll()
	if _, _, h := get(t, nc, e.url("/")); h.Get("X-Client") != "lb-two" {
		t.Errorf("after the renewal: client certificate %q, want lb-two", h.Get("X-Client"))
	}
	// Refused: a store name that is not there.
	s.TLS.Certificate = "nope"
	if err := b.Apply(Desired{Config: cluster(s).Resolve()}); err == nil || !strings.Contains(err.Error(), `client certificate "nope" is not in the store`) {
		t.Errorf("a missing client certificate: %v", err)
	}
}

// Bytes a TLS server sends after its response are never read as the next
// client's response: the connection is not reused.
func TestServerTLSStrayBytesAfterResponse(t *testing.T) {
	ca := newTestCA(t)
	file, _ := ca.issue(t, t.TempDir(), "srv.pem", false, false, "api.internal")
	cert, _ := tls.LoadX509KeyPair(file, file)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := accepted.Add(1)
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					body := "first"
					if n > 1 {
						body = "fresh"
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"+body)
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray") // unasked
				}
			}()
		}
	}()
	s := srv("s", ln.Addr().String())
	s.TLS = &config.ServerTLS{Verify: "none"}
	e := start(t, cluster(s))
	cl := client()
	if _, body, _ := get(t, cl, e.url("/")); body != "first" {
		t.Fatalf("first response %q", body)
	}
	// The stray record follows the response in the same instant; the
	// next request comes a round trip later, after it arrived.
	if _, body, _ := get(t, cl, e.url("/")); body != "fresh" {
		t.Errorf("second client got %q, want a response from a fresh connection", body)
	}
}

// sni req.hdr(host): each request's Host is the server name sent, and a
// connection is reused only for the same name.
func TestServerSNIFromTheRequest(t *testing.T) {
	ca := newTestCA(t)
	site := newTLSSite(t, ca, nil, "a.example", "b.example")
	s := srv("s", site.addr())
	s.TLS = &config.ServerTLS{CA: "ca.pem", SNI: "req.hdr(host),field(1,:)"}
	c := cluster(s)
	c.Frontends[0].Mode, c.Backends[0].Mode = config.ModeHTTP, config.ModeHTTP
	c.Files = map[string]string{"ca.pem": string(ca.pem)}
	e := start(t, c)
	cl := client()
	before := site.conns.Load()
	for _, host := range []string{"a.example", "b.example:8443", "a.example", "b.example"} {
		req, _ := http.NewRequest("GET", e.url("/"), nil)
		req.Host = host
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		want, _, _ := strings.Cut(host, ":")
		if got := resp.Header.Get("X-SNI"); resp.StatusCode != 200 || got != want {
			t.Errorf("Host %s: %d, SNI %q, want %q", host, resp.StatusCode, got, want)
		}
	}
	if n := site.conns.Load() - before; n != 2 {
		t.Errorf("%d connections to the server, want 2 (one per name)", n)
	}
}
