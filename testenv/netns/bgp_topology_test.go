package netns

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/testenv/debian"
	"github.com/tandem-lb/tandem/testenv/proctest"
)

// The BGP topology: a client namespace behind a router namespace running
// BIRD 2, and 2-3 LB namespaces on a bridge in the router namespace. The
// VIP is on no link: the LB nodes bind it on lo and announce it by BGP,
// and the router installs an ECMP route to it in its kernel.
//
//	client 10.98.0.1 ── 10.98.0.254 router (AS 65000) br0 10.97.0.254 ── lbA 10.97.0.2
//	                                                                  ├── lbB 10.97.0.3
//	                                                                  └── lbC 10.97.0.4
//	LB nodes: AS 65001, hold time 3 s, keepalive 1 s.
const (
	bgpClientIP = "10.98.0.1"
	bgpRouterIP = "10.97.0.254"
	bgpVIP      = "10.99.1.100"
	bgpHold     = 3 * time.Second
)

// bgpLab is a running BGP topology with BIRD and the LB nodes' agents.
type bgpLab struct {
	t      *testing.T
	id     string
	Client string
	Router string
	Bird   *Proc
	sock   string
	Nodes  []*bgpNode
	dir    string
}

// bgpNode is one LB node of a bgpLab.
type bgpNode struct {
	Name  string
	NS    string
	IP    string
	Agent *Proc
	Site  *Proc
	bin   string
}

// bgpOptions shape a lab.
type bgpOptions struct {
	Nodes int              // 2 or 3
	Mode  string           // ecmp (default) or primary
	Extra map[int][]string // more agent flags per node
	// NoKernel keeps BIRD's routes out of the router's kernel: the test
	// installs its own route to the VIP (nexthop group experiments).
	NoKernel bool
	// RouterPassword sets BIRD's TCP-MD5 password for node i; PeerExtra is
	// appended to node i's --bgp-peer (e.g. ",password=x").
	RouterPassword map[int]string
	PeerExtra      map[int]string
	// IPv6 adds IPv6 addresses, a second BGP session per node over IPv6
	// and an IPv6 VIP (bgp_ipv6_test.go).
	IPv6 bool
}

func birdConfig(dir string, nodes []*bgpNode, noKernel bool, passwords map[int]string) string {
	export := `filter { if proto ~ "lb*" then accept; reject; }`
	if noKernel {
		export = "none"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `log "%s" all;
router id %s;
protocol device { scan time 1; }
protocol direct { ipv4; interface "br0"; }
protocol kernel {
	ipv4 { import none; export %s; };
	merge paths on limit 16;
	learn off;
}
# RFC 8326: a path with GRACEFUL_SHUTDOWN loses to every other one.
filter from_lb {
	if (65535, 0) ~ bgp_community then bgp_local_pref = 0;
	accept;
}
template bgp lb {
	local %s as 65000;
	hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 2;
	ipv4 { import filter from_lb; export none; };
}
`, filepath.Join(dir, "bird.log"), bgpRouterIP, export, bgpRouterIP)
	for i, n := range nodes {
		pw := ""
		if p, ok := passwords[i]; ok {
			pw = fmt.Sprintf(" password %q;", p)
		}
		fmt.Fprintf(&b, "protocol bgp %s from lb { neighbor %s as 65001;%s }\n", n.Name, n.IP, pw)
	}
	return b.String()
}

func bgpClusterYAML(mode string, frontendBind string) string {
	return `defaults:
  mode: http
  timeouts: {connect: 1s, client: 30s, server: 10s}
frontends:
  - {name: http-in, bind: ["` + frontendBind + `"], default_backend: web}
backends:
  - name: web
    servers:
      - {name: local, address: "127.0.0.1:8001"}
vips:
  - {name: vip1, address: "` + bgpVIP + `/32", frontends: [http-in], announce: bgp, mode: ` + mode + `, communities: ["65001:100"], large_communities: ["65001:1:1"]}
`
}

