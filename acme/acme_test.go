package acme

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/testenv/pebble"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNode runs a one-node cluster (real Raft on a temp dir) and waits
// for its leadership.
func startNode(t *testing.T) *cluster.Node {
	t.Helper()
	n, err := cluster.New(cluster.Config{Node: "n1", DataDir: t.TempDir(), BindAddr: "127.0.0.1",
		GossipPort: freePort(t), RaftPort: freePort(t), APIAddr: "127.0.0.1:8404", ClusterKey: testKey}, cluster.Deps{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node Run: %v", err)
		}
	})
	waitFor(t, "a leader", 10*time.Second, func() bool { return n.Raft().Leader != "" })
	return n
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStorageOnTheReplicatedState(t *testing.T) {
	n := startNode(t)
	s := newStorage(n, testKey, "n1", time.Second, testLogger())
	defer s.close()
	ctx := context.Background()
	key := []byte("-----BEGIN EC PRIVATE KEY-----\nsecret\n-----END EC PRIVATE KEY-----\n")
	for k, v := range map[string][]byte{"certificates/ca/www/www.crt": []byte("cert"), "certificates/ca/www/www.key": key,
		"certificates/ca/api/api.crt": []byte("cert2"), "acme/ca/account.json": []byte("{}")} {
		if err := s.Store(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Load(ctx, "certificates/ca/www/www.key"); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("load key: %q %v", got, err)
	}
	if v := n.State().ACME.Values["certificates/ca/www/www.key"]; !v.Sealed || bytes.Contains(v.Value, []byte("PRIVATE KEY")) || bytes.Contains(v.Value, []byte("secret")) {
		t.Fatal("a private key is in the replicated state in plaintext")
	}
	if _, err := s.Load(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("load of a missing key: %v, want fs.ErrNotExist", err)
	}
	list, err := s.List(ctx, "certificates/ca", false)
	if want := []string{"certificates/ca/api", "certificates/ca/www"}; err != nil || !slices.Equal(list, want) {
		t.Errorf("List non-recursive = %v %v, want %v", list, err, want)
	}
	list, err = s.List(ctx, "certificates", true)
	if err != nil || len(list) != 3 {
		t.Errorf("List recursive = %v %v", list, err)
	}
	if info, err := s.Stat(ctx, "certificates/ca/www"); err != nil || info.IsTerminal {
		t.Errorf("Stat of a directory = %+v %v", info, err)
	}
	if info, err := s.Stat(ctx, "certificates/ca/www/www.crt"); err != nil || !info.IsTerminal || info.Size != 4 {
		t.Errorf("Stat of a file = %+v %v", info, err)
	}
	if err := s.Delete(ctx, "certificates/ca/www"); err != nil {
		t.Fatal(err)
	}
	if s.Exists(ctx, "certificates/ca/www/www.crt") || !s.Exists(ctx, "certificates/ca/api") {
		t.Error("deleting a directory removed the wrong keys")
	}
	if err := s.Delete(ctx, "certificates/ca/www"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second delete: %v", err)
	}
}

func TestLockOfADeadNodeExpiresAndPasses(t *testing.T) {
	n := startNode(t)
	ttl := 600 * time.Millisecond
	a := newStorage(n, testKey, "a", ttl, testLogger())
	b := newStorage(n, testKey, "b", ttl, testLogger())
	defer b.close()
	ctx := context.Background()
	if err := a.Lock(ctx, "issue_cert_www"); err != nil {
		t.Fatal(err)
	}
	// The holder keeps it past its TTL while alive.
	if ok, err := b.TryLock(ctx, "issue_cert_www"); ok || err != nil {
		t.Fatalf("TryLock while a holds it: %v %v", ok, err)
	}
	exp0 := n.State().ACME.Locks["issue_cert_www"].Expires
	waitFor(t, "the lock's first expiry to pass, refreshed", 5*time.Second, func() bool {
		return time.Now().After(exp0) && n.State().ACME.Locks["issue_cert_www"].Expires.After(exp0)
	})
	if ok, _ := b.TryLock(ctx, "issue_cert_www"); ok {
		t.Fatal("b took the lock while a was refreshing it")
	}
	// a dies (no unlock, no more refreshes): b waits, then gets it.
	a.close()
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.Lock(lctx, "issue_cert_www"); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 3*ttl {
		t.Errorf("b waited %v for a dead holder's lock, TTL %v", waited, ttl)
	}
	if l := n.State().ACME.Locks["issue_cert_www"]; l.Owner != "b" {
		t.Errorf("lock owner %q, want b", l.Owner)
	}
	if err := b.Unlock(ctx, "issue_cert_www"); err != nil {
		t.Fatal(err)
	}
	if _, held := n.State().ACME.Locks["issue_cert_www"]; held {
		t.Error("the lock is still held after Unlock")
	}
	// A released lock is taken at once; ctx ends a wait.
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	if err := b.Lock(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	c := newStorage(n, testKey, "c", ttl, testLogger())
	defer c.close()
	if err := c.Lock(short, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock with an ending context: %v", err)
	}
}

// challengeServer answers HTTP-01 and TLS-ALPN-01 from Answers as the
// balancer does (balancer/acme.go), on the ports pebble validates.
func challengeServer(t *testing.T, ans *Answers, httpPort, tlsPort int) {
	t.Helper()
	hl, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(httpPort))
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.URL.Path, "/.well-known/acme-challenge/")
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if ka, found := ans.HTTPChallenge(host, token); ok && found {
			io.WriteString(w, ka)
			return
		}
		http.NotFound(w, r)
	})}
	tl, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(tlsPort))
	if err != nil {
		t.Fatal(err)
	}
	ts := &http.Server{TLSConfig: &tls.Config{GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		if c, ok := ans.TLSALPNChallenge(chi.ServerName); ok && slices.Equal(chi.SupportedProtos, []string{"acme-tls/1"}) {
			return &tls.Config{Certificates: []tls.Certificate{*c}, NextProtos: []string{"acme-tls/1"}}, nil
		}
		return nil, errors.New("no challenge")
	}}}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = hs.Serve(hl) }()
	go func() { defer wg.Done(); _ = ts.ServeTLS(tl, "", "") }()
	t.Cleanup(func() { hs.Close(); ts.Close(); wg.Wait() })
}

