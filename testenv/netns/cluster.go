package netns

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/testenv/proctest"
)

// clusterYAML is the cluster config every test serves: one frontend on
// *:80 behind the VIP, one backend on the LB namespace's own test site.
const clusterYAML = `defaults:
  mode: http
  timeouts: {connect: 1s, client: 10s, server: 10s}
  redispatch: true
frontends:
  - {name: http-in, bind: ["*:80"], default_backend: web}
backends:
  - name: web
    balance: roundrobin
    health_check: {method: HEAD, path: /deploy.txt, version: HTTP/1.0}
    servers:
      - {name: local, address: "127.0.0.1:8001", check: true, inter: 500ms, rise: 2, fall: 2}
vips:
  - {name: vip1, address: "` + VIPCIDR + `", frontends: [http-in]}
`

// Options shape a Cluster. Zero values: priorities 150 (lbA) and 100 (lbB).
type Options struct {
	Priority  [2]int
	ExtraArgs [2][]string // more agent flags per node
}

// Cluster is two LB nodes (lbA, lbB) running real agents and test sites in
// their namespaces of a Topology.
type Cluster struct {
	*Topology
	Nodes [2]*Node
	Bin   string
	t     testing.TB
}

// Node is one LB node: its namespace, agent and test site.
type Node struct {
	Name  string // lbA or lbB
	Host  Host
	Agent *Proc
	Site  *Proc
	bin   string
}

// NewCluster builds the topology, writes the config and key, starts the
// test sites and prepares (but does not start) the agents.
func NewCluster(t testing.TB, opts Options) *Cluster {
	t.Helper()
	tp := NewTopology(t)
	c := &Cluster{Topology: tp, Bin: proctest.Binary(t), t: t}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(cfgPath, []byte(clusterYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(c.Bin, "keygen").Output()
	if err != nil {
		t.Fatalf("tandem keygen: %v", err)
	}
	key := strings.TrimSpace(string(out))
	prio := opts.Priority
	if prio == [2]int{} {
		prio = [2]int{150, 100}
	}
	for i, h := range tp.LBs {
		name := "lb" + strings.ToUpper(h.NS[len(h.NS)-1:])
		n := &Node{Name: name, Host: h, bin: c.Bin}
		args := []string{c.Bin, "agent", "--node", name, "--data-dir", filepath.Join(dir, name),
			"--bind", h.IP, "--advertise", h.IP, "--cluster-key", key,
			"--vip-interface", "eth0", "--vip-priority", fmt.Sprintf("%s=%d", VIPName, prio[i]),
			"--drain-timeout", "2s", "--log-level", "debug"}
		if i == 0 {
			args = append(args, "--cluster-config", cfgPath)
		} else {
			args = append(args, "--join", tp.LBs[0].IP+":7946")
		}
		n.Agent = NewProc(t, name, h.NS, append(args, opts.ExtraArgs[i]...)...)
		n.Site = NewProc(t, "site-"+name, h.NS, c.Bin, "testsite", "--name", "site-"+name,
			"--listen", "127.0.0.1:8001", "--root", filepath.Join(dir, "site-"+name))
		n.Site.Start()
		c.Nodes[i] = n
	}
	// Registered after the processes' cleanups, so it runs before they
	// are killed: what each node thought when the test failed.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, n := range c.Nodes {
			cmd := exec.Command("ip", "netns", "exec", n.Host.NS, c.Bin, "status")
			cmd.Env = append(os.Environ(), "TANDEM_TOKEN=", "TANDEM_API_ADDR=")
			out, err := cmd.CombinedOutput()
			t.Logf("=== tandem status on %s at the failure (err %v) ===\n%s", n.Name, err, out)
		}
	})
	return c
}

// Start starts lbA, then lbB joining it, and waits until both are in
// the VIP view and exactly one namespace holds the VIP.
func (c *Cluster) Start() {
	c.t.Helper()
	for _, n := range c.Nodes {
		n.Agent.Start()
	}
	for _, n := range c.Nodes {
		WaitFor(c.t, n.Name+" to see both nodes in the VIP view", 60*time.Second, func() bool {
			return n.alive() == 2
		})
	}
	c.WaitOneHolder(20 * time.Second)
}

// alive counts the live nodes in this node's view of the VIP (0 when its
// API does not answer).
func (n *Node) alive() int {
	vs, err := n.VIPStatus()
	if err != nil || len(vs) == 0 {
		return 0
	}
	k := 0
	for _, nd := range vs[0].Nodes {
		if nd.Alive {
			k++
		}
	}
	return k
}

// VIPStatus asks the node's API (127.0.0.1:8404 in its namespace) through
// `tandem vip status --json`.
func (n *Node) VIPStatus() ([]api.VIPStatus, error) {
	cmd := exec.Command("ip", "netns", "exec", n.Host.NS, n.bin, "vip", "status", "--json")
	cmd.Env = append(os.Environ(), "TANDEM_TOKEN=", "TANDEM_API_ADDR=")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("vip status of %s: %w", n.Name, err)
	}
	var vs []api.VIPStatus
	if err := json.Unmarshal(out, &vs); err != nil {
		return nil, fmt.Errorf("vip status of %s: %w: %s", n.Name, err, out)
	}
	return vs, nil
}