// newBGPLab builds the namespaces, starts BIRD and the test sites, and
// prepares (not starts) the agents.
func newBGPLab(t *testing.T, o bgpOptions) *bgpLab {
	t.Helper()
	NeedRoot(t)
	bird := debian.Need(t, "bird2", "bird")
	if o.Mode == "" {
		o.Mode = "ecmp"
	}
	id := fmt.Sprintf("tb%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	l := &bgpLab{t: t, id: id, Client: id + "-cl", Router: id + "-rt", dir: t.TempDir()}
	tp := &Topology{t: t}
	for i := 0; i < o.Nodes; i++ {
		name := string(rune('A' + i))
		l.Nodes = append(l.Nodes, &bgpNode{Name: "lb" + name, NS: id + "-" + strings.ToLower(name), IP: fmt.Sprintf("10.97.0.%d", i+2)})
	}
	all := []string{l.Client, l.Router}
	for _, n := range l.Nodes {
		all = append(all, n.NS)
	}
	for _, ns := range all {
		tp.IP("netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		tp.IP("-n", ns, "link", "set", "lo", "up")
	}
	tp.IP("-n", l.Router, "link", "add", "rc", "type", "veth", "peer", "name", "eth0", "netns", l.Client)
	tp.IP("-n", l.Router, "addr", "add", "10.98.0.254/24", "dev", "rc")
	tp.IP("-n", l.Router, "link", "set", "rc", "up")
	tp.IP("-n", l.Client, "addr", "add", bgpClientIP+"/24", "dev", "eth0")
	tp.IP("-n", l.Client, "link", "set", "eth0", "up")
	tp.IP("-n", l.Client, "route", "add", "default", "via", "10.98.0.254")
	tp.IP("-n", l.Router, "link", "add", "br0", "type", "bridge")
	tp.IP("-n", l.Router, "addr", "add", bgpRouterIP+"/24", "dev", "br0")
	tp.IP("-n", l.Router, "link", "set", "br0", "up")
	for i, n := range l.Nodes {
		port := fmt.Sprintf("v%d", i)
		tp.IP("-n", l.Router, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", n.NS)
		tp.IP("-n", l.Router, "link", "set", port, "master", "br0", "up")
		tp.IP("-n", n.NS, "addr", "add", n.IP+"/24", "dev", "eth0")
		tp.IP("-n", n.NS, "link", "set", "eth0", "up")
		tp.IP("-n", n.NS, "route", "add", "default", "via", bgpRouterIP)
	}
	tp.Exec(l.Router, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1")
	if o.IPv6 {
		l.addIPv6(tp)
	}

	cfg := filepath.Join(l.dir, "bird.conf")
	bc := birdConfig(l.dir, l.Nodes, o.NoKernel, o.RouterPassword)
	if o.IPv6 {
		bc += birdIPv6(l.Nodes)
	}
	if err := os.WriteFile(cfg, []byte(bc), 0o644); err != nil {
		t.Fatal(err)
	}
	l.sock = filepath.Join(l.dir, "bird.ctl")
	l.Bird = NewProc(t, "bird", l.Router, bird, "-f", "-c", cfg, "-s", l.sock)
	l.Bird.Start()

	bin := proctestBinary(t)
	out, err := exec.Command(bin, "keygen").Output()
	if err != nil {
		t.Fatalf("tandem keygen: %v", err)
	}
	key := strings.TrimSpace(string(out))
	for i, n := range l.Nodes {
		cc := filepath.Join(l.dir, "cluster.yaml")
		yaml := bgpClusterYAML(o.Mode, "*:80")
		if o.IPv6 {
			yaml += bgpVIP6YAML(o.Mode)
		}
		if err := os.WriteFile(cc, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		n.bin = bin
		args := []string{bin, "agent", "--node", n.Name, "--data-dir", filepath.Join(l.dir, n.Name),
			"--bind", n.IP, "--advertise", n.IP, "--cluster-key", key,
			"--vip-priority", fmt.Sprintf("vip1=%d", 200-10*i),
			"--bgp-asn", "65001", "--bgp-peer", "address=" + bgpRouterIP + ",asn=65000,hold_time=3s,keepalive=1s" + o.PeerExtra[i],
			"--bgp-shutdown-wait", "1s", "--drain-timeout", "2s", "--log-level", "debug"}
		if o.IPv6 {
			args = append(args, "--bgp-peer", "address="+bgpRouterIP6+",asn=65000,hold_time=3s,keepalive=1s")
		}
		if i == 0 {
			args = append(args, "--cluster-config", cc)
		} else {
			args = append(args, "--join", l.Nodes[0].IP+":7946")
		}
		n.Agent = NewProc(t, n.Name, n.NS, append(args, o.Extra[i]...)...)
		n.Site = NewProc(t, "site-"+n.Name, n.NS, bin, "testsite", "--name", "site-"+n.Name,
			"--listen", "127.0.0.1:8001", "--root", filepath.Join(l.dir, "site-"+n.Name))
		n.Site.Start()
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		t.Logf("=== birdc show protocols / route at the failure ===\n%s\n%s", l.birdc("show protocols"), l.birdc("show route all"))
		t.Logf("=== router kernel routes ===\n%s", l.routes())
		for _, n := range l.Nodes {
			cmd := exec.Command("ip", "netns", "exec", n.NS, bin, "status")
			cmd.Env = append(os.Environ(), "TANDEM_TOKEN=", "TANDEM_API_ADDR=")
			out, err := cmd.CombinedOutput()
			t.Logf("=== tandem status on %s (err %v) ===\n%s", n.Name, err, out)
		}
	})
	return l
}

// proctestBinary is the tandem binary the other netns tests use.
func proctestBinary(t *testing.T) string { return proctest.Binary(t) }

func (l *bgpLab) birdc(cmd string) string {
	out, _ := exec.Command("ip", append([]string{"netns", "exec", l.Router, "birdc", "-s", l.sock}, strings.Fields(cmd)...)...).CombinedOutput()
	return string(out)
}

// routes is the router's kernel route to the VIP ("" when none).
func (l *bgpLab) routes() string {
	out, _ := exec.Command("ip", "-n", l.Router, "route", "show", bgpVIP).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// nexthops lists the LB addresses the router's kernel route to the VIP
// goes to.
func (l *bgpLab) nexthops() []string {
	var out []string
	for _, f := range strings.Fields(l.routes()) {
		if strings.HasPrefix(f, "10.97.0.") && f != bgpRouterIP {
			out = append(out, f)
		}
	}
	return out
}

// waitNexthops waits until the kernel route goes to exactly want (LB IPs).
func (l *bgpLab) waitNexthops(want []string, timeout time.Duration) time.Duration {
	l.t.Helper()
	return WaitFor(l.t, fmt.Sprintf("router's route to the VIP via %v", want), timeout, func() bool {
		got := l.nexthops()
		if len(got) != len(want) {
			return false
		}
		for _, w := range want {
			if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+w+" ") {
				return false
			}
		}
		return true
	})
}

// start starts the agents (node 0 first) and waits until the route goes
// to every node in ready.
func (l *bgpLab) start(ready ...int) {
	l.t.Helper()
	for _, n := range l.Nodes {
		n.Agent.Start()
	}
	var ips []string
	for _, i := range ready {
		ips = append(ips, l.Nodes[i].IP)
	}
	l.waitNexthops(ips, 60*time.Second)
}

// inClient runs f on an OS thread inside the client namespace: sockets f
// opens are the client's.
func (l *bgpLab) inClient(f func()) { inNamespace(l.t, l.Client, f) }

// inNamespace runs f on an OS thread inside namespace ns.
func inNamespace(t *testing.T, ns string, f func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		h, err := netns.GetFromName(ns)
		if err != nil {
			done <- err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			done <- err
			return
		}
		f()
		done <- nil
	}()
	if err := <-done; err != nil {
		// Errorf, not Fatalf: callers run this from goroutines of their own.
		t.Errorf("enter namespace %s: %v", ns, err)
	}
}

// get sends one GET on a new connection and returns X-Served-By.
func get(timeout time.Duration) (string, error) { return getFrom(bgpVIP+":80", timeout) }

// roundTrip sends a GET on c and returns the X-Served-By header; the
// response body is read so that the connection can carry another one.
func roundTrip(c net.Conn, timeout time.Duration, closeAfter bool) (string, error) {
	return roundTripPath(c, "/", timeout, closeAfter)
}

// roundTripPath is roundTrip for GET path.
func roundTripPath(c net.Conn, path string, timeout time.Duration, closeAfter bool) (string, error) {
	_ = c.SetDeadline(time.Now().Add(timeout))
	conn := "keep-alive"
	if closeAfter {
		conn = "close"
	}
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: vip\r\nConnection: %s\r\n\r\n", path, conn); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	status, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.Contains(status, " 200 ") {
		return "", fmt.Errorf("status %q", strings.TrimSpace(status))
	}
	served, length := "", 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		k, v, _ := strings.Cut(line, ":")
		switch strings.ToLower(k) {
		case "x-served-by":
			served = strings.TrimSpace(v)
		case "content-length":
			_, _ = fmt.Sscan(strings.TrimSpace(v), &length)
		}
	}
	buf := make([]byte, length)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", err
	}
	return served, nil
}

// status is node n's `tandem status --json`.
func (l *bgpLab) status(n *bgpNode) (api.Status, error) {
	cmd := exec.Command("ip", "netns", "exec", n.NS, n.bin, "status", "--json")
	cmd.Env = append(os.Environ(), "TANDEM_TOKEN=", "TANDEM_API_ADDR=")
	out, err := cmd.Output()
	if err != nil {
		return api.Status{}, fmt.Errorf("status of %s: %w", n.Name, err)
	}
	var st api.Status
	if err := json.Unmarshal(out, &st); err != nil {
		return st, fmt.Errorf("status of %s: %w", n.Name, err)
	}
	return st, nil
}

// session is node n's BGP session with peer ("" state when unknown).
func (l *bgpLab) session(n *bgpNode, peer string) api.BGPSession {
	st, err := l.status(n)
	if err != nil || st.BGP == nil {
		return api.BGPSession{}
	}
	for _, s := range st.BGP.Sessions {
		if s.Peer == peer {
			return s
		}
	}
	return api.BGPSession{}
}
