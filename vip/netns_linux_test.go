package vip

// Privileged tests: real netlink, real ARP/NA, in network namespaces that
// the test creates. Topology (names carry the test's pid):
//
//	ns A: eth0 10.77.0.2/24 ─┐
//	                         ├─ ns C: bridge br0 10.77.0.1/24 (the client)
//	ns B: eth0 10.77.0.3/24 ─┘
//
// Each Manager gets Deps.NetNS, so it opens its netlink handle in its
// namespace (netlink.NewHandleAt) and its packet sockets from a thread
// locked into it; the test process itself never changes namespace except
// on such locked threads (inNetNS).

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/tandem-lb/tandem/config"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root and network namespaces: CI must run these tests as root")
	}
	t.Skip("needs root and network namespaces: run as root")
}

type topology struct {
	a, b, c string // namespace names
}

func (tp topology) path(ns string) string { return "/run/netns/" + ns }

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func newTopology(t *testing.T) topology {
	t.Helper()
	needRoot(t)
	id := fmt.Sprintf("%d-%s", os.Getpid(), strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	if len(id) > 40 {
		id = id[:40]
	}
	tp := topology{a: "tvipA-" + id, b: "tvipB-" + id, c: "tvipC-" + id}
	for _, ns := range []string{tp.a, tp.b, tp.c} {
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	}
	ipCmd(t, "-n", tp.c, "link", "add", "br0", "type", "bridge")
	ipCmd(t, "-n", tp.c, "addr", "add", "10.77.0.1/24", "dev", "br0")
	ipCmd(t, "-n", tp.c, "link", "set", "br0", "up")
	for i, ns := range []string{tp.a, tp.b} {
		port := []string{"vA", "vB"}[i]
		ipCmd(t, "-n", tp.c, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		ipCmd(t, "-n", tp.c, "link", "set", port, "master", "br0", "up")
		ipCmd(t, "-n", ns, "addr", "add", fmt.Sprintf("10.77.0.%d/24", i+2), "dev", "eth0")
		ipCmd(t, "-n", ns, "link", "set", "eth0", "up")
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	// Let the client learn neighbours from gratuitous ARP alone.
	if out, err := exec.Command("ip", "netns", "exec", tp.c, "sh", "-c",
		"echo 1 > /proc/sys/net/ipv4/conf/br0/arp_accept").CombinedOutput(); err != nil {
		t.Fatalf("set arp_accept: %v: %s", err, out)
	}
	return tp
}

// handle opens a netlink handle in namespace ns.
func handle(t *testing.T, path string) *netlink.Handle {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func linkMAC(t *testing.T, h *netlink.Handle, name string) net.HardwareAddr {
	t.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().HardwareAddr
}

func findAddr(t *testing.T, h *netlink.Handle, iface string, ip netip.Addr) (netlink.Addr, bool) {
	t.Helper()
	l, err := h.LinkByName(iface)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if got, _ := netip.AddrFromSlice(a.IP); got.Unmap() == ip {
			return a, true
		}
	}
	return netlink.Addr{}, false
}

// neighMAC is the client's neighbour entry for ip on br0.
func neighMAC(t *testing.T, h *netlink.Handle, ip netip.Addr) net.HardwareAddr {
	t.Helper()
	l, err := h.LinkByName("br0")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := h.NeighList(l.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if got, _ := netip.AddrFromSlice(n.IP); got.Unmap() == ip {
			return n.HardwareAddr
		}
	}
	return nil
}

// startManager runs a Manager in namespace path until the test ends.
func startManager(t *testing.T, cfg Config, path string, skipStopClean bool) (*Manager, context.CancelFunc) {
	t.Helper()
	cfg.Interface = "eth0"
	// Under -race on a loaded machine the loop can stall past 2×StepInterval;
	// the Manager then drops its VIPs until a view StaleHold later. The
	// gossip fake sends views every 20 ms, so a short hold heals quickly.
	cfg.StaleHold = 500 * time.Millisecond
	m, err := New(cfg, Deps{Logger: testLogger(t), NetNS: path})
	if err != nil {
		t.Fatal(err)
	}
	m.skipStopClean = skipStopClean
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Run %s: %v", cfg.Node, err)
			}
		})
	}
	t.Cleanup(stop)
	return m, stop
}

// fakeGossip plays the cluster layer between Managers: it carries each
// one's LocalMeta (through EncodeMeta/DecodeMeta) into everyone's view.
type fakeGossip struct {
	nodes map[string]*Manager
}

