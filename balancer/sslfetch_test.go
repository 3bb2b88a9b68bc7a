package balancer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// clientCert is a client certificate of ca with a subject of several RDNs.
func clientCert(t *testing.T, ca *testCA) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	subject := pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "FR"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Example, Inc"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: "ops"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: "lb"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "client one"},
	}}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x1234), Subject: subject, NotBefore: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// With verify required, ssl_c_* describe the client's certificate to the
// rules, as HAProxy's: the subject in OpenSSL's one-line form, an entry,
// RFC 2253, the issuer, serial, dates, algorithms, and the session.
func TestClientCertificateFetchesReachTheServer(t *testing.T) {
	ca := newTestCA(t)
	srvCert, _ := ca.issue(t, t.TempDir(), "srv.pem", false, false, "lb.example")
	var mu sync.Mutex
	var got http.Header
	s := newSite(t, "s", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
	})
	c := cluster(srv("s", s.addr()))
	c.Frontends[0].Mode = config.ModeHTTP
	c.Files = map[string]string{"ca.pem": string(ca.pem)}
	c.Frontends[0].TLS = &config.TLS{Certificates: []string{srvCert}, ALPN: []string{"http/1.1"}, ClientAuth: &config.ClientAuth{Verify: "required", CA: "ca.pem"}}
	c.Frontends[0].Rules.HTTPRequest = []string{
		"set-header X-DN %[ssl_c_s_dn]",
		"set-header X-CN %[ssl_c_s_dn(CN)]",
		"set-header X-OU-last %[ssl_c_s_dn(OU,-1)]",
		"set-header X-OU-first %[ssl_c_s_dn(OU)]",
		"set-header X-DN-2253 %[ssl_c_s_dn(,0,rfc2253)]",
		"set-header X-Issuer %[ssl_c_i_dn]",
		"set-header X-Serial %[ssl_c_serial,hex]",
		"set-header X-Not-Before %[ssl_c_notbefore]",
		"set-header X-Used %[ssl_c_used]",
		"set-header X-Verify %[ssl_c_verify]",
		"set-header X-Alg %[ssl_c_sig_alg]/%[ssl_c_key_alg]/%[ssl_c_version]",
		"set-header X-Cipher %[ssl_fc_cipher]/%[ssl_fc_use_keysize]/%[ssl_fc_has_sni]",
	}
	e := start(t, c)
	conf := &tls.Config{InsecureSkipVerify: true, ServerName: "lb.example", Certificates: []tls.Certificate{clientCert(t, ca)},
		MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
	conn, err := tls.Dial("tcp", e.addr("fe"), conf)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if b, _ := io.ReadAll(conn); !strings.HasPrefix(string(b), "HTTP/1.1 200") {
		t.Fatalf("response %q", b)
	}
	conn.Close()
	mu.Lock()
	defer mu.Unlock()
	want := map[string]string{
		"X-Dn":         "/C=FR/O=Example, Inc/OU=ops/OU=lb/CN=client one",
		"X-Cn":         "client one",
		"X-Ou-Last":    "lb",
		"X-Ou-First":   "ops",
		"X-Dn-2253":    `CN=client one,OU=lb,OU=ops,O=Example\, Inc,C=FR`,
		"X-Issuer":     "/CN=tandem test CA",
		"X-Serial":     "1234",
		"X-Not-Before": "260102030405Z",
		"X-Verify":     "0",
		"X-Used":       "1",
		"X-Alg":        "ecdsa-with-SHA256/id-ecPublicKey/3",
		"X-Cipher":     "ECDHE-ECDSA-AES128-GCM-SHA256/128/1",
	}
	for k, v := range want {
		if g := got.Get(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
}
