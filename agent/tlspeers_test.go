package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

// Issue 12 item 5 with a whole agent: a certificate renewed under TLS load
// (in the store, and by a new config naming another certificate), and TLS
// to servers with a self-signed CA, with the health check saying why a
// wrong CA is refused.

// tlsLoad is TLS clients of one frontend: keep-alive clients that each
// hold one connection and send request after request, and clients that
// make a new connection (a full handshake) for every request. A request
// fails when it gets no "200" answer; a keep-alive connection the
// balancer closes is a failure too.
type tlsLoad struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	firstErr   error
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startTLSLoad(addr, sni string, keepAlive, fresh int) *tlsLoad {
	l := &tlsLoad{stop: make(chan struct{})}
	conf := &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}
	req := "GET / HTTP/1.1\r\nHost: " + sni + "\r\n\r\n"
	for range keepAlive {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, conf)
			if err != nil {
				l.fail(err)
				return
			}
			defer c.Close()
			buf := make([]byte, 4096)
			for l.running() {
				if err := roundTrip(c, req, buf); err != nil {
					l.fail(err)
					return
				}
				l.ok.Add(1)
			}
		}()
	}
	for range fresh {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			buf := make([]byte, 4096)
			for l.running() {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, conf)
				if err != nil {
					l.fail(err)
					continue
				}
				err = roundTrip(c, "GET / HTTP/1.1\r\nHost: "+sni+"\r\nConnection: close\r\n\r\n", buf)
				c.Close()
				if err != nil {
					l.fail(err)
					continue
				}
				l.ok.Add(1)
				time.Sleep(5 * time.Millisecond) // a bounded handshake rate
			}
		}()
	}
	return l
}

// roundTrip sends req on c and reads the site's whole (small) answer.
func roundTrip(c net.Conn, req string, buf []byte) error {
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return err
	}
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
		return fmt.Errorf("answer %q", buf[:min(n, 40)])
	}
	return nil
}

func (l *tlsLoad) running() bool {
	select {
	case <-l.stop:
		return false
	default:
		return true
	}
}

func (l *tlsLoad) fail(err error) {
	l.failed.Add(1)
	l.mu.Lock()
	if l.firstErr == nil {
		l.firstErr = err
	}
	l.mu.Unlock()
}

func (l *tlsLoad) finish() (ok, failed int64, first error) {
	close(l.stop)
	l.wg.Wait()
	return l.ok.Load(), l.failed.Load(), l.firstErr
}

// A certificate replaced twice under TLS keep-alive and new-connection
// load: in the cluster store (same name, no config change), then by a new
// config that names another certificate. Each is served within a second;
// no request fails, on connections opened before or during the changes.
func TestCertificateRenewalUnderLoad(t *testing.T) {
	s1, s2 := startSite(t, "server1"), startSite(t, "server2")
	ra := startAgent(t, articleConfig(freeAddr(t), 0, s1, s2))
	ctx := context.Background()
	now := time.Now()
	const name = "www.example.com"
	add := func(cert string, serial int64) {
		t.Helper()
		c, k := selfSignedPEM(t, name, serial, now.Add(-time.Hour), now.Add(24*time.Hour))
		if err := ra.client.AddCertificate(ctx, api.CertificateRequest{Name: cert, Cert: c, Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	add("web1", 1)
	add("web2", 3)
	cfg := ra.node.State().Config.Clone()
	addr := freeAddr(t)
	cfg.Frontends = append(cfg.Frontends, config.Frontend{Name: "https", Bind: []string{addr}, Mode: config.ModeHTTP,
		DefaultBackend: cfg.Backends[0].Name, TLS: &config.TLS{Certificates: []string{"web1"}}})
	if _, err := ra.client.ApplyConfig(ctx, api.ApplyRequest{ExpectedVersion: 1, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "certificate 1 served", 5*time.Second, func() bool { s, _ := servedSerial(addr, name); return s == 1 })

	load := startTLSLoad(addr, name, 8, 2)
	served := func(serial int64, what string) {
		t.Helper()
		since := time.Now()
		waitFor(t, what, 5*time.Second, func() bool { s, _ := servedSerial(addr, name); return s == serial })
		if d := time.Since(since); d > time.Second {
			t.Errorf("%s: served after %v, want under a second", what, d)
		}
	}
	time.Sleep(300 * time.Millisecond)
	add("web1", 2) // renewed in the store
	served(2, "the store's renewal")
	time.Sleep(300 * time.Millisecond)
	cfg = ra.node.State().Config.Clone()
	cfg.Frontends[len(cfg.Frontends)-1].TLS.Certificates = []string{"web2"}
	if _, err := ra.client.ApplyConfig(ctx, api.ApplyRequest{ExpectedVersion: ra.node.State().Version, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	served(3, "the new config's certificate")
	time.Sleep(300 * time.Millisecond)
	ok, failed, first := load.finish()
	t.Logf("%d requests answered during the two renewals, %d failed", ok, failed)
	if failed != 0 || ok < 100 {
		t.Errorf("under renewal: %d requests failed (first: %v), %d answered", failed, first, ok)
	}
}

// selfSignedCA is a CA and a server certificate it signed for name, as
// PEM: the CA's certificate, and the server's certificate with its key.
func selfSignedCA(t *testing.T, name string) (caPEM string, server tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "private CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// httpsSite is an HTTPS server answering "NAME" to every request.
func httpsSite(t *testing.T, name string, cert tls.Certificate) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", name)
		io.WriteString(w, name)
	}), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)} // the refused handshakes are the point
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("https site %s: %v", name, err)
		}
	}()
	t.Cleanup(func() { srv.Close(); <-done })
	return l.Addr().String()
}