func (g *fakeGossip) sync(t *testing.T) {
	var members []Member
	for name, m := range g.nodes {
		meta, err := DecodeMeta(EncodeMeta(m.LocalMeta()))
		if err != nil {
			t.Errorf("gossip meta of %s: %v", name, err)
		}
		members = append(members, Member{Name: name, Alive: true, Role: roleVoter, Meta: meta})
	}
	for _, m := range g.nodes {
		m.SetView(View{Members: members})
	}
}

func (g *fakeGossip) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			g.sync(t)
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func TestNetnsTakeoverAnnounceAndHandover(t *testing.T) {
	tp := newTopology(t)
	ha, hb, hc := handle(t, tp.path(tp.a)), handle(t, tp.path(tp.b)), handle(t, tp.path(tp.c))
	macA, macB := linkMAC(t, ha, "eth0"), linkMAC(t, hb, "eth0")
	vip := netip.MustParseAddr("10.77.0.100")
	cfgVIP := []config.VIP{{Name: "web", Address: "10.77.0.100/24", Frontends: []string{"http"}}}

	ma, _ := startManager(t, Config{Node: "a", Priority: map[string]int{"web": 150}, AddressLifetime: 5 * time.Second}, tp.path(tp.a), false)
	mb, _ := startManager(t, Config{Node: "b", Priority: map[string]int{"web": 100}}, tp.path(tp.b), false)
	for _, m := range []*Manager{ma, mb} {
		m.Update(cfgVIP)
		m.SetReady(map[string]bool{"http": true})
	}
	(&fakeGossip{nodes: map[string]*Manager{"a": ma, "b": mb}}).start(t)

	waitFor(t, "a to add the VIP", 5*time.Second, func() bool { _, ok := findAddr(t, ha, "eth0", vip); return ok })
	a, _ := findAddr(t, ha, "eth0", vip)
	if a.ValidLft < 1 || a.ValidLft > 5 || a.PreferedLft < 1 || a.PreferedLft > 5 {
		t.Errorf("a's VIP has valid_lft %d preferred_lft %d, want 1-5 s", a.ValidLft, a.PreferedLft)
	}
	// At start b may take the VIP before a's meta reaches it (like
	// keepalived's first master); the dual claim resolves to a.
	waitFor(t, "b to leave the VIP to a", 5*time.Second, func() bool { _, ok := findAddr(t, hb, "eth0", vip); return !ok })
	waitFor(t, "the client to learn a's MAC from gratuitous ARP", 5*time.Second, func() bool {
		return neighMAC(t, hc, vip).String() == macA.String()
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ma.Release(ctx, "web"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, ok := findAddr(t, ha, "eth0", vip); ok {
		t.Error("a still has the VIP after Release returned")
	}
	if _, ok := findAddr(t, hb, "eth0", vip); !ok {
		t.Error("b does not have the VIP after a released it")
	}
	waitFor(t, "the client to learn b's MAC", 5*time.Second, func() bool {
		return neighMAC(t, hc, vip).String() == macB.String()
	})
}

func TestNetnsAddressExpiresWhenTheAgentDies(t *testing.T) {
	tp := newTopology(t)
	ha := handle(t, tp.path(tp.a))
	vip := netip.MustParseAddr("10.77.0.100")
	m, stop := startManager(t, Config{Node: "a", AddressLifetime: 2 * time.Second}, tp.path(tp.a), true)
	m.Update([]config.VIP{{Name: "web", Address: "10.77.0.100/24"}})
	(&fakeGossip{nodes: map[string]*Manager{"a": m}}).start(t)
	waitFor(t, "the VIP to be added", 5*time.Second, func() bool { _, ok := findAddr(t, ha, "eth0", vip); return ok })
	stop() // no clean release: as if the agent was killed
	stopped := time.Now()
	waitFor(t, "the kernel to drop the unrenewed VIP", 3500*time.Millisecond, func() bool {
		_, ok := findAddr(t, ha, "eth0", vip)
		return !ok
	})
	t.Logf("address gone %s after the last step", time.Since(stopped).Round(10*time.Millisecond))
}

func TestNetnsRemovesStaleAddressAtStart(t *testing.T) {
	tp := newTopology(t)
	ha := handle(t, tp.path(tp.a))
	l, err := ha.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"10.77.0.100/24", "fd00::100/64"} {
		if err := ha.AddrAdd(l, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix(s))}); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := startManager(t, Config{Node: "a"}, tp.path(tp.a), false)
	m.Update([]config.VIP{{Name: "web", Address: "10.77.0.100/24"}, {Name: "web6", Address: "fd00::100/64"}})
	for _, ip := range []string{"10.77.0.100", "fd00::100"} {
		waitFor(t, "the stale "+ip+" to be removed", 5*time.Second, func() bool {
			_, ok := findAddr(t, ha, "eth0", netip.MustParseAddr(ip))
			return !ok
		})
	}
	if _, ok := findAddr(t, ha, "eth0", netip.MustParseAddr("10.77.0.2")); !ok {
		t.Error("the interface's own address was removed")
	}
}

func TestNetnsIPv6AddressAndNeighborAdvertisement(t *testing.T) {
	tp := newTopology(t)
	ha := handle(t, tp.path(tp.a))
	macA := linkMAC(t, ha, "eth0")
	vip := netip.MustParseAddr("fd00::100")
	capture := captureNA(t, tp.path(tp.c), vip)
	m, _ := startManager(t, Config{Node: "a"}, tp.path(tp.a), false)
	m.Update([]config.VIP{{Name: "web6", Address: "fd00::100/64"}})
	(&fakeGossip{nodes: map[string]*Manager{"a": m}}).start(t)
	waitFor(t, "the IPv6 VIP to be added", 5*time.Second, func() bool { _, ok := findAddr(t, ha, "eth0", vip); return ok })
	a, _ := findAddr(t, ha, "eth0", vip)
	if a.Flags&unix.IFA_F_NODAD == 0 || a.Flags&unix.IFA_F_TENTATIVE != 0 {
		t.Errorf("flags %#x, want nodad and not tentative", a.Flags)
	}
	select {
	case src := <-capture:
		if src.String() != macA.String() {
			t.Errorf("neighbor advertisement from %s, want a's MAC %s", src, macA)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client saw no neighbor advertisement for the VIP")
	}
}

// captureNA listens on the client's bridge for a neighbour advertisement
// whose target is ip and sends the Ethernet source of the first one.
func captureNA(t *testing.T, path string, ip netip.Addr) <-chan net.HardwareAddr {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h := handle(t, path)
	l, err := h.LinkByName("br0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Attrs()
	var conn *packet.Conn
	err = inNetNS(ns, func() error {
		var err error
		conn, err = packet.Listen(&net.Interface{Index: a.Index, Name: a.Name, HardwareAddr: a.HardwareAddr}, packet.Raw, etherTypeIPv6, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan net.HardwareAddr, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 1500)
		target := ip.As16()
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return // closed at cleanup
			}
			f := buf[:n]
			// Ethernet(14) + IPv6(40): ICMPv6 type 136, target at +8.
			if n >= 14+40+24 && binary.BigEndian.Uint16(f[12:14]) == etherTypeIPv6 && f[14+6] == 58 &&
				f[54] == 136 && string(f[54+8:54+24]) == string(target[:]) {
				select {
				case out <- net.HardwareAddr(append([]byte(nil), f[6:12]...)):
				default:
				}
			}
		}
	})
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	return out
}

func TestNetnsTrackedInterfaceDownReleases(t *testing.T) {
	tp := newTopology(t)
	ha := handle(t, tp.path(tp.a))
	// trk0 runs (has carrier) while its veth peer trk1 is up.
	ipCmd(t, "-n", tp.a, "link", "add", "trk0", "type", "veth", "peer", "name", "trk1")
	ipCmd(t, "-n", tp.a, "link", "set", "trk0", "up")
	ipCmd(t, "-n", tp.a, "link", "set", "trk1", "up")
	vip := netip.MustParseAddr("10.77.0.100")
	m, _ := startManager(t, Config{Node: "a", TrackInterfaces: []string{"trk0"}}, tp.path(tp.a), false)
	m.Update([]config.VIP{{Name: "web", Address: "10.77.0.100/24"}})
	(&fakeGossip{nodes: map[string]*Manager{"a": m}}).start(t)
	waitFor(t, "the VIP to be added", 5*time.Second, func() bool { _, ok := findAddr(t, ha, "eth0", vip); return ok })
	ipCmd(t, "-n", tp.a, "link", "set", "trk1", "down") // trk0 stays up but loses carrier
	waitFor(t, "the VIP to be removed", 5*time.Second, func() bool { _, ok := findAddr(t, ha, "eth0", vip); return !ok })
	waitFor(t, "status fault naming trk0", 5*time.Second, func() bool {
		st := m.Status()
		return len(st) == 1 && st[0].State == StateFault && strings.Contains(st[0].Reason, "trk0")
	})
	ipCmd(t, "-n", tp.a, "link", "set", "trk1", "up")
	waitFor(t, "the VIP to be added back", 5*time.Second, func() bool { _, ok := findAddr(t, ha, "eth0", vip); return ok })
}

// TestNetnsProbeHearsTheHolder: the link probe used without quorum. b
// probes the VIP: while a has the address, a's kernel answers and b hears
// a's claim (never its own frames); once a lost it, probes go unanswered.
// A probe does not teach the client (arp_accept on) b's MAC for the VIP.
func TestNetnsProbeHearsTheHolder(t *testing.T) {
	tp := newTopology(t)
	ha, hc := handle(t, tp.path(tp.a)), handle(t, tp.path(tp.c))
	macA := linkMAC(t, ha, "eth0")
	vip := netip.MustParseAddr("10.77.0.100")
	ipCmd(t, "-n", tp.a, "addr", "add", "10.77.0.100/24", "dev", "eth0")
	hn, err := openHost("eth0", tp.path(tp.b))
	if err != nil {
		t.Fatal(err)
	}
	b := hn.(*linuxHost)
	t.Cleanup(func() { b.close() })

	// claimsFor probes every 100 ms for d and returns the claims on vip.
	claimsFor := func(d time.Duration) []claim {
		var got []claim
		for end := time.Now().Add(d); time.Now().Before(end); {
			if err := b.probe(vip); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // between probes, as the loop's steps
			cs, err := b.heard()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if c.addr == vip {
					got = append(got, c)
				}
			}
		}
		return got
	}
	got := claimsFor(time.Second)
	if len(got) == 0 {
		t.Fatal("b heard no claim for the VIP while a has it")
	}
	for _, c := range got {
		if c.mac.String() != macA.String() {
			t.Errorf("claim from %s, want only a's %s", c.mac, macA)
		}
	}
	if mac := neighMAC(t, hc, vip); mac != nil && mac.String() != macA.String() {
		t.Errorf("the client learnt %s for the VIP from a probe", mac)
	}

	ipCmd(t, "-n", tp.a, "addr", "del", "10.77.0.100/24", "dev", "eth0")
	_ = claimsFor(200 * time.Millisecond) // replies in flight
	if got := claimsFor(time.Second); len(got) != 0 {
		t.Fatalf("heard %d claims after a lost the address: %v", len(got), got)
	}
	b.stopListening()
	if cs, err := b.heard(); err != nil || cs != nil {
		t.Fatalf("heard after stopListening: %v, %v", cs, err)
	}
}

