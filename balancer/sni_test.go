package balancer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// testCA signs test certificates.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tandem test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

var serial = big.NewInt(100)

// issue writes a certificate for names (with an RSA or ECDSA key) and its
// key, in one PEM file in dir, and returns its path and serial.
func (ca *testCA) issue(t *testing.T, dir, file string, rsaKey, client bool, names ...string) (string, *big.Int) {
	t.Helper()
	var key crypto.Signer
	if rsaKey {
		key, _ = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	serial = new(big.Int).Add(serial, big.NewInt(1))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, file)
	out := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})...)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, tmpl.SerialNumber
}

// handshake connects to addr with TLS for server name sni and returns the
// names of the certificate served and its key type.
func handshake(addr, sni string, conf *tls.Config) ([]string, string, error) {
	if conf == nil {
		conf = &tls.Config{}
	}
	conf = conf.Clone()
	conf.ServerName, conf.InsecureSkipVerify = sni, true
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, conf)
	if err != nil {
		return nil, "", err
	}
	defer c.Close()
	leaf := c.ConnectionState().PeerCertificates[0]
	kind := "ecdsa"
	if _, ok := leaf.PublicKey.(*rsa.PublicKey); ok {
		kind = "rsa"
	}
	return leaf.DNSNames, kind, nil
}

func TestSNIChoosesAmongFiftyCertificates(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	var certs []string
	for i := range 50 {
		p, _ := ca.issue(t, dir, fmt.Sprintf("site%02d.pem", i), false, false, fmt.Sprintf("site%02d.example.com", i))
		certs = append(certs, p)
	}
	wild, _ := ca.issue(t, dir, "wild.pem", false, false, "*.wild.example.com")
	certs = append(certs, wild)
	s := newSite(t, "s", nil)
	c := cluster(srv("s", s.addr()))
	c.Frontends[0].TLS = &config.TLS{Certificates: certs, DefaultCertificate: certs[7]}
	e := start(t, c)
	for i := range 50 {
		name := fmt.Sprintf("site%02d.example.com", i)
		got, _, err := handshake(e.addr("fe"), name, nil)
		if err != nil || len(got) != 1 || got[0] != name {
			t.Fatalf("SNI %s: got %v, %v", name, got, err)
		}
	}
	if got, _, _ := handshake(e.addr("fe"), "a.wild.example.com", nil); len(got) != 1 || got[0] != "*.wild.example.com" {
		t.Errorf("wildcard: got %v", got)
	}
	for _, sni := range []string{"", "unknown.example.com", "a.b.wild.example.com"} {
		if got, _, _ := handshake(e.addr("fe"), sni, nil); len(got) != 1 || got[0] != "site07.example.com" {
			t.Errorf("SNI %q: got %v, want the default certificate", sni, got)
		}
	}
	// The same from openssl, as an operator would check it.
	if _, err := exec.LookPath("openssl"); err == nil {
		out, _ := exec.Command("sh", "-c", fmt.Sprintf("echo | openssl s_client -connect %s -servername site33.example.com 2>/dev/null | openssl x509 -noout -subject", e.addr("fe"))).Output()
		if !strings.Contains(string(out), "site33.example.com") {
			t.Errorf("openssl s_client -servername site33.example.com: %q", out)
		}
	}
}

func TestStrictSNIRefusesUnknownNames(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	a, _ := ca.issue(t, dir, "a.pem", false, false, "a.example.com")
	s := newSite(t, "s", nil)
	c := cluster(srv("s", s.addr()))
	c.Frontends[0].TLS = &config.TLS{Certificates: []string{a}, StrictSNI: true}
	e := start(t, c)
	if _, _, err := handshake(e.addr("fe"), "a.example.com", nil); err != nil {
		t.Fatalf("known name: %v", err)
	}
	for _, sni := range []string{"", "b.example.com"} {
		if _, _, err := handshake(e.addr("fe"), sni, nil); err == nil {
			t.Errorf("SNI %q: handshake succeeded with strict SNI", sni)
		}
	}
}

func TestECDSAOrRSAByClientCapability(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	r, _ := ca.issue(t, dir, "rsa.pem", true, false, "both.example.com")
	ec, _ := ca.issue(t, dir, "ecdsa.pem", false, false, "both.example.com")
	s := newSite(t, "s", nil)
	c := cluster(srv("s", s.addr()))
	c.Frontends[0].TLS = &config.TLS{Certificates: []string{r, ec}}
	e := start(t, c)
	if _, kind, err := handshake(e.addr("fe"), "both.example.com", nil); err != nil || kind != "ecdsa" {
		t.Errorf("a client that supports ECDSA: %s, %v", kind, err)
	}
	rsaOnly := &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}
	if _, kind, err := handshake(e.addr("fe"), "both.example.com", rsaOnly); err != nil || kind != "rsa" {
		t.Errorf("an RSA-only client: %s, %v", kind, err)
	}
}