// TLS to servers whose certificates a private CA signed: the server
// verified with that CA (verify required, ca-file) is checked up and gets
// every request; the one given another CA is refused, checked down, and
// its last check says why; clients see no error.
func TestServerTLSWithAPrivateCA(t *testing.T) {
	caPEM, cert := selfSignedCA(t, "api.internal")
	otherPEM, _ := selfSignedCA(t, "api.internal")
	good, bad := httpsSite(t, "good", cert), httpsSite(t, "bad", cert)
	front := freeAddr(t)
	indent := func(p string) string { return strings.ReplaceAll(strings.TrimSpace(p), "\n", "\n    ") }
	y := `defaults:
  mode: http
  timeouts: {connect: 1s, client: 10s, server: 10s}
frontends:
  - {name: web, bind: ["` + front + `"], default_backend: api}
backends:
  - name: api
    health_check: {type: http, path: /health}
    servers:
      - {name: good, address: "` + good + `", check: true, inter: 200ms, rise: 1, fall: 1, tls: {ca: private-ca.pem, verifyhost: api.internal}}
      - {name: bad, address: "` + bad + `", check: true, inter: 200ms, rise: 1, fall: 1, tls: {ca: other-ca.pem, verifyhost: api.internal}}
files:
  private-ca.pem: |
    ` + indent(caPEM) + `
  other-ca.pem: |
    ` + indent(otherPEM) + "\n"
	c, err := config.Load("cluster.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	ra := startAgent(t, c)
	var st map[string]api.ServerStatus
	waitFor(t, "good up and bad down", 10*time.Second, func() bool {
		s, err := ra.client.Status(context.Background())
		if err != nil {
			return false
		}
		st = map[string]api.ServerStatus{}
		for _, sv := range s.Servers {
			st[sv.Server] = sv
		}
		return st["good"].Routed && st["good"].Agreed == config.HealthUp && !st["bad"].Routed &&
			st["bad"].Agreed == config.HealthDown && st["bad"].LastCheck != ""
	})
	t.Logf("good: %s %q; bad: %s %q", st["good"].Agreed, st["good"].LastCheck, st["bad"].Agreed, st["bad"].LastCheck)
	if want := "certificate signed by unknown authority"; !strings.Contains(st["bad"].LastCheck, want) {
		t.Errorf("bad's last check %q does not say %q", st["bad"].LastCheck, want)
	}
	if !strings.Contains(st["good"].LastCheck, "L7OK") {
		t.Errorf("good's last check %q, want L7OK", st["good"].LastCheck)
	}
	cl := &http.Client{Timeout: 5 * time.Second}
	for i := range 20 {
		resp, err := cl.Get("http://" + front + "/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "good" {
			t.Fatalf("request %d: %d %q, want 200 from good", i, resp.StatusCode, b)
		}
	}
}
