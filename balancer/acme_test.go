package balancer

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// fakeChallenges stands in for package acme's Answers (which reads the
// replicated state; the balancer must not import it).
type fakeChallenges struct {
	host, token, keyAuth string
	alpnName             string
	alpnCert             *tls.Certificate
}

func (f fakeChallenges) HTTPChallenge(host, token string) (string, bool) {
	return f.keyAuth, host == f.host && token == f.token
}

func (f fakeChallenges) TLSALPNChallenge(name string) (*tls.Certificate, bool) {
	return f.alpnCert, name == f.alpnName && f.alpnCert != nil
}

func TestACMETokenOfATarget(t *testing.T) {
	tests := []struct {
		target, token string
		ok            bool
	}{
		{"/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", true},
		{"/.well-known/acme-challenge/a-b_C9", "a-b_C9", true},
		{"/.well-known/acme-challenge/", "", false},                            // no token
		{"/.well-known/acme-challenge/tok?x=1", "", false},                     // query
		{"/.well-known/acme-challenge/tok/more", "", false},                    // a path below
		{"/.well-known/acme-challenge/to%2Fk", "", false},                      // escapes are not base64url
		{"/.well-known/acme-challenge/tok=", "", false},                        // padding is not base64url
		{"http://h/.well-known/acme-challenge/tok", "", false},                 // absolute form: not what a CA sends
		{"/.WELL-KNOWN/acme-challenge/tok", "", false},                         // paths are case-sensitive
		{"/x/.well-known/acme-challenge/tok", "", false},                       // not at the root
		{"/.well-known/acme-challenge/" + strings.Repeat("a", 257), "", false}, // too long
	}
	for _, tt := range tests {
		tok, ok := acmeToken([]byte(tt.target))
		if tok != tt.token || ok != tt.ok {
			t.Errorf("acmeToken(%q) = %q, %v; want %q, %v", tt.target, tok, ok, tt.token, tt.ok)
		}
	}
	for in, want := range map[string]string{"www.example.com:80": "www.example.com", "www.example.com": "www.example.com", "[::1]:80": "[::1]:80", "": ""} {
		if got := hostOnly([]byte(in)); got != want {
			t.Errorf("hostOnly(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzACMEChallengePath(f *testing.F) {
	for _, s := range []string{"/.well-known/acme-challenge/tok", "/.well-known/acme-challenge/", "/.well-known/acme-challenge/a?b",
		"/.well-known/acme-challenge/a/b", "/", "", "/.well-known/acme-challenge/" + strings.Repeat("x", 300), "/.well-known/acme-challenge/\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, target []byte) {
		tok, ok := acmeToken(target)
		if !ok {
			if tok != "" {
				t.Fatalf("not a challenge but token %q", tok)
			}
			return
		}
		if acmeChallengePrefix+tok != string(target) || tok == "" || len(tok) > 256 {
			t.Fatalf("token %q of %q", tok, target)
		}
		for _, c := range tok {
			if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", c) {
				t.Fatalf("token %q has %q", tok, c)
			}
		}
	})
}

// startACME runs a balancer that answers challenges from src.
func startACME(t *testing.T, src ChallengeSource, d Desired) *Balancer {
	t.Helper()
	b, err := New(Config{DrainTimeout: time.Second}, Deps{ACME: src})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(d); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return b
}

func rawGet(t *testing.T, addr, host, path string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestACMEChallengesAnsweredBeforeRulesAndByALPN(t *testing.T) {
	site := newSite(t, "s1", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "from the server") })
	ca := newTestCA(t)
	dir := t.TempDir()
	alpnPath, _ := ca.issue(t, dir, "alpn.pem", false, false, "www.example.com")
	alpn, err := loadCertFile(alpnPath, "")
	if err != nil {
		t.Fatal(err)
	}
	src := fakeChallenges{host: "www.example.com", token: "tok-1", keyAuth: "tok-1.thumbprint", alpnName: "www.example.com", alpnCert: alpn}
	c := cluster(srv("s1", site.addr()))
	c.Frontends[0].HTTPRequest = []string{"deny if { path_beg /.well-known/ }"} // a rule that would hide the challenge
	c.Frontends = append(c.Frontends, config.Frontend{Name: "tls", Bind: []string{freeAddr()}, DefaultBackend: "be", TLS: &config.TLS{}})
	c.ACME = &config.ACME{Names: []string{"www.example.com"}, FromFrontends: []string{"tls"}}
	resolved := c.Resolve()
	b := startACME(t, src, Desired{Config: resolved})
	snap := b.cur.Load()
	httpAddr := snap.frontends["fe"].listeners[0].ln.Addr().String()
	tlsAddr := snap.frontends["tls"].listeners[0].ln.Addr().String()

	// HTTP-01: answered before the deny rule, for the right host and token only.
	if code, body := rawGet(t, httpAddr, "www.example.com:80", "/.well-known/acme-challenge/tok-1"); code != 200 || body != "tok-1.thumbprint" {
		t.Errorf("challenge: %d %q", code, body)
	}
	for _, miss := range [][2]string{{"www.example.com", "/.well-known/acme-challenge/other"}, {"api.example.com", "/.well-known/acme-challenge/tok-1"}} {
		if code, _ := rawGet(t, httpAddr, miss[0], miss[1]); code != 403 {
			t.Errorf("host %s %s (no such challenge): %d, want the rules' 403", miss[0], miss[1], code)
		}
	}
	if code, body := rawGet(t, httpAddr, "www.example.com", "/"); code != 200 || body != "from the server" {
		t.Errorf("ordinary request: %d %q", code, body)
	}

	// TLS-ALPN-01 on a frontend that has no certificate yet.
	conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"acme-tls/1"}, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("acme-tls/1 handshake: %v", err)
	}
	st := conn.ConnectionState()
	conn.Close()
	if st.NegotiatedProtocol != "acme-tls/1" || st.PeerCertificates[0].SerialNumber.Cmp(alpn.Leaf.SerialNumber) != 0 {
		t.Errorf("acme-tls/1: protocol %q, serial %v", st.NegotiatedProtocol, st.PeerCertificates[0].SerialNumber)
	}
	if _, _, err := handshake(tlsAddr, "www.example.com", nil); err == nil {
		t.Error("an ordinary handshake succeeded before any certificate was obtained")
	}

	// The ACME certificate arrives in the store: served at once, same config.
	certPath, serial := ca.issue(t, dir, "www.pem", false, false, "www.example.com")
	cert, err := loadCertFile(certPath, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(Desired{Config: resolved, Certificates: map[string]*tls.Certificate{config.ACMECertificateName("www.example.com"): cert}}); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	tc, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: "www.example.com", RootCAs: pool})
	if err != nil {
		t.Fatalf("handshake after the certificate arrived: %v", err)
	}
	if got := tc.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(serial) != 0 {
		t.Errorf("served serial %v, want %v", got, serial)
	}
	tc.Close()
	if stats := b.Certificates(); len(stats) != 1 || stats[0].Name != "acme:www.example.com" {
		t.Errorf("certificates served: %+v", stats)
	}
}
