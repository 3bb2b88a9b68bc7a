package agent

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/testenv/pebble"
)

// TestACMECertificateServedFromTheStore runs one agent against pebble:
// the balancer answers the challenge (through an https redirect rule),
// the certificate lands in the store and is served by SNI, listed by
// tandem cert list and in the status. The two-node cases are in
// acme/pair_test.go.
func TestACMECertificateServedFromTheStore(t *testing.T) {
	httpAddr, tlsAddr := freeAddr(t), freeAddr(t)
	_, hp, _ := net.SplitHostPort(httpAddr)
	_, tp, _ := net.SplitHostPort(tlsAddr)
	httpPort, _ := strconv.Atoi(hp)
	tlsPort, _ := strconv.Atoi(tp)
	ca := pebble.Start(t, pebble.Options{Host: "127.0.0.1", HTTPPort: httpPort, TLSPort: tlsPort,
		Resolve: func(string) (netip.Addr, bool) { return netip.MustParseAddr("127.0.0.1"), true }})
	s1, s2 := startSite(t, "server1"), startSite(t, "server2")
	c := articleConfig(httpAddr, 0, s1, s2)
	c.Frontends[0].HTTPRequest = []string{"redirect scheme https code 301"}
	c.Frontends = append(c.Frontends, config.Frontend{Name: "https", Bind: []string{tlsAddr}, Mode: config.ModeHTTP,
		DefaultBackend: c.Backends[0].Name, TLS: &config.TLS{}})
	c.Files = map[string]string{"pebble.pem": ca.ServerRootPEM}
	c.ACME = &config.ACME{DirectoryURL: ca.Directory, Names: []string{"www.example.test"}, CARoots: "pebble.pem"}
	ra := startAgent(t, c)
	roots := ca.IssuerRoots()
	var leafSerial string
	waitFor(t, "the ACME certificate served", 30*time.Second, func() bool {
		conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: "www.example.test", RootCAs: roots})
		if err != nil {
			return false
		}
		defer conn.Close()
		leafSerial = conn.ConnectionState().PeerCertificates[0].SerialNumber.Text(16)
		return true
	})
	ctx := context.Background()
	list, err := ra.client.Certificates(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "acme:www.example.test" || list[0].UsedBy[0] != "https" || !strings.Contains(list[0].Issuer, "Pebble") {
		t.Errorf("cert list: %+v %v", list, err)
	}
	st, err := ra.client.Status(ctx)
	if err != nil || len(st.ACME) != 1 || st.ACME[0].Serial != leafSerial || st.ACME[0].Error != "" {
		t.Errorf("status acme: %+v %v (serving %s)", st.ACME, err, leafSerial)
	}
	if http01, alpn := ra.acme.answers.Answered(); http01+alpn == 0 {
		t.Error("the balancer answered no challenge")
	}
}
