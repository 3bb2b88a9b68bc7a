package tlskey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"testing"
	"time"
)

// selfSigned makes a certificate for bench.example with key k.
func selfSigned(t testing.TB, k crypto.Signer) *tls.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench.example"},
		DNSNames: []string{"bench.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k, Leaf: leaf}
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// wrapped is Wrap(c), checked to hold OpenSSL's signer where the build
// has it and the Go key otherwise.
func wrapped(t testing.TB, c *tls.Certificate) crypto.Signer {
	t.Helper()
	s := Wrap(c).PrivateKey.(crypto.Signer)
	_, isOpenSSL := s.(*opensslSigner)
	if isOpenSSL != Available() {
		t.Fatalf("Wrap gave a %T, but OpenSSL available = %v", s, Available())
	}
	if c.PrivateKey == s && Available() {
		t.Fatal("Wrap modified the certificate it was given")
	}
	return s
}

// Every signature the signer makes verifies with Go's crypto/rsa: both
// paddings, every hash TLS uses, every PSS salt length Go expresses.
func TestSignaturesVerifyWithGo(t *testing.T) {
	if os.Getenv("CI") == "true" && !Available() {
		t.Fatal("built without OpenSSL, which the product binary links (make test passes -tags openssl; CI=true: this must be tested)")
	}
	k := rsaKey(t)
	s := wrapped(t, selfSigned(t, k))
	t.Logf("RSA signatures: %s", Backend())
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512, crypto.SHA1, crypto.MD5SHA1} {
		dg := make([]byte, h.Size()) // what is signed is a digest, of anything
		rand.Read(dg)
		for _, opts := range []crypto.SignerOpts{
			h,
			&rsa.PSSOptions{Hash: h, SaltLength: rsa.PSSSaltLengthEqualsHash},
			&rsa.PSSOptions{Hash: h, SaltLength: rsa.PSSSaltLengthAuto},
			&rsa.PSSOptions{Hash: h, SaltLength: 20},
		} {
			_, pss := opts.(*rsa.PSSOptions)
			if pss && h == crypto.MD5SHA1 {
				continue // not a PSS hash
			}
			name := fmt.Sprintf("%v/%T", h, opts)
			if o, ok := opts.(*rsa.PSSOptions); ok {
				name += fmt.Sprintf("/salt%d", o.SaltLength)
			}
			t.Run(name, func(t *testing.T) {
				// OpenSSL draws its own salt and blinding: with a source
				// of randomness that fails, only Go's fallback fails.
				var r io.Reader = rand.Reader
				if Available() && h != crypto.SHA1 && h != crypto.MD5SHA1 {
					r = failingReader{}
				}
				sig, err := s.Sign(r, dg, opts)
				if err != nil {
					t.Fatal(err)
				}
				if pss {
					err = rsa.VerifyPSS(&k.PublicKey, h, dg, sig, opts.(*rsa.PSSOptions))
				} else {
					err = rsa.VerifyPKCS1v15(&k.PublicKey, h, dg, sig)
				}
				if err != nil {
					t.Fatalf("signature does not verify: %v", err)
				}
			})
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no randomness here") }

// A digest whose length does not match its hash is refused, as Go refuses it.
func TestWrongDigestLengthIsRefused(t *testing.T) {
	s := wrapped(t, selfSigned(t, rsaKey(t)))
	if _, err := s.Sign(rand.Reader, make([]byte, 31), crypto.SHA256); err == nil {
		t.Fatal("a 31-byte SHA-256 digest was signed")
	}
}

func TestNonRSAKeysAreUnchanged(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := selfSigned(t, k)
	if w := Wrap(c); w != c {
		t.Fatalf("Wrap(ECDSA) = %p; want the certificate itself", w)
	}
}

// Full TLS 1.3 and 1.2 handshakes with a wrapped RSA certificate: the
// client verifies the server's signature over the handshake.
func TestHandshakesWithWrappedKey(t *testing.T) {
	c := selfSigned(t, rsaKey(t))
	w := Wrap(c)
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*w}, MinVersion: v, MaxVersion: v})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			done := make(chan error, 1)
			go func() {
				sc, err := ln.Accept()
				if err == nil {
					err = sc.(*tls.Conn).Handshake()
					sc.Close()
				}
				done <- err
			}()
			cc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(),
				&tls.Config{ServerName: "bench.example", RootCAs: pool, MinVersion: v, MaxVersion: v})
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if got := cc.ConnectionState().Version; got != v {
				t.Errorf("version %s, want %s", tls.VersionName(got), tls.VersionName(v))
			}
			cc.Close()
			if err := <-done; err != nil {
				t.Fatalf("server side: %v", err)
			}
		})
	}
}

// BenchmarkSign compares one TLS 1.3 CertificateVerify signature (RSA-PSS,
// SHA-256) by Go's crypto/rsa and by the wrapped signer.
func BenchmarkSign(b *testing.B) {
	k := rsaKey(b)
	dg := make([]byte, 32)
	opts := &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}
	for name, s := range map[string]crypto.Signer{"go": k, "wrapped": wrapped(b, selfSigned(b, k))} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Sign(rand.Reader, dg, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// One key signs for many handshakes at once: every signature made
// concurrently verifies.
func TestConcurrentSignatures(t *testing.T) {
	k := rsaKey(t)
	s := wrapped(t, selfSigned(t, k))
	opts := &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			var err error
			for i := 0; i < 10 && err == nil; i++ {
				dg := make([]byte, 32)
				rand.Read(dg)
				var sig []byte
				if sig, err = s.Sign(rand.Reader, dg, opts); err == nil {
					err = rsa.VerifyPSS(&k.PublicKey, crypto.SHA256, dg, sig, opts)
				}
			}
			errs <- err
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
