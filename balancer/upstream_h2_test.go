package balancer

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/tandem-lb/tandem/config"
)

// h2cSite is an HTTP/2 server in clear text (prior knowledge) that
// answers its name and the protocol it got, counting its connections.
func h2cSite(t *testing.T, name string) (addr string, conns *atomic.Int64) {
	t.Helper()
	conns = &atomic.Int64{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", name)
		w.Header().Set("Trailer", "X-Checksum")
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Proto+" "+r.Host+" "+string(body))
		w.Header().Set("X-Checksum", "ok")
	})
	srv := httptest.NewUnstartedServer(h2c.NewHandler(h, &http2.Server{}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), conns
}

// proto h2: clients' requests reach the server over HTTP/2, one
// connection carrying them all; bodies, trailers and Host pass through.
func TestProtoH2ToServers(t *testing.T) {
	addr, conns := h2cSite(t, "a")
	s := srv("a", addr)
	s.Proto = "h2"
	c := cluster(s)
	c.Frontends[0].Mode, c.Backends[0].Mode = config.ModeHTTP, config.ModeHTTP
	e := start(t, c)
	cl := client()
	for i := range 5 {
		req, _ := http.NewRequest("POST", e.url("/x?y=1"), strings.NewReader("hello"))
		req.Host = "api.example"
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "HTTP/2.0 api.example hello" || resp.Header.Get("X-Served-By") != "a" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	// Trailers reach an HTTP/2 client (gRPC's status travels there); an
	// HTTP/1 client of a response with a Content-Length gets none, as
	// from HAProxy.
	for range 2 {
		resp, err := h2cClient().Post(e.url("/"), "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.Trailer.Get("X-Checksum") != "ok" {
			t.Errorf("HTTP/2 client: %s, trailers %v, want X-Checksum ok", resp.Proto, resp.Trailer)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d HTTP/2 connections to the server for 7 requests, want 1", n)
	}
}

// A TLS server that negotiates h2 by ALPN gets HTTP/2.
func TestALPNH2ToServers(t *testing.T) {
	ca := newTestCA(t)
	file, _ := ca.issue(t, t.TempDir(), "srv.pem", false, false, "api.internal")
	cert, _ := tls.LoadX509KeyPair(file, file)
	srvh := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" "+r.TLS.NegotiatedProtocol)
	}))
	srvh.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srvh.EnableHTTP2 = true
	srvh.StartTLS()
	t.Cleanup(srvh.Close)
	s := srv("a", srvh.Listener.Addr().String())
	s.TLS = &config.ServerTLS{CA: "ca.pem", VerifyHost: "api.internal", ALPN: []string{"h2", "http/1.1"}}
	c := cluster(s)
	c.Frontends[0].Mode, c.Backends[0].Mode = config.ModeHTTP, config.ModeHTTP
	c.Files = map[string]string{"ca.pem": string(ca.pem)}
	e := start(t, c)
	for range 3 {
		if code, body, _ := get(t, client(), e.url("/")); code != 200 || body != "HTTP/2.0 h2" {
			t.Fatalf("got %d %q, want HTTP/2 over TLS", code, body)
		}
	}
}
