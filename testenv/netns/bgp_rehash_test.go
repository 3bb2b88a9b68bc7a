package netns

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// What happens to established connections on the surviving nodes when
// the router's ECMP set changes. The LB nodes run and announce as usual;
// the route to the VIP is installed by the test, once as a plain multipath
// route (the kernel's hash-threshold: the hash space is cut into as many
// equal ranges as next hops, so removing one shifts the ranges of the
// others) and once through a resilient nexthop group (RFC-less, Linux
// 5.13+: a table of buckets; removing a next hop only reassigns its own
// buckets).
func TestBGPECMPRehashHashThresholdVsResilient(t *testing.T) {
	l := newBGPLab(t, bgpOptions{Nodes: 3, NoKernel: true})
	for _, n := range l.Nodes {
		n.Agent.Start()
	}
	WaitFor(t, "every node to announce", 60*time.Second, func() bool {
		return strings.Count(l.birdc("show route "+bgpVIP+"/32"), "via 10.97.0.") == 3
	})
	a, b, c := l.Nodes[0].IP, l.Nodes[1].IP, l.Nodes[2].IP
	tp := &Topology{t: t}
	r := func(args ...string) { tp.IP(append([]string{"-n", l.Router}, args...)...) }

	measure := func(name string, install, shrink, grow func()) (int, int) {
		install()
		conns, served := l.keepConns(300)
		shrink()
		var broken, total int
		l.inClient(func() { broken, total = survivorsBroken(conns, served, "site-lbC") })
		by, _ := l.spread(300)
		conns2, served2 := l.keepConns(300)
		grow()
		var broken2, total2 int
		l.inClient(func() { broken2, total2 = survivorsBroken(conns2, served2, "") })
		by2, _ := l.spread(300)
		t.Logf("%s: lbC removed: %d of %d established connections on lbA/lbB broken; new connections then %v. "+
			"lbC added back: %d of %d established connections broken; new connections then %v",
			name, broken, total, by, broken2, total2, by2)
		for _, cn := range append(conns, conns2...) {
			cn.Close()
		}
		return broken, total
	}
	hbroken, htotal := measure("hash-threshold (plain multipath route)",
		func() {
			r("route", "replace", bgpVIP+"/32", "nexthop", "via", a, "nexthop", "via", b, "nexthop", "via", c)
		},
		func() { r("route", "replace", bgpVIP+"/32", "nexthop", "via", a, "nexthop", "via", b) },
		func() {
			r("route", "replace", bgpVIP+"/32", "nexthop", "via", a, "nexthop", "via", b, "nexthop", "via", c)
		})
	r("route", "del", bgpVIP+"/32")
	for i, ip := range []string{a, b, c} {
		r("nexthop", "add", "id", fmt.Sprint(i+1), "via", ip, "dev", "br0")
	}
	rbroken, rtotal := measure("resilient nexthop group (128 buckets, idle_timer 0)",
		func() {
			r("nexthop", "add", "id", "10", "group", "1/2/3", "type", "resilient", "buckets", "128", "idle_timer", "0")
			r("route", "replace", bgpVIP+"/32", "nhid", "10")
		},
		func() {
			r("nexthop", "replace", "id", "10", "group", "1/2", "type", "resilient", "buckets", "128", "idle_timer", "0")
		},
		func() {
			r("nexthop", "replace", "id", "10", "group", "1/2/3", "type", "resilient", "buckets", "128", "idle_timer", "0")
		})
	if htotal == 0 || rtotal == 0 {
		t.Fatalf("no connections on the surviving nodes (%d, %d)", htotal, rtotal)
	}
	if rbroken != 0 {
		t.Errorf("resilient group: %d of %d survivors' connections broken by removing another next hop, want 0", rbroken, rtotal)
	}
	if hbroken == 0 {
		t.Errorf("hash-threshold: no survivor's connection moved when a next hop left (%d); the comparison measures nothing", htotal)
	}
}
