package acme_test

// A two-node pair (and a witness, so that the cluster keeps a quorum when
// one LB node is killed) of real `tandem agent` processes in network
// namespaces, against a real pebble. Separate namespaces, not one process:
// the pair serves the same replicated config, so on one host both nodes
// would bind the same addresses (SO_REUSEPORT) and the kernel, not the
// test, would choose which node the CA reaches.
//
//	ns a: lbA 10.99.0.2        ns b: lbB 10.99.0.3
//	ns c: bridge 10.99.0.1, the witness
//	root: 10.99.0.254 on a veth into the bridge: pebble, its DNS, the test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/testenv/netns"
	"github.com/tandem-lb/tandem/testenv/pebble"
	"github.com/tandem-lb/tandem/testenv/proctest"
)

const (
	rootIP    = "10.99.0.254"
	apiToken  = "acme-pair-test"
	validity  = 24 * time.Second // renewed with 8 s left
	firstName = "www.pair.test"
	killName  = "kill.pair.test"
)

type pairNode struct {
	name, ip string
	agent    *netns.Proc
	client   *api.Client
}

// rootVeth plugs the root namespace into the topology's bridge.
func rootVeth(t *testing.T, tp *netns.Topology) {
	t.Helper()
	dev := fmt.Sprintf("tacme%d", os.Getpid()%100000)
	tp.IP("link", "add", dev, "type", "veth", "peer", "name", "up0", "netns", tp.Client)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", dev).Run() })
	tp.IP("-n", tp.Client, "link", "set", "up0", "master", "br0", "up")
	tp.IP("addr", "add", rootIP+"/24", "dev", dev)
	tp.IP("link", "set", dev, "up")
}

func pairConfig(ca *pebble.CA, names ...string) string {
	return `defaults:
  mode: http
  timeouts: {connect: 1s, client: 10s, server: 10s}
frontends:
  - name: http-in
    bind: ["*:80"]
    default_backend: web
    http_request: ["redirect scheme https code 301"]
  - {name: https, bind: ["*:443"], default_backend: web, tls: {}}
backends:
  - {name: web, servers: [{name: local, address: "127.0.0.1:8001"}]}
acme:
  directory_url: ` + ca.Directory + `
  names: [` + strings.Join(names, ", ") + `]
  ca_roots: pebble.pem
files:
  pebble.pem: |
    ` + strings.ReplaceAll(strings.TrimSpace(ca.ServerRootPEM), "\n", "\n    ") + "\n"
}

// served is the leaf a node serves for name, verified against roots.
func served(ip, name string, roots *x509.CertPool) (*x509.Certificate, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", ip+":443", &tls.Config{ServerName: name, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

func acmeStatus(n *pairNode, name string) (api.ACMEStatus, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := n.client.Status(ctx)
	if err != nil {
		return api.ACMEStatus{}, false
	}
	for _, s := range st.ACME {
		if s.Name == name {
			return s, true
		}
	}
	return api.ACMEStatus{}, false
}

// answered is tandem_acme_challenges_answered_total summed over types.
func answered(t *testing.T, n *pairNode) int {
	t.Helper()
	out, err := exec.Command("curl", "-sf", "-H", "Authorization: Bearer "+apiToken, "http://"+n.ip+":8404/metrics").Output()
	if err != nil {
		t.Fatalf("metrics of %s: %v", n.name, err)
	}
	total := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "tandem_acme_challenges_answered_total{") {
			var v int
			fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%d", &v)
			total += v
		}
	}
	return total
}

