package balancer

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// BenchmarkHTTPSKeepAlive is BenchmarkHTTPKeepAlive over TLS 1.3 (ECDSA
// P-256, X25519, AES-128-GCM as wrk and OpenSSL negotiate): the balancer's
// cost per HTTPS keep-alive request beside bench/tls.sh's comparison with
// HAProxy (the client's TLS is in the same process: compare profiles, not
// totals).
func BenchmarkHTTPSKeepAlive(b *testing.B) {
	cert := benchCertFile(b, "bench.example")
	s1, s2 := rawHTTPBackend(b, "hello from server1\n"), rawHTTPBackend(b, "hello from server2\n")
	c := cluster(srv("s1", s1), srv("s2", s2))
	c.Frontends[0].TLS = &config.TLS{Certificates: []string{cert}}
	e := startBench(b, c)
	addr := e.addr("fe")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		raw := newBenchClient(b, addr)
		tc := tls.Client(raw.conn, &tls.Config{ServerName: "bench.example", InsecureSkipVerify: true,
			NextProtos: []string{"http/1.1"}, CurvePreferences: []tls.CurveID{tls.X25519},
			CipherSuites: []uint16{tls.TLS_AES_128_GCM_SHA256}})
		cl := &benchClient{conn: tc, br: bufio.NewReader(tc), req: raw.req}
		for pb.Next() {
			if err := cl.do(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchCertFile writes a self-signed ECDSA P-256 certificate for name,
// with its key, to a PEM file and returns its path.
func benchCertFile(tb testing.TB, name string) string {
	tb.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	out := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})...)
	path := filepath.Join(tb.TempDir(), "bench.pem")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
