package proctest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/testenv"
)

// sites starts the article's two test sites in-process.
func sites(t *testing.T) (string, string) {
	t.Helper()
	var addrs []string
	for _, name := range []string{"server1", "server2"} {
		s, err := testenv.NewSite(testenv.SiteConfig{Name: name, Listen: "127.0.0.1:0", Root: filepath.Join(t.TempDir(), name)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		<-s.Ready()
		addrs = append(addrs, s.Addr())
	}
	return addrs[0], addrs[1]
}

// writeConfig writes the article's config (as YAML) for this test's ports.
func writeConfig(t *testing.T, front, s1, s2 string) string {
	t.Helper()
	y := fmt.Sprintf(`defaults:
  mode: http
  timeouts: {connect: 5s, client: 50s, server: 50s}
  redispatch: true
frontends:
  - {name: http-in, bind: ["%s"], default_backend: http-in}
backends:
  - name: http-in
    balance: roundrobin
    health_check: {method: HEAD, path: /deploy.txt, version: HTTP/1.0}
    servers:
      - {name: server1, address: %s, check: true, inter: 200ms, rise: 2, fall: 2}
      - {name: server2, address: %s, check: true, inter: 200ms, rise: 2, fall: 2}
`, front, s1, s2)
	p := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type testCluster struct {
	nodes  []*Node
	front  string
	config string
}

// startCluster starts lb1 (bootstrapping with the config) and joins the
// others to it, then waits until every node serves version 1.
func startCluster(t *testing.T, names ...string) *testCluster {
	t.Helper()
	return startClusterArgs(t, nil, names...)
}

// startClusterArgs is startCluster with more agent flags for every node.
func startClusterArgs(t *testing.T, args []string, names ...string) *testCluster {
	t.Helper()
	s1, s2 := sites(t)
	tc := &testCluster{front: fmt.Sprintf("127.0.0.1:%d", FreePort(t))}
	tc.config = writeConfig(t, tc.front, s1, s2)
	first := NewNode(t, names[0], append([]string{"--cluster-config", tc.config}, args...)...)
	first.Start()
	tc.nodes = append(tc.nodes, first)
	for _, name := range names[1:] {
		n := NewNode(t, name, append([]string{"--join", first.GossipAddr}, args...)...)
		n.Start()
		tc.nodes = append(tc.nodes, n)
	}
	tc.waitVersion(t, 1, tc.nodes...)
	return tc
}

func (tc *testCluster) waitVersion(t *testing.T, v uint64, nodes ...*Node) {
	t.Helper()
	for _, n := range nodes {
		WaitFor(t, fmt.Sprintf("%s at config version %d", n.Name, v), 30*time.Second, func() bool {
			st, err := n.Status()
			return err == nil && st.Version == v && st.ConfigError == ""
		})
	}
}

func leaderOf(t *testing.T, nodes ...*Node) string {
	t.Helper()
	var leader string
	WaitFor(t, "a raft leader", 20*time.Second, func() bool {
		for _, n := range nodes {
			if st, err := n.Status(); err == nil && st.Raft != nil && st.Raft.Leader != "" {
				leader = st.Raft.Leader
				return true
			}
		}
		return false
	})
	return leader
}

func applyFile(t *testing.T, n *Node, c *config.Cluster, expected uint64) (api.ApplyResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return n.Client().ApplyConfig(ctx, api.ApplyRequest{ExpectedVersion: expected, Config: c, Message: "test"})
}

func currentConfig(t *testing.T, n *Node) api.ConfigResponse {
	t.Helper()
	r, err := n.Client().Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func getOK(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b))
}

// TestThreeNodesApplyKillRestart: three agent processes formed by join;
// an apply on a follower reaches every node; SIGKILL of the leader elects
// a new one with the config intact and writes keep working; a restart of
// every node keeps everything.
func TestThreeNodesApplyKillRestart(t *testing.T) {
	tc := startCluster(t, "lb1", "lb2", "lb3")
	leader := leaderOf(t, tc.nodes...)
	var follower, leaderNode *Node
	for _, n := range tc.nodes {
		if n.Name == leader {
			leaderNode = n
		} else if follower == nil {
			follower = n
		}
	}
	cur := currentConfig(t, follower)
	next := cur.Config.Clone()
	w := 3
	next.Backends[0].Servers[0].Weight = &w
	r, err := applyFile(t, follower, next, cur.Version)
	if err != nil {
		t.Fatalf("apply on follower %s: %v", follower.Name, err)
	}
	tc.waitVersion(t, r.Version, tc.nodes...)

	leaderNode.Kill()
	var rest []*Node
	for _, n := range tc.nodes {
		if n != leaderNode {
			rest = append(rest, n)
		}
	}
	WaitFor(t, "a new leader", 20*time.Second, func() bool {
		st, err := rest[0].Status()
		return err == nil && st.Raft != nil && st.Raft.Leader != "" && st.Raft.Leader != leader
	})
	r2, err := applyFile(t, rest[1], next, r.Version)
	if err != nil {
		t.Fatalf("apply after leader kill: %v", err)
	}
	tc.waitVersion(t, r2.Version, rest...)
	if got := getOK(t, "http://"+tc.front+"/"); !strings.HasPrefix(got, "HAProxy server") {
		t.Fatalf("frontend answered %q", got)
	}

	leaderNode.Start()
	tc.waitVersion(t, r2.Version, leaderNode)
	for _, n := range tc.nodes {
		n.Stop()
	}
	for _, n := range tc.nodes {
		n.Start()
	}
	tc.waitVersion(t, r2.Version, tc.nodes...)
	leaderOf(t, tc.nodes...)
	if _, err := applyFile(t, tc.nodes[2], next, r2.Version); err != nil {
		t.Fatalf("apply after full restart: %v", err)
	}
}

// TestTwoNodesLoseQuorumThenWitness: with one of two LB nodes gone the
// survivor keeps serving (also after its own restart), config apply fails
// fast with a clear no-quorum error, and a witness restores writes.
func TestTwoNodesLoseQuorumThenWitness(t *testing.T) {
	tc := startCluster(t, "lb1", "lb2")
	lb1, lb2 := tc.nodes[0], tc.nodes[1]
	lb2.Kill()
	if got := getOK(t, "http://"+tc.front+"/"); !strings.HasPrefix(got, "HAProxy server") {
		t.Fatalf("frontend answered %q", got)
	}
	// The survivor restarts without quorum and serves the last committed
	// config at once.
	lb1.Stop()
	lb1.Start()
	tc.waitVersion(t, 1, lb1)
	getOK(t, "http://"+tc.front+"/")

	cur := currentConfig(t, lb1)
	start := time.Now()
	_, err := applyFile(t, lb1, cur.Config, cur.Version)
	took := time.Since(start)
	if !errors.Is(err, api.ErrNoQuorum) {
		t.Fatalf("apply without quorum: err = %v, want no quorum", err)
	}
	for _, want := range []string{"quorum", "version 1", "witness"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no-quorum error %q does not mention %q", err, want)
		}
	}
	if took > 10*time.Second {
		t.Errorf("no-quorum error took %v, want a few seconds", took)
	}

	w := NewNode(t, "witness", "--role", "witness", "--join", lb1.GossipAddr)
	w.Start()
	// The dead lb2 is still a voter: lb1 + witness are 2 of 3.
	WaitFor(t, "writes with the witness", 40*time.Second, func() bool {
		_, err := applyFile(t, lb1, cur.Config, cur.Version)
		return err == nil
	})
}

// TestBadJoinAddress: a node told to join an address where nobody listens
// says so clearly.
func TestBadJoinAddressIsReported(t *testing.T) {
	n := NewNode(t, "lonely")
	n.Start()
	WaitFor(t, "api", 20*time.Second, func() bool { _, err := n.Status(); return err == nil })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := n.Client().Join(ctx, []string{fmt.Sprintf("127.0.0.1:%d", FreePort(t))})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "join") {
		t.Fatalf("join of a dead address: err = %v", err)
	}
}

