package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

// leafCert is a self-signed ECDSA certificate for name expiring at notAfter.
func leafCert(t *testing.T, name string, notAfter time.Time) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// The expiry of every certificate served and the syslog targets' counters
// are scraped from the balancer: two frontends serving one certificate
// give one series; a line per request reaches the UDP target.
func TestMetricsCertificateExpiryAndLogTargets(t *testing.T) {
	syslog, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syslog.Close() })
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(site.Close)
	shared, other := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC), time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
	certs := map[string]*tls.Certificate{"www": leafCert(t, "www.example.com", shared), "api": leafCert(t, "api.example.com", other)}
	plain := freeAddr(t)
	target := "udp@" + syslog.LocalAddr().String()
	c := &config.Cluster{
		Frontends: []config.Frontend{
			{Name: "a", Bind: []string{freeAddr(t)}, DefaultBackend: "web", TLS: &config.TLS{Certificates: []string{"www", "api"}}},
			{Name: "b", Bind: []string{freeAddr(t)}, DefaultBackend: "web", TLS: &config.TLS{Certificates: []string{"www"}}},
			{Name: "plain", Bind: []string{plain}, DefaultBackend: "web",
				Logging: config.Logging{Log: []config.LogTarget{{Address: target}}, LogOption: config.LogOptionHTTP}},
		},
		Backends: []config.Backend{{Name: "web", Servers: []config.Server{{Name: "s1", Address: site.Listener.Addr().String()}}}},
	}
	b, err := balancer.New(balancer.Config{DrainTimeout: time.Second}, balancer.Deps{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(balancer.Desired{Config: c.Resolve(), Certificates: certs}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "plain frontend up", 5*time.Second, func() bool { return b.FrontendReady("plain") })
	for range 3 {
		resp, err := http.Get("http://" + plain + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(fakeStatus{clusterView()}, b))
	srv := httptest.NewServer(MetricsHandler(reg))
	t.Cleanup(srv.Close)
	lt := b.LogTargets()
	if len(lt) != 1 || !strings.HasPrefix(lt[0].Target, target+" ") {
		t.Fatalf("log targets %+v, want one, %s", lt, target)
	}
	tgt := map[string]string{"target": lt[0].Target}
	var fams map[string]*dto.MetricFamily
	waitFor(t, "3 log lines sent", 5*time.Second, func() bool {
		fams = scrape(t, srv.URL)
		return value(t, fams, "tandem_log_lines_sent_total", tgt) == 3
	})
	if n := len(fams["tandem_cert_expiry_timestamp_seconds"].GetMetric()); n != 2 {
		t.Errorf("%d expiry series, want 2 (one per certificate)", n)
	}
	for name, want := range map[string]time.Time{"www": shared, "api": other} {
		if got := value(t, fams, "tandem_cert_expiry_timestamp_seconds", map[string]string{"cert": name}); got != float64(want.Unix()) {
			t.Errorf("expiry of %s = %v, want %v", name, got, want.Unix())
		}
	}
	for _, m := range []string{"tandem_log_lines_dropped_total", "tandem_log_lines_failed_total"} {
		if got := value(t, fams, m, tgt); got != 0 {
			t.Errorf("%s = %v, want 0", m, got)
		}
	}
}
