// Package pebble runs Let's Encrypt's test CA, pebble (Debian's package),
// for the ACME tests: a real ACME server on a local address, with a DNS
// responder of the test's own that tells pebble where each name lives, so
// a test decides which LB node the CA's validation reaches.
//
// Need installs pebble with apt-get when the test runs as root and it is
// missing; a normal user without it skips, and under CI=true a test that
// cannot run pebble fails instead of skipping.
//
// Everything listens on the addresses the test gives (loopback or its own
// namespaces' bridge) and is stopped in t.Cleanup. It must not be imported
// by the agent's code paths.
package pebble

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/tandem-lb/tandem/testenv/debian"
)

// Need makes sure the pebble binary is there (installing Debian's package
// as root) and returns its path; it skips the test otherwise, or fails it
// under CI=true.
func Need(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("pebble"); err == nil {
		return p
	}
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	if os.Geteuid() != 0 {
		fail("needs Debian's pebble (apt-get install pebble), or root to install it")
		return ""
	}
	if err := debian.Install("pebble"); err != nil {
		fail("install pebble: %v", err)
		return ""
	}
	p, err := exec.LookPath("pebble")
	if err != nil {
		fail("pebble installed but not found: %v", err)
	}
	return p
}

// Options shape a CA.
type Options struct {
	// Host is the address the ACME directory listens on (the LB nodes
	// must reach it).
	Host string
	// HTTPPort and TLSPort are where pebble validates HTTP-01 and
	// TLS-ALPN-01 challenges on the address a name resolves to.
	HTTPPort, TLSPort int
	// Validity is the lifetime of the certificates (0: pebble's 5 years).
	Validity time.Duration
	// Resolve answers pebble's A queries; false: NXDOMAIN.
	Resolve func(name string) (netip.Addr, bool)
}

// CA is a running pebble.
type CA struct {
	// Directory is the ACME directory URL.
	Directory string
	// ServerRootPEM signs the directory's HTTPS certificate: what
	// tandem's acme.ca_roots names.
	ServerRootPEM string

	t       testing.TB
	bin     string
	args    []string
	env     []string
	mgmt    string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs pebble and its DNS responder; t.Cleanup stops both.
func Start(t testing.TB, opts Options) *CA {
	t.Helper()
	bin := Need(t)
	dir := t.TempDir()
	dnsAddr := startDNS(t, opts.Resolve)
	certPEM, keyPEM := serverCert(t, opts.Host)
	must(t, os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600))
	listen := net.JoinHostPort(opts.Host, strconv.Itoa(freePort(t, opts.Host)))
	mgmt := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t, "127.0.0.1")))
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": filepath.Join(dir, "cert.pem"), "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": opts.HTTPPort, "tlsPort": opts.TLSPort, "ocspResponderURL": "",
		"externalAccountBindingRequired": false, "certificateValidityPeriod": int(opts.Validity / time.Second),
	}}
	b, _ := json.Marshal(conf)
	must(t, os.WriteFile(filepath.Join(dir, "pebble.json"), b, 0o600))
	ca := &CA{Directory: "https://" + listen + "/dir", ServerRootPEM: string(certPEM), t: t, bin: bin, mgmt: mgmt,
		args:    []string{"-config", filepath.Join(dir, "pebble.json"), "-dnsserver", dnsAddr},
		env:     append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"),
		logPath: filepath.Join(dir, "pebble.log")}
	t.Cleanup(func() {
		ca.Stop()
		if t.Failed() {
			if b, err := os.ReadFile(ca.logPath); err == nil {
				t.Logf("=== pebble log ===\n%s", tail(b, 8000))
			}
		}
	})
	ca.Run()
	return ca
}

// Run starts pebble (again, after Stop: a new CA with new roots and no
// accounts) and waits until its directory answers.
func (ca *CA) Run() {
	ca.t.Helper()
	ca.mu.Lock()
	logf, err := os.OpenFile(ca.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		ca.mu.Unlock()
		ca.t.Fatal(err)
	}
	cmd := exec.Command(ca.bin, ca.args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = ca.env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		ca.mu.Unlock()
		ca.t.Fatalf("start pebble: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	ca.cmd, ca.done = cmd, done
	ca.mu.Unlock()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(ca.ServerRootPEM))
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get(ca.Directory)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			ca.t.Fatalf("pebble exited at start; see its log %s", ca.logPath)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			ca.t.Fatalf("pebble's directory %s did not answer: %v", ca.Directory, err)
		}
	}
}

// Stop kills pebble (the CA becomes unreachable); no-op when stopped.
func (ca *CA) Stop() {
	ca.mu.Lock()
	cmd, done := ca.cmd, ca.done
	ca.cmd = nil
	ca.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// IssuerRoots are the roots pebble signs certificates with (they change
// at every Run).
func (ca *CA) IssuerRoots() *x509.CertPool {
	ca.t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	pool := x509.NewCertPool()
	for _, p := range []string{"/roots/0", "/intermediates/0"} {
		resp, err := client.Get("https://" + ca.mgmt + p)
		if err != nil {
			ca.t.Fatalf("pebble management %s: %v", p, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if p == "/roots/0" && !pool.AppendCertsFromPEM(b) {
			ca.t.Fatalf("pebble %s: no PEM certificate: %q", p, b)
		}
	}
	return pool
}

// startDNS answers A queries with resolve's address; everything else
// gets an empty answer. It returns the UDP address.
func startDNS(t testing.TB, resolve func(string) (netip.Addr, bool)) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		for _, q := range req.Question {
			name := strings.TrimSuffix(strings.ToLower(q.Name), ".")
			addr, ok := resolve(name)
			if !ok {
				m.Rcode = dns.RcodeNameError
				continue
			}
			if q.Qtype == dns.TypeA && addr.Is4() {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0}, A: addr.AsSlice()})
			}
		}
		_ = w.WriteMsg(m)
	})}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown(); <-done })
	return pc.LocalAddr().String()
}

// serverCert is a self-signed certificate for pebble's HTTPS listener.
func serverCert(t testing.TB, host string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "pebble test server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP(host), net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func freePort(t testing.TB, host string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	must(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return fmt.Sprintf("%s", b)
}