func TestACMEPairOrdersOnOneNodeAnswersOnTheOther(t *testing.T) {
	tp := netns.NewTopology(t)
	rootVeth(t, tp)
	bin := proctest.Binary(t)
	nodes := []*pairNode{{name: "lbA", ip: tp.LBs[0].IP}, {name: "lbB", ip: tp.LBs[1].IP}}
	other := func(n string) *pairNode {
		if n == "lbA" {
			return nodes[1]
		}
		return nodes[0]
	}
	byName := func(n string) *pairNode {
		if n == "lbA" {
			return nodes[0]
		}
		return nodes[1]
	}

	// DNS: each name resolves to the node that does NOT order it, so the
	// CA's validation reaches the other node. The first query of killName
	// kills its orderer (mid-order: the challenge is written) and answers
	// with the survivor.
	var (
		mu      sync.Mutex
		orderer = map[string]string{}
		killed  *pairNode
	)
	resolve := func(name string) (netip.Addr, bool) {
		mu.Lock()
		defer mu.Unlock()
		if killed != nil {
			return netip.MustParseAddr(other(killed.name).ip), true
		}
		var holder string
		for _, n := range nodes {
			if s, ok := acmeStatus(n, name); ok && s.Ordering != "" {
				holder = s.Ordering
				break
			}
		}
		if holder == "" {
			return netip.Addr{}, false
		}
		orderer[name] = holder
		if name == killName {
			killed = byName(holder)
			killed.agent.Kill()
			return netip.MustParseAddr(other(holder).ip), true
		}
		return netip.MustParseAddr(other(holder).ip), true
	}
	ca := pebble.Start(t, pebble.Options{Host: rootIP, HTTPPort: 80, TLSPort: 443, Validity: validity, Resolve: resolve})

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(cfgPath, []byte(pairConfig(ca, firstName)), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := exec.Command(bin, "keygen").Output()
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"--cluster-key", strings.TrimSpace(string(key)), "--api-token", apiToken, "--drain-timeout", "1s",
		"--acme-lock-ttl", "3s", "--acme-retry-min", "1s", "--log-level", "debug"}
	for i, n := range nodes {
		args := append([]string{bin, "agent", "--node", n.name, "--data-dir", filepath.Join(dir, n.name), "--bind", n.ip,
			"--advertise", n.ip, "--api-addr", n.ip + ":8404"}, common...)
		if i == 0 {
			args = append(args, "--cluster-config", cfgPath)
		} else {
			args = append(args, "--join", nodes[0].ip+":7946")
		}
		n.agent = netns.NewProc(t, n.name, tp.LBs[i].NS, args...)
		n.client = api.NewClient(n.ip+":8404", apiToken)
		n.agent.Start()
	}
	witness := netns.NewProc(t, "witness", tp.Client, append([]string{bin, "agent", "--node", "wit", "--role", "witness",
		"--data-dir", filepath.Join(dir, "wit"), "--bind", netns.ClientIP, "--advertise", netns.ClientIP,
		"--api-addr", netns.ClientIP + ":8404", "--join", nodes[0].ip + ":7946"}, common...)...)
	witness.Start()

	// 1. One node orders, the other answers; both serve the certificate.
	roots := ca.IssuerRoots()
	var leafA, leafB *x509.Certificate
	netns.WaitFor(t, firstName+" served by both nodes", 45*time.Second, func() bool {
		leafA, _ = served(nodes[0].ip, firstName, roots)
		leafB, _ = served(nodes[1].ip, firstName, roots)
		return leafA != nil && leafB != nil && leafA.SerialNumber.Cmp(leafB.SerialNumber) == 0
	})
	if leafA.Subject.CommonName != firstName && (len(leafA.DNSNames) != 1 || leafA.DNSNames[0] != firstName) {
		t.Errorf("leaf names %v", leafA.DNSNames)
	}
	mu.Lock()
	ordering := orderer[firstName]
	mu.Unlock()
	if ordering == "" {
		t.Fatal("pebble validated without asking DNS: no orderer recorded")
	}
	a, o := answered(t, other(ordering)), answered(t, byName(ordering))
	t.Logf("%s ordered by %s; challenges answered: %d by %s, %d by %s", firstName, ordering, a, other(ordering).name, o, ordering)
	if a == 0 || o != 0 {
		t.Errorf("challenges answered: %d by %s (not ordering), %d by %s (ordering); want only the other node", a, other(ordering).name, o, ordering)
	}
	certs, err := nodes[1].client.Certificates(context.Background())
	if err != nil || len(certs) != 1 || certs[0].Name != config.ACMECertificateName(firstName) || certs[0].Node != ordering ||
		len(certs[0].UsedBy) != 1 || certs[0].UsedBy[0] != "https" {
		t.Errorf("tandem cert list: %+v %v (ordered by %s)", certs, err, ordering)
	}

	// 2. The short validity renews: a new serial on both nodes.
	first := leafA.SerialNumber
	var renewed *big.Int
	netns.WaitFor(t, firstName+" renewed on both nodes", validity+15*time.Second, func() bool {
		a, _ := served(nodes[0].ip, firstName, roots)
		b, _ := served(nodes[1].ip, firstName, roots)
		if a == nil || b == nil || a.SerialNumber.Cmp(first) == 0 || a.SerialNumber.Cmp(b.SerialNumber) != 0 {
			return false
		}
		renewed = a.SerialNumber
		if left := time.Until(leafA.NotAfter); left > validity/3+2*time.Second {
			t.Errorf("renewed with %v left of %v", left, validity)
		}
		return true
	})

	// 3. A new name; its orderer is killed mid-order; the other completes it.
	c := loadConfig(t, pairConfig(ca, firstName, killName))
	if _, err := nodes[0].client.ApplyConfig(context.Background(), api.ApplyRequest{Config: c}); err != nil {
		t.Fatal(err)
	}
	var survivor *pairNode
	netns.WaitFor(t, killName+" served by the survivor", 40*time.Second, func() bool {
		mu.Lock()
		k := killed
		mu.Unlock()
		if k == nil {
			return false
		}
		survivor = other(k.name)
		leaf, _ := served(survivor.ip, killName, roots)
		return leaf != nil
	})
	t.Logf("%s: orderer %s killed mid-order, %s completed it", killName, other(survivor.name).name, survivor.name)
	if s, _ := acmeStatus(survivor, killName); s.NotAfter.IsZero() {
		t.Errorf("survivor's status of %s: %+v", killName, s)
	}

	// 4. The CA goes away: the next renewal fails, the error shows, the
	// certificate keeps serving.
	ca.Stop()
	// What serves when the CA went away (the name may have renewed again
	// since step 2 on a slow machine).
	before, err := served(survivor.ip, firstName, roots)
	if err != nil {
		t.Fatalf("served %s when the CA stopped: %v", firstName, err)
	}
	var failed api.ACMEStatus
	netns.WaitFor(t, "a renewal error in the survivor's status", validity+10*time.Second, func() bool {
		s, ok := acmeStatus(survivor, firstName)
		failed = s
		return ok && s.Error != "" && s.Failures > 0
	})
	if !strings.Contains(failed.Error, "renew the certificate of "+firstName) {
		t.Errorf("status error %q", failed.Error)
	}
	leaf, err := served(survivor.ip, firstName, roots)
	switch {
	case err != nil:
		t.Errorf("after the failed renewal the survivor serves no valid certificate: %v", err)
	case leaf.SerialNumber.Cmp(before.SerialNumber) != 0 || leaf.SerialNumber.Text(16) != failed.Serial:
		t.Errorf("after the failed renewal the survivor serves %x, want %x (status: %s)", leaf.SerialNumber, before.SerialNumber, failed.Serial)
	case before.SerialNumber.Cmp(first) == 0:
		t.Errorf("the first certificate %x still serves: it never renewed (renewed: %x)", first, renewed)
	}
	out, _ := exec.Command(bin, "status", "--api-addr", survivor.ip+":8404", "--token", apiToken).CombinedOutput()
	if !strings.Contains(string(out), "WARNING: acme "+firstName) {
		t.Errorf("tandem status does not warn of the failure:\n%s", out)
	}
}

func loadConfig(t *testing.T, y string) *config.Cluster {
	t.Helper()
	c, err := config.Load("cluster.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