// TestRecoverAfterLosingTwoOfThree: 2 of 3 voters are lost for good.
// `tandem cluster recover` refuses while there is a leader, changes
// nothing without a typed "yes", and with it makes the survivor the only
// voter: writes work again, on the config it had.
func TestRecoverAfterLosingTwoOfThree(t *testing.T) {
	tc := startCluster(t, "lb1", "lb2", "lb3")
	lb1 := tc.nodes[0]
	leaderOf(t, tc.nodes...)
	recoverCmd := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(Binary(t), append([]string{"cluster", "recover", "--api-addr", lb1.APIAddr}, args...)...)
		cmd.Env = append(os.Environ(), "TANDEM_TOKEN=")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := recoverCmd("yes\n"); err == nil || !strings.Contains(out, "is the raft leader") {
		t.Fatalf("recover with a leader: %v\n%s", err, out)
	}

	tc.nodes[1].Kill()
	tc.nodes[2].Kill()
	WaitFor(t, "lb1 to lose its leader and see lb2 and lb3 dead", 30*time.Second, func() bool {
		st, err := lb1.Status()
		if err != nil || st.Raft == nil || st.Raft.Leader != "" {
			return false
		}
		for _, m := range st.Members {
			if m.Name != "lb1" && (m.Status == "alive" || m.Status == "suspect") {
				return false // recover refuses to drop a live voter
			}
		}
		return true
	})
	out, err := recoverCmd("no\n")
	if err == nil || !strings.Contains(out, "not confirmed") {
		t.Fatalf("recover answered no: %v\n%s", err, out)
	}
	for _, want := range []string{"voters become lb1", "dropped: lb2, lb3", "what may be lost", "config version 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan does not say %q:\n%s", want, out)
		}
	}
	if st, _ := lb1.Status(); st.Raft == nil || st.Raft.Voters != 3 {
		t.Fatalf("an unconfirmed recover changed the voters: %+v", st.Raft)
	}

	if out, err := recoverCmd("yes\n"); err != nil || !strings.Contains(out, "forced") {
		t.Fatalf("confirmed recover: %v\n%s", err, out)
	}
	cur := currentConfig(t, lb1)
	WaitFor(t, "writes on lb1 alone", 30*time.Second, func() bool {
		_, err := applyFile(t, lb1, cur.Config, cur.Version)
		return err == nil
	})
	st, err := lb1.Status()
	if err != nil || st.Raft == nil || st.Raft.Voters != 1 || st.Version != cur.Version+1 {
		t.Fatalf("after recover: %+v version %d (%v), want 1 voter and version %d", st.Raft, st.Version, err, cur.Version+1)
	}
	if got := getOK(t, "http://"+tc.front+"/"); !strings.HasPrefix(got, "HAProxy server") {
		t.Fatalf("frontend answered %q", got)
	}
}