// Parking writes no ARP setting that conf/all already gives (the kernel
// applies the larger of conf/all and the interface's): a container cannot
// write /proc/sys, and its compose file sets conf/all instead. With
// conf/all at 0 the interface's are raised while parked and put back.
func TestNetnsParkHonoursConfAll(t *testing.T) {
	tp := newTopology(t)
	sysctl := func(name string) string {
		out, err := exec.Command("ip", "netns", "exec", tp.a, "sysctl", "-n", name).CombinedOutput()
		if err != nil {
			t.Fatalf("sysctl %s: %v: %s", name, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	hn, err := openHost("eth0", tp.path(tp.a))
	if err != nil {
		t.Fatal(err)
	}
	defer hn.close()
	h := hn.(*linuxHost)
	p := netip.MustParsePrefix("10.77.0.100/24")
	for _, all := range []string{"high", "zero"} {
		if all == "high" {
			ipCmd(t, "netns", "exec", tp.a, "sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
		} else {
			ipCmd(t, "netns", "exec", tp.a, "sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=0", "net.ipv4.conf.all.arp_announce=0")
		}
		if err := h.replaceAddr(p, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := h.parkAddr(p, 5*time.Second); err != nil {
			t.Fatalf("conf/all %s: park: %v", all, err)
		}
		want := map[string]string{"high": "0 0", "zero": "1 2"}[all]
		if got := sysctl("net.ipv4.conf.eth0.arp_ignore") + " " + sysctl("net.ipv4.conf.eth0.arp_announce"); got != want {
			t.Errorf("conf/all %s: eth0's arp_ignore, arp_announce while parked = %s, want %s", all, got, want)
		}
		if err := h.unparkAddr(p, true); err != nil {
			t.Fatal(err)
		}
		if got := sysctl("net.ipv4.conf.eth0.arp_ignore") + " " + sysctl("net.ipv4.conf.eth0.arp_announce"); got != "0 0" {
			t.Errorf("conf/all %s: eth0's settings after unpark = %s, want 0 0", all, got)
		}
	}
}