func TestManagerObtainsPublishesAndRenews(t *testing.T) {
	httpPort, tlsPort := freePort(t), freePort(t)
	ca := pebble.Start(t, pebble.Options{Host: "127.0.0.1", HTTPPort: httpPort, TLSPort: tlsPort, Validity: 9 * time.Second,
		Resolve: func(string) (netip.Addr, bool) { return netip.MustParseAddr("127.0.0.1"), true }})
	n := startNode(t)
	ans := NewAnswers(n.State)
	challengeServer(t, ans, httpPort, tlsPort)
	m, err := New(Config{Node: "n1", ClusterKey: testKey, LockTTL: 2 * time.Second, RetryMin: 200 * time.Millisecond, RetryMax: time.Second},
		n, Deps{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	c := &config.Cluster{
		Frontends: []config.Frontend{{Name: "https", Bind: []string{"127.0.0.1:1"}, DefaultBackend: "web", TLS: &config.TLS{}}},
		Backends:  []config.Backend{{Name: "web", Servers: []config.Server{{Name: "s", Address: "127.0.0.1:2"}}}},
		Files:     map[string]string{"pebble.pem": ca.ServerRootPEM},
		ACME:      &config.ACME{DirectoryURL: ca.Directory, Names: []string{"www.example.test"}, CARoots: "pebble.pem"},
	}
	if _, err := n.Apply(ctx, cluster.ApplyConfig{Config: c, Node: "n1", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	name := config.ACMECertificateName("www.example.test")
	var first cluster.StoredCertificate
	waitFor(t, "the certificate in the store", 20*time.Second, func() bool {
		first = n.State().Certificates[name]
		return first.Chain != ""
	})
	pair, err := tls.X509KeyPair([]byte(first.Chain), mustOpen(t, name, first.SealedKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pair.Leaf.Verify(verifyOptions(ca, "www.example.test", pair)); err != nil {
		t.Fatalf("the certificate does not verify against pebble's root: %v", err)
	}
	if first.NotAfter.Sub(pair.Leaf.NotBefore) > 10*time.Second || !slices.Equal(first.Names, []string{"www.example.test"}) {
		t.Errorf("stored %+v", first)
	}
	if http01, alpn := ans.Answered(); http01+alpn == 0 {
		t.Error("no challenge was answered from the replicated state")
	}
	// A third of 9 s left: renewed, with a new serial, published.
	waitFor(t, "the renewed certificate in the store", 15*time.Second, func() bool {
		cur := n.State().Certificates[name]
		return cur.Chain != first.Chain && cur.NotAfter.After(first.NotAfter)
	})
	renewedAt := time.Now()
	if left := first.NotAfter.Sub(renewedAt); left > 9*time.Second/3+time.Second || left < 0 {
		t.Errorf("renewed with %v of 12s left, want about a third of 9s", left)
	}
	// The CA goes away: the certificate stays in the store, the error shows.
	ca.Stop()
	waitFor(t, "the renewal error in the status", 15*time.Second, func() bool {
		st := m.Status()
		return len(st) == 1 && st[0].Error != "" && st[0].Failures > 0
	})
	st := m.Status()[0]
	if !strings.Contains(st.Error, "renew the certificate of www.example.test") || st.NotAfter.IsZero() {
		t.Errorf("status %+v", st)
	}
	if n.State().Certificates[name].Chain == "" {
		t.Error("the certificate left the store when its renewal failed")
	}
	if l := n.State().ACME.Locks; len(l) != 0 {
		t.Errorf("locks held after the failure: %v", l)
	}
}

func mustOpen(t *testing.T, name string, sealed []byte) []byte {
	t.Helper()
	b, err := cluster.OpenKey(testKey, name, sealed)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyOptions verify pair's leaf for name against pebble's root, with
// the chain's other certificates as intermediates.
func verifyOptions(ca *pebble.CA, name string, pair tls.Certificate) x509.VerifyOptions {
	inter := x509.NewCertPool()
	for _, der := range pair.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	return x509.VerifyOptions{DNSName: name, Roots: ca.IssuerRoots(), Intermediates: inter}
}