// WaitOneHolder waits until exactly one LB namespace holds the VIP and the
// client's neighbour entry names its MAC, and that this lasted 500 ms. It
// returns the holding node.
func (c *Cluster) WaitOneHolder(timeout time.Duration) *Node {
	c.t.Helper()
	var holder *Node
	var since time.Time
	WaitFor(c.t, "exactly one holder of the VIP, named by the client's neighbour entry", timeout, func() bool {
		h := c.Holders()
		if len(h) != 1 {
			since = time.Time{}
			return false
		}
		n := c.Node(h[0])
		if n != holder {
			holder, since = n, time.Now()
		}
		c.Touch()
		return c.NeighMAC() == n.Host.MAC && time.Since(since) > 500*time.Millisecond
	})
	return holder
}

// Node returns the node of namespace ns.
func (c *Cluster) Node(ns string) *Node {
	for _, n := range c.Nodes {
		if n.Host.NS == ns {
			return n
		}
	}
	c.t.Fatalf("no node in namespace %s", ns)
	return nil
}

// Other returns the node that is not n.
func (c *Cluster) Other(n *Node) *Node {
	if c.Nodes[0] == n {
		return c.Nodes[1]
	}
	return c.Nodes[0]
}

// Touch sends one request from the client to the VIP (errors ignored), so
// the client resolves the VIP's MAC if it has no neighbour entry yet.
func (c *Cluster) Touch() { _, _ = c.Get() }

// Get fetches http://VIP/ from the client namespace (one request, 1 s
// bound) and returns its X-Served-By header.
func (c *Cluster) Get() (string, error) {
	out, err := exec.Command("ip", "netns", "exec", c.Client, probeBinary(c.t), "--once",
		"--timeout", "1s", "--url", "http://"+VIP+"/").Output()
	if err != nil {
		return "", fmt.Errorf("GET http://%s/ from the client: %w", VIP, err)
	}
	return strings.TrimSpace(string(out)), nil
}

var (
	probeOnce sync.Once
	probePath string
	probeErr  error
)

// probeBinary builds bench/failover/probe once per test process.
func probeBinary(t testing.TB) string {
	t.Helper()
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tandem-probe-")
		if err != nil {
			probeErr = err
			return
		}
		probePath = filepath.Join(dir, "probe")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", probePath, "./bench/failover/probe")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			probeErr = fmt.Errorf("go build probe: %v\n%s", err, out)
		}
	})
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	return probePath
}

// ProbeResult is the probe's JSON (see bench/failover/probe).
type ProbeResult struct {
	Requests     int            `json:"requests"`
	Failures     int            `json:"failures"`
	LongestGapMS float64        `json:"longest_gap_ms"`
	Gaps         []ProbeGap     `json:"gaps"`
	Switches     []ProbeSwitch  `json:"switches"`
	ByServer     map[string]int `json:"by_server"`
	Errors       map[string]int `json:"errors"`
	ElapsedMS    float64        `json:"elapsed_ms"`
}

// ProbeGap is a time without a good answer.
type ProbeGap struct {
	StartMS float64 `json:"start_ms"`
	MS      float64 `json:"ms"`
}

// ProbeSwitch is a change of the answering site; GapMS is the time since
// the previous good answer (the failover gap).
type ProbeSwitch struct {
	AtMS  float64 `json:"at_ms"`
	GapMS float64 `json:"gap_ms"`
	From  string  `json:"from"`
	To    string  `json:"to"`
}

// Probe is a running client probe: a GET of http://VIP/ every 10 ms on a
// new connection with a 300 ms timeout, from the client namespace.
type Probe struct {
	cmd  *exec.Cmd
	out  strings.Builder
	done chan struct{}
	t    testing.TB
}

// StartProbe starts a probe bounded to at most max (it stops by itself).
func (c *Cluster) StartProbe(max time.Duration) *Probe {
	c.t.Helper()
	p := &Probe{t: c.t, done: make(chan struct{})}
	p.cmd = exec.Command("ip", "netns", "exec", c.Client, probeBinary(c.t), "--url", "http://"+VIP+"/",
		"--interval", "10ms", "--timeout", "300ms", "--duration", max.String(), "--gap-threshold", "100ms")
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		c.t.Fatalf("start probe: %v", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	c.t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.done })
	return p
}

// Stop ends the probe (SIGTERM) and returns what it saw.
func (p *Probe) Stop() ProbeResult {
	p.t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatal("probe did not stop")
	}
	var r ProbeResult
	if err := json.Unmarshal([]byte(p.out.String()), &r); err != nil {
		p.t.Fatalf("probe output: %v: %q", err, p.out.String())
	}
	return r
}

// String summarises a probe result for test logs.
func (r ProbeResult) String() string {
	return fmt.Sprintf("requests=%d failures=%d longest_gap=%.0fms gaps=%v switches=%v by_server=%v errors=%v",
		r.Requests, r.Failures, r.LongestGapMS, r.Gaps, r.Switches, r.ByServer, r.Errors)
}
