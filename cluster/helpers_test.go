package cluster

import (
	"github.com/tandem-lb/tandem/config"

	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// testLogger logs to stderr at the level in TANDEM_TEST_LOG (default: errors only).
func testLogger() *slog.Logger {
	level := slog.LevelError
	if v := os.Getenv("TANDEM_TEST_LOG"); v != "" {
		level.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

var (
	portsMu sync.Mutex
	ports   = map[int]bool{} // handed out already in this test binary
)

// freePort returns a port free for both TCP and UDP on 127.0.0.1, never
// the same twice.
func freePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			if ports[port] {
				continue
			}
			ports[port] = true
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

type testNode struct {
	*Node
	cfg    Config
	cancel context.CancelFunc
	done   chan error
}

// nodeConfig returns a loopback config with fixed free ports, so that a
// restarted node keeps its addresses.
func nodeConfig(t testing.TB, name string, key []byte) Config {
	return Config{
		Node:       name,
		DataDir:    t.TempDir(),
		BindAddr:   "127.0.0.1",
		GossipPort: freePort(t),
		RaftPort:   freePort(t),
		APIAddr:    "127.0.0.1:8404",
		ClusterKey: key,
		// Several nodes in one process under -race on a small machine stall
		// longer than the production profile tolerates; detect in ~1 s.
		ProbeInterval:  200 * time.Millisecond,
		ProbeTimeout:   100 * time.Millisecond,
		GossipInterval: 50 * time.Millisecond,
		SuspicionMult:  4,
	}
}

func gossipAddr(cfg Config) string { return fmt.Sprintf("127.0.0.1:%d", cfg.GossipPort) }

// startNode creates and runs a node; it is stopped at the end of the test.
func startNode(t testing.TB, cfg Config) *testNode {
	t.Helper()
	n, err := New(cfg, Deps{Logger: testLogger().With("test_node", cfg.Node)})
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Node, err)
	}
	return runNode(t, n, cfg)
}

func runNode(t testing.TB, n *Node, cfg Config) *testNode {
	ctx, cancel := context.WithCancel(context.Background())
	tn := &testNode{Node: n, cfg: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { tn.done <- n.Run(ctx) }()
	t.Cleanup(func() { tn.stop(t) })
	return tn
}

// stop cancels Run and waits for it; idempotent.
func (tn *testNode) stop(t testing.TB) {
	t.Helper()
	tn.cancel()
	if tn.done == nil {
		return
	}
	select {
	case err := <-tn.done:
		if err != nil {
			t.Errorf("Run(%s): %v", tn.cfg.Node, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Run(%s) did not return within 30s of cancel", tn.cfg.Node)
	}
	tn.done = nil
}

// kill stops the node like a crash: no leadership transfer, no gossip leave.
func (tn *testNode) kill(t testing.TB) {
	tn.crash = true
	tn.stop(t)
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startCluster starts n nodes: the first bootstraps, the others join it.
func startCluster(t testing.TB, size int, key []byte) []*testNode {
	t.Helper()
	var nodes []*testNode
	var first Config
	for i := range size {
		cfg := nodeConfig(t, fmt.Sprintf("n%d", i), key)
		if i == 0 {
			first = cfg
		} else {
			cfg.Join = []string{gossipAddr(first)}
		}
		nodes = append(nodes, startNode(t, cfg))
	}
	waitStable(t, nodes, size)
	return nodes
}

// waitStable waits until every node sees the same leader and voters raft voters.
func waitStable(t testing.TB, nodes []*testNode, voters int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d voters and one leader on every node", voters), 20*time.Second, func() bool {
		leader := ""
		for _, n := range nodes {
			st := n.Raft()
			if st.Voters != voters || st.Leader == "" || leader != "" && st.Leader != leader {
				return false
			}
			leader = st.Leader
		}
		return true
	})
}

func leaderOf(t testing.TB, nodes []*testNode) (leader *testNode, followers []*testNode) {
	t.Helper()
	for _, n := range nodes {
		if n.Raft().State == "Leader" {
			leader = n
		} else {
			followers = append(followers, n)
		}
	}
	if leader == nil {
		t.Fatal("no leader among the nodes")
	}
	return leader, followers
}

func applyTestConfig(t testing.TB, n *testNode, expected uint64, servers ...string) *State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := n.Apply(ctx, ApplyConfig{Expected: expected, Config: testConfig(servers...), Node: n.cfg.Node, Time: time.Now().UTC()})
	if err != nil {
		t.Fatalf("apply config on %s: %v", n.cfg.Node, err)
	}
	return st
}

func waitVersion(t testing.TB, nodes []*testNode, v uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("version %d on every node", v), 10*time.Second, func() bool {
		for _, n := range nodes {
			if n.State().Version != v {
				return false
			}
		}
		return true
	})
}

// sk parses "backend/server" (tests only).
func sk(s string) config.ServerKey {
	var k config.ServerKey
	if err := k.UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return k
}
