package netns

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The IPv6 side of a bgpLab (bgpOptions.IPv6): the same links with IPv6
// addresses, a second BGP session per node over IPv6 (BIRD's ipv6
// channel), and an IPv6 VIP announced on it.
//
//	client fd98::1 ── fd98::254 router fd97::254 ── lbA fd97::2, lbB fd97::3, lbC fd97::4
const (
	bgpRouterIP6 = "fd97::254"
	bgpVIP6      = "fd99::100"
)

func bgpNodeIP6(i int) string { return fmt.Sprintf("fd97::%d", i+2) }

// addIPv6 gives the lab's links their IPv6 addresses (no duplicate address
// detection: usable at once) and routes.
func (l *bgpLab) addIPv6(tp *Topology) {
	tp.IP("-n", l.Router, "addr", "add", "fd98::254/64", "dev", "rc", "nodad")
	tp.IP("-n", l.Client, "addr", "add", "fd98::1/64", "dev", "eth0", "nodad")
	tp.IP("-n", l.Client, "-6", "route", "add", "default", "via", "fd98::254")
	tp.IP("-n", l.Router, "addr", "add", bgpRouterIP6+"/64", "dev", "br0", "nodad")
	for i, n := range l.Nodes {
		tp.IP("-n", n.NS, "addr", "add", bgpNodeIP6(i)+"/64", "dev", "eth0", "nodad")
		tp.IP("-n", n.NS, "-6", "route", "add", "default", "via", bgpRouterIP6)
	}
	tp.Exec(l.Router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", "net.ipv6.fib_multipath_hash_policy=1")
}

// birdIPv6 is the IPv6 half of BIRD's config: ECMP into the kernel's IPv6
// table and one IPv6 session per node.
func birdIPv6(nodes []*bgpNode) string {
	var b strings.Builder
	fmt.Fprintf(&b, `protocol direct { ipv6; interface "br0"; }
protocol kernel {
	ipv6 { import none; export filter { if proto ~ "lb*" then accept; reject; }; };
	merge paths on limit 16;
	learn off;
}
template bgp lb6 {
	local %s as 65000;
	hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 2;
	ipv6 { import filter from_lb; export none; };
}
`, bgpRouterIP6)
	for i, n := range nodes {
		fmt.Fprintf(&b, "protocol bgp %s6 from lb6 { neighbor %s as 65001; }\n", n.Name, bgpNodeIP6(i))
	}
	return b.String()
}

// bgpVIP6YAML is the IPv6 VIP, appended to bgpClusterYAML's vips.
func bgpVIP6YAML(mode string) string {
	return `  - {name: vip6, address: "` + bgpVIP6 + `/128", frontends: [http-in], announce: bgp, mode: ` + mode + `}
`
}

// nexthops6 lists the LB addresses of the router's IPv6 route to the VIP.
func (l *bgpLab) nexthops6() []string {
	out, _ := exec.Command("ip", "-6", "-n", l.Router, "route", "show", bgpVIP6).CombinedOutput()
	var hops []string
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "fd97::") && f != bgpRouterIP6 {
			hops = append(hops, f)
		}
	}
	return hops
}

// TestBGPIPv6VIPIsSpreadAndWithdrawn: an IPv6 VIP announced over IPv6
// sessions reaches the router's kernel as an ECMP route via every node,
// the client's connections are spread over them, and a killed node's path
// is withdrawn while the others keep serving.
func TestBGPIPv6VIPIsSpreadAndWithdrawn(t *testing.T) {
	l := newBGPLab(t, bgpOptions{Nodes: 2, IPv6: true})
	l.start(0, 1)
	WaitFor(t, "the router's IPv6 route via both nodes", 30*time.Second, func() bool { return len(l.nexthops6()) == 2 })
	for _, n := range l.Nodes {
		WaitFor(t, n.Name+"'s IPv6 session established with its prefix sent", 10*time.Second, func() bool {
			s := l.session(n, bgpRouterIP6)
			return s.State == "established" && s.PrefixesSent == 1
		})
	}
	const conns = 400
	by, failed := map[string]int{}, 0
	l.inClient(func() {
		for range conns {
			s, err := getFrom("["+bgpVIP6+"]:80", time.Second)
			if err != nil {
				failed++
				continue
			}
			by[s]++
		}
	})
	t.Logf("%d IPv6 connections: %v, %d failed; route %v", conns, by, failed, l.nexthops6())
	if failed > 0 {
		t.Errorf("%d of %d IPv6 connections failed", failed, conns)
	}
	for _, n := range l.Nodes {
		if got := by["site-"+n.Name]; got < conns/4 || got > conns*3/4 {
			t.Errorf("%s served %d of %d IPv6 connections, want 0.5-1.5x its fair share", n.Name, got, conns)
		}
	}

	l.Nodes[1].Agent.Kill()
	took := WaitFor(t, "the killed node's IPv6 path withdrawn", bgpHold+2*time.Second, func() bool {
		h := l.nexthops6()
		return len(h) == 1 && h[0] == bgpNodeIP6(0)
	})
	t.Logf("lbB killed: IPv6 path withdrawn after %v", took)
	l.inClient(func() {
		for i := range 20 {
			if s, err := getFrom("["+bgpVIP6+"]:80", time.Second); err != nil || s != "site-lbA" {
				t.Errorf("IPv6 request %d after the kill: %q, %v; want site-lbA", i, s, err)
			}
		}
	})
}

// getFrom sends one GET to addr on a new connection and returns
// X-Served-By.
func getFrom(addr string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return roundTrip(c, timeout, true)
}