func TestClientCertificatesVerified(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	srvCert, _ := ca.issue(t, dir, "srv.pem", false, false, "127.0.0.1")
	good, _ := ca.issue(t, dir, "client.pem", false, true, "client")
	bad, badSerial := ca.issue(t, dir, "revoked.pem", false, true, "revoked")
	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: badSerial, RevocationTime: time.Now()}}}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(t, "s", nil)
	for _, verify := range []string{"required", "optional"} {
		c := cluster(srv("s", s.addr()))
		c.Files = map[string]string{"ca.pem": string(ca.pem), "crl.pem": string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crlDER}))}
		c.Frontends[0].TLS = &config.TLS{Certificates: []string{srvCert}, ClientAuth: &config.ClientAuth{Verify: verify, CA: "ca.pem", CRL: "crl.pem"}}
		e := start(t, c)
		get := func(certFile string) error {
			conf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}
			if certFile != "" {
				kp, err := tls.LoadX509KeyPair(certFile, certFile)
				if err != nil {
					t.Fatal(err)
				}
				conf.Certificates = []tls.Certificate{kp}
			}
			c, err := tls.Dial("tcp", e.addr("fe"), conf)
			if err != nil {
				return err
			}
			defer c.Close()
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			b, err := io.ReadAll(c)
			if err == nil && !strings.HasPrefix(string(b), "HTTP/1.1 200") {
				err = fmt.Errorf("got %q", b)
			}
			return err
		}
		if err := get(good); err != nil {
			t.Errorf("verify %s, a valid client certificate: %v", verify, err)
		}
		if err := get(bad); err == nil {
			t.Errorf("verify %s: a revoked certificate was accepted", verify)
		}
		if err := get(""); (err == nil) != (verify == "optional") {
			t.Errorf("verify %s, no certificate: %v", verify, err)
		}
	}
}

func TestTLSTerminationInTCPMode(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	cert, _ := ca.issue(t, dir, "c.pem", false, false, "tcp.example.com")
	back := rawServer(t, func(c net.Conn) { io.Copy(c, c) }) // echo, clear text
	c := cluster(srv("s", back))
	c.Defaults.Mode = config.ModeTCP
	c.Frontends[0].TLS = &config.TLS{Certificates: []string{cert}}
	e := start(t, c)
	conn, err := tls.Dial("tcp", e.addr("fe"), &tls.Config{InsecureSkipVerify: true, ServerName: "tcp.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "ping")
	buf := make([]byte, 4)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through TLS in mode tcp: %q %v", buf, err)
	}
}

func TestSessionResumesOnAnotherNodeWithTheSameSecret(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	cert, _ := ca.issue(t, dir, "c.pem", false, false, "vip.example.com")
	s := newSite(t, "s", nil)
	secret := []byte("0123456789abcdef0123456789abcdef")
	var addrs []string
	for range 2 {
		b, err := New(Config{DrainTimeout: time.Second, TicketSecret: secret}, Deps{})
		if err != nil {
			t.Fatal(err)
		}
		c := cluster(srv("s", s.addr()))
		c.Frontends[0].TLS = &config.TLS{Certificates: []string{cert}}
		if err := b.Apply(Desired{Config: c.Resolve()}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		addrs = append(addrs, c.Frontends[0].Bind[0])
	}
	for _, maxV := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		cache := tls.NewLRUClientSessionCache(4)
		for i, want := range []bool{false, true} {
			conf := &tls.Config{ServerName: "vip.example.com", InsecureSkipVerify: true, ClientSessionCache: cache,
				NextProtos: []string{"http/1.1"}, MaxVersion: maxV}
			c, err := tls.Dial("tcp", addrs[i], conf)
			if err != nil {
				t.Fatal(err)
			}
			// A TLS 1.3 ticket comes after the handshake: read the answer.
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			io.ReadAll(c)
			if got := c.ConnectionState().DidResume; got != want {
				t.Errorf("node %d (max version %x): resumed %v, want %v", i+1, maxV, got, want)
			}
			c.Close()
		}
	}
}
