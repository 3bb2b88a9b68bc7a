package netns

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Addresses of the topology. Only these, inside namespaces the harness
// made, ever receive traffic.
const (
	ClientIP = "10.99.0.1"
	VIP      = "10.99.0.100"
	VIPCIDR  = VIP + "/24"
	VIPName  = "vip1"
)

// NeedRoot skips the test for a normal user, and fails it under CI=true:
// CI must run the failover tests as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("ip"); err != nil {
			t.Fatal("the netns tests need iproute2's ip command")
		}
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root and network namespaces: CI must run testenv/netns as root")
	}
	t.Skip("needs root and network namespaces: run `sudo go test ./testenv/netns/` to run the VIP failover tests")
}

// Topology is a bridge in the client namespace and two LB namespaces
// plugged into it by veth pairs.
type Topology struct {
	Client string // namespace with br0 (ClientIP), where the probe runs
	LBs    [2]Host
	t      testing.TB
}

// Host is one LB namespace: its eth0 address and MAC, and the name of its
// veth's bridge-side end (in the client namespace).
type Host struct {
	NS         string
	IP         string
	MAC        string
	BridgePort string
}

// NewTopology creates the namespaces, bridge and veths; t.Cleanup deletes
// them. The client accepts gratuitous ARP for unknown neighbours
// (arp_accept), so its neighbour entry for the VIP follows announcements.
func NewTopology(t testing.TB) *Topology {
	t.Helper()
	NeedRoot(t)
	id := fmt.Sprintf("tn%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	tp := &Topology{Client: id + "-c", t: t}
	for i, s := range []string{"a", "b"} {
		tp.LBs[i] = Host{NS: id + "-" + s, IP: fmt.Sprintf("10.99.0.%d", i+2),
			MAC: fmt.Sprintf("02:99:00:00:00:%02x", i+2), BridgePort: "v" + s}
	}
	for _, ns := range []string{tp.Client, tp.LBs[0].NS, tp.LBs[1].NS} {
		tp.IP("netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		tp.IP("-n", ns, "link", "set", "lo", "up")
	}
	tp.IP("-n", tp.Client, "link", "add", "br0", "type", "bridge")
	tp.IP("-n", tp.Client, "addr", "add", ClientIP+"/24", "dev", "br0")
	tp.IP("-n", tp.Client, "link", "set", "br0", "up")
	for _, h := range tp.LBs {
		tp.IP("-n", tp.Client, "link", "add", h.BridgePort, "type", "veth", "peer", "name", "eth0", "netns", h.NS)
		tp.IP("-n", tp.Client, "link", "set", h.BridgePort, "master", "br0", "up")
		tp.IP("-n", h.NS, "link", "set", "eth0", "address", h.MAC)
		tp.IP("-n", h.NS, "addr", "add", h.IP+"/24", "dev", "eth0")
		tp.IP("-n", h.NS, "link", "set", "eth0", "up")
	}
	tp.Exec(tp.Client, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/br0/arp_accept")
	return tp
}

// IP runs the ip command and fails the test on error.
func (tp *Topology) IP(args ...string) string {
	tp.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		tp.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Exec runs a command in namespace ns and returns its output.
func (tp *Topology) Exec(ns string, args ...string) string {
	tp.t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		tp.t.Fatalf("in %s: %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Holds reports whether namespace ns has the VIP on its eth0.
func (tp *Topology) Holds(ns string) bool {
	tp.t.Helper()
	var links []struct {
		AddrInfo []struct {
			Local string `json:"local"`
		} `json:"addr_info"`
	}
	out := tp.IP("-j", "-n", ns, "addr", "show", "dev", "eth0")
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		tp.t.Fatalf("parse ip -j addr in %s: %v: %s", ns, err, out)
	}
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Local == VIP {
				return true
			}
		}
	}
	return false
}

// Holders returns the LB namespaces that have the VIP on their eth0.
func (tp *Topology) Holders() []string {
	tp.t.Helper()
	var out []string
	for _, h := range tp.LBs {
		if tp.Holds(h.NS) {
			out = append(out, h.NS)
		}
	}
	return out
}

// NeighMAC is the client's neighbour entry (lladdr) for the VIP, "" if none.
func (tp *Topology) NeighMAC() string {
	tp.t.Helper()
	var ns []struct {
		LLAddr string `json:"lladdr"`
	}
	out := tp.IP("-j", "-n", tp.Client, "neigh", "show", VIP, "dev", "br0")
	if err := json.Unmarshal([]byte(out), &ns); err != nil {
		tp.t.Fatalf("parse ip -j neigh: %v: %s", err, out)
	}
	if len(ns) == 0 {
		return ""
	}
	return ns[0].LLAddr
}

// LinkDown pulls the cable of LB i: its bridge-side veth goes down, so its
// eth0 loses carrier. LinkUp plugs it back.
func (tp *Topology) LinkDown(i int) {
	tp.t.Helper()
	tp.IP("-n", tp.Client, "link", "set", tp.LBs[i].BridgePort, "down")
}

// LinkUp plugs LB i's cable back in.
func (tp *Topology) LinkUp(i int) {
	tp.t.Helper()
	tp.IP("-n", tp.Client, "link", "set", tp.LBs[i].BridgePort, "up")
}

// WaitFor polls cond every 20 ms until it holds, or fails the test after
// timeout. It returns how long it waited.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}
