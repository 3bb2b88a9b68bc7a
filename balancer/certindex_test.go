package balancer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/balancer/tlskey"
	"github.com/tandem-lb/tandem/config"
)

// leafCert is a self-signed certificate with cn and dnsNames, parsed.
func leafCert(t *testing.T, cn string, dnsNames ...string) *tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: dnsNames,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// The names a certificate serves, as HAProxy 2.6 indexes them (found by
// testenv/haproxydiff's TLS test): its SANs and its CN, also when it has
// SANs; a crt-list's "!name" keeps the same line's wildcard from serving
// name, which then gets the default certificate.
func TestCertIndexCommonNameAndExclusions(t *testing.T) {
	certs := map[string]*tls.Certificate{
		"default": leafCert(t, "default.example", "default.example"),
		"c":       leafCert(t, "cn-only.example.net", "c.example.net"),
		"b":       leafCert(t, "b.example.com", "b.example.com", "*.b.example.com"),
		"cnonly":  leafCert(t, "Plain.Example.Org"),
	}
	tc := &config.TLS{Certificates: []string{"default", "c", "b", "cnonly"},
		SNI: []config.SNIFilter{{Certificate: "b", Names: []string{"*.b.example.com", "!x.b.example.com"}}}}
	ix, err := buildCertIndex(tc, nil, func(n string) (*tls.Certificate, error) { return certs[n], nil })
	if err != nil {
		t.Fatal(err)
	}
	for sni, want := range map[string]string{
		"c.example.net":       "c",
		"cn-only.example.net": "c", // the CN beside SANs
		"plain.example.org":   "cnonly",
		"y.b.example.com":     "b",
		"x.b.example.com":     "default", // excluded from the wildcard
		"b.example.com":       "default", // the filter replaces the SANs
		"other.example":       "default",
	} {
		got, err := ix.certificate(&tls.ClientHelloInfo{ServerName: sni})
		if err != nil || got != certs[want] {
			cn := ""
			if got != nil {
				cn = got.Leaf.Subject.CommonName
			}
			t.Errorf("SNI %s: got %q (%v), want certificate %s", sni, cn, err, want)
		}
	}
}

// A frontend's RSA certificates sign with OpenSSL where the build links it
// (balancer/tlskey); ECDSA ones keep Go's key; both still serve their names.
func TestCertIndexRSAKeysSignWithOpenSSL(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "rsa.example"},
		DNSNames: []string{"rsa.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	certs := map[string]*tls.Certificate{
		"rsa":   {Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		"ecdsa": leafCert(t, "ec.example", "ec.example"),
	}
	ix, err := buildCertIndex(&config.TLS{Certificates: []string{"rsa", "ecdsa"}}, nil,
		func(n string) (*tls.Certificate, error) { return certs[n], nil })
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.certificate(&tls.ClientHelloInfo{ServerName: "rsa.example"})
	if err != nil || got.Leaf != leaf {
		t.Fatalf("rsa.example: %v, %v; want the RSA certificate", got, err)
	}
	if _, wrapped := got.PrivateKey.(tlskey.Signer); wrapped != tlskey.Available() {
		t.Errorf("RSA key is a %T; OpenSSL in this build: %v", got.PrivateKey, tlskey.Available())
	}
	if ec, _ := ix.certificate(&tls.ClientHelloInfo{ServerName: "ec.example"}); ec != certs["ecdsa"] {
		t.Error("the ECDSA certificate was replaced")
	}
}
