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
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

// selfSignedPEM is a certificate for name valid from notBefore to
// notAfter, with its key, as PEM.
func selfSignedPEM(t *testing.T, name string, serial int64, notBefore, notAfter time.Time) (certPEM, keyPEM string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}))
}

// servedSerial is the serial of the certificate the frontend serves.
func servedSerial(addr, sni string) (int64, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
}

func TestCertificatesEditedOnce(t *testing.T) {
	s1, s2 := startSite(t, "server1"), startSite(t, "server2")
	ra := startAgent(t, articleConfig(freeAddr(t), 0, s1, s2))
	ctx := context.Background()
	now := time.Now()
	cert1, key1 := selfSignedPEM(t, "www.example.com", 1, now.Add(-time.Hour), now.Add(24*time.Hour))
	// Bad input, each refused with what is wrong.
	_, otherKey := selfSignedPEM(t, "www.example.com", 9, now.Add(-time.Hour), now.Add(time.Hour))
	expired, expiredKey := selfSignedPEM(t, "www.example.com", 8, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	for _, bad := range []struct {
		req  api.CertificateRequest
		want string
	}{
		{api.CertificateRequest{Name: "web", Cert: cert1, Key: otherKey}, "private key does not match"},
		{api.CertificateRequest{Name: "web", Cert: expired, Key: expiredKey}, "expired"},
		{api.CertificateRequest{Name: "web", Cert: cert1, Key: ""}, "no PEM private key"},
		{api.CertificateRequest{Name: "we b", Cert: cert1, Key: key1}, "certificate name"},
	} {
		if err := ra.client.AddCertificate(ctx, bad.req); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("add %q: %v, want an error with %q", bad.req.Name, err, bad.want)
		}
	}
	// A config naming a certificate the store lacks is refused.
	cfg := ra.node.State().Config.Clone()
	tlsFront := config.Frontend{Name: "https", Bind: []string{freeAddr(t)}, Mode: config.ModeHTTP, DefaultBackend: cfg.Backends[0].Name,
		TLS: &config.TLS{Certificates: []string{"web"}}}
	cfg.Frontends = append(cfg.Frontends, tlsFront)
	if _, err := ra.client.ApplyConfig(ctx, api.ApplyRequest{ExpectedVersion: 1, Config: cfg}); err == nil || !strings.Contains(err.Error(), "unknown certificate web") {
		t.Fatalf("config before its certificate: %v", err)
	}
	if err := ra.client.AddCertificate(ctx, api.CertificateRequest{Name: "web", Cert: cert1, Key: key1}); err != nil {
		t.Fatal(err)
	}
	if _, err := ra.client.ApplyConfig(ctx, api.ApplyRequest{ExpectedVersion: 1, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	addr := tlsFront.Bind[0]
	waitFor(t, "certificate 1 served", 5*time.Second, func() bool { s, _ := servedSerial(addr, "www.example.com"); return s == 1 })

	// Renewal under TLS keep-alive load: no request fails, no config version.
	var failed, done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.example.com", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
			if err != nil {
				failed.Add(1)
				return
			}
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				select {
				case <-stop:
					return
				default:
				}
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
				c.SetReadDeadline(time.Now().Add(3 * time.Second))
				n, err := c.Read(buf)
				if err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
					failed.Add(1)
					return
				}
				done.Add(1)
			}
		}()
	}
	cert2, key2 := selfSignedPEM(t, "www.example.com", 2, now.Add(-time.Hour), now.Add(48*time.Hour))
	renewed := time.Now()
	if err := ra.client.AddCertificate(ctx, api.CertificateRequest{Name: "web", Cert: cert2, Key: key2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the renewed certificate served", 5*time.Second, func() bool { s, _ := servedSerial(addr, "www.example.com"); return s == 2 })
	if d := time.Since(renewed); d > time.Second {
		t.Errorf("the renewal took %v to be served, want under a second", d)
	}
	time.Sleep(100 * time.Millisecond) // requests keep flowing on the connections opened before
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || done.Load() == 0 {
		t.Errorf("under renewal: %d requests failed, %d succeeded", failed.Load(), done.Load())
	}
	if v := ra.node.State().Version; v != 2 {
		t.Errorf("config version %d after a renewal, want 2 (unchanged)", v)
	}
	list, err := ra.client.Certificates(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "web" || list[0].Names[0] != "www.example.com" || len(list[0].UsedBy) != 1 {
		t.Errorf("list: %+v %v", list, err)
	}
	if err := ra.client.RemoveCertificate(ctx, "web"); !errors.Is(err, api.ErrConflict) {
		t.Errorf("remove in use: %v, want a conflict", err)
	}
	// The private key is never in the replicated state in plaintext.
	if sc := ra.node.State().Certificates["web"]; strings.Contains(string(sc.SealedKey), "PRIVATE KEY") || sc.Chain != cert2 {
		t.Error("the stored key is in plaintext, or the chain is not the renewed one")
	}
	// HAProxy's usual PEM holds certificate and key: given as both files,
	// the key still never reaches the log, a snapshot or state.json.
	combo := cert2 + key2
	if err := ra.client.AddCertificate(ctx, api.CertificateRequest{Name: "combo", Cert: combo, Key: combo}); err != nil {
		t.Fatal(err)
	}
	if sc := ra.node.State().Certificates["combo"]; strings.Contains(sc.Chain, "PRIVATE KEY") || sc.Chain != cert2 {
		t.Errorf("a combined PEM's chain is stored as %q, want the certificate alone", sc.Chain)
	}
	keyBody := strings.Split(key2, "\n")[1] // a line of the key's base64
	filepath.WalkDir(ra.cfg.Cluster.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), keyBody) {
				t.Errorf("%s holds the private key in plaintext", path)
			}
		}
		return nil
	})
}
