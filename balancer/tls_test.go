package balancer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tandem test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func TestTLSFrontendServesHTTP2AndHTTP1(t *testing.T) {
	var proto, xfp string
	a := newSite(t, "a", func(w http.ResponseWriter, r *http.Request) {
		proto, xfp = r.Proto, r.Header.Get("X-Forwarded-Proto")
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "a:%s", b)
	})
	cert, key := selfSigned(t)
	c := cluster(srv("a", a.addr()))
	c.Frontends[0].TLS = &config.TLS{Cert: cert, Key: key}
	c.Defaults.ForwardFor = ptr(true)
	e := start(t, c)
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := cl.Post("https://"+e.addr("fe")+"/", "text/plain", strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantMajor := 1
		if h2 {
			wantMajor = 2
		}
		if resp.ProtoMajor != wantMajor || string(body) != "a:body" || resp.StatusCode != 200 {
			t.Errorf("h2=%v: %s %d %q", h2, resp.Proto, resp.StatusCode, body)
		}
		if proto != "HTTP/1.1" || xfp != "https" {
			t.Errorf("h2=%v: server saw %s with X-Forwarded-Proto %q, want HTTP/1.1 and https", h2, proto, xfp)
		}
	}
}

func TestApplyNamesUnreadableCertificate(t *testing.T) {
	a := newSite(t, "a", nil)
	e := start(t, cluster(srv("a", a.addr())))
	c := cluster(srv("a", a.addr()))
	c.Frontends[0].TLS = &config.TLS{Cert: "/nonexistent/cert.pem", Key: "/nonexistent/key.pem"}
	err := e.b.Apply(Desired{Config: c.Resolve()})
	if err == nil || !strings.Contains(err.Error(), "frontend fe") || !strings.Contains(err.Error(), "/nonexistent/cert.pem") {
		t.Errorf("Apply: %v, want an error naming the frontend and the file", err)
	}
}

func TestIdleKeepAliveConnectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2000 connections")
	}
	const n = 2000
	addr := rawHTTPBackend(t, "ok")
	c := cluster(srv("a", addr))
	e := start(t, c)
	conns := make([]*benchClient, 0, n)
	warm := newBenchClient(t, e.addr("fe"))
	warm.do()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		bc := newBenchClient(t, e.addr("fe"))
		if err := bc.do(); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, bc)
	}
	waitFor(t, "all connections idle", 10*time.Second, func() bool {
		return e.b.Stats().Frontends[0].CurConns == n+1
	})
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := (after.HeapInuse + after.StackInuse) - (before.HeapInuse + before.StackInuse)
	per := used / n
	t.Logf("%d bytes per idle keep-alive client connection (balancer and test client together)", per)
	if per > 32<<10 {
		t.Errorf("%d bytes per idle connection, want <= 32 KiB", per)
	}
	for _, bc := range conns {
		if err := bc.do(); err != nil {
			t.Fatalf("idle connection unusable: %v", err)
		}
	}
}
