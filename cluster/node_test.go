package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestThreeNodesFormByJoinAndReplicate(t *testing.T) {
	nodes := startCluster(t, 3, testKey)
	_, followers := leaderOf(t, nodes)

	st := applyTestConfig(t, followers[0], 0, "s1", "s2")
	if st.Version != 1 || st.Config == nil {
		t.Fatalf("Apply on a follower returned version %d", st.Version)
	}
	waitVersion(t, nodes, 1)

	waitFor(t, "3 alive voters in Members and State.Nodes", 10*time.Second, func() bool {
		ms := nodes[2].Members()
		alive := 0
		for _, m := range ms {
			if m.Status == StatusAlive && m.Voter && m.APIAddr == "127.0.0.1:8404" {
				alive++
			}
		}
		live := 0
		for _, ns := range nodes[2].State().Nodes {
			if ns.Live {
				live++
			}
		}
		return alive == 3 && live == 3
	})
}

func TestApplyFromSameBaseVersionConflictsOnce(t *testing.T) {
	nodes := startCluster(t, 3, testKey)
	applyTestConfig(t, nodes[0], 0, "s1")
	waitVersion(t, nodes, 1)

	errs := make(chan error, 2)
	for _, n := range nodes[1:] {
		go func() {
			_, err := n.Apply(context.Background(), ApplyConfig{Expected: 1, Config: testConfig("s1", n.cfg.Node), Node: n.cfg.Node, Time: time.Now().UTC()})
			errs <- err
		}()
	}
	var conflicts, ok int
	for range 2 {
		err := <-errs
		var ce *ConflictError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &ce) && ce.Expected == 1 && ce.Current == 2:
			conflicts++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || conflicts != 1 {
		t.Fatalf("%d applied, %d conflicts; want 1 and 1", ok, conflicts)
	}
}

func TestLeaderKilledNewLeaderTakesOver(t *testing.T) {
	nodes := startCluster(t, 3, testKey)
	applyTestConfig(t, nodes[1], 0, "s1")
	waitVersion(t, nodes, 1)

	leader, rest := leaderOf(t, nodes)
	leader.kill(t)
	waitFor(t, "a new leader among the survivors", 15*time.Second, func() bool {
		l := rest[0].Raft().Leader
		return l != "" && l != leader.cfg.Node && rest[1].Raft().Leader == l
	})
	for _, n := range rest {
		if v := n.State().Version; v != 1 {
			t.Fatalf("%s lost the config: version %d", n.cfg.Node, v)
		}
	}
	st := applyTestConfig(t, rest[1], 1, "s1", "s2")
	if st.Version != 2 {
		t.Fatalf("apply after failover: version %d", st.Version)
	}
	waitVersion(t, rest, 2)
}

func TestRestartServesCachedStateBeforeLeader(t *testing.T) {
	nodes := startCluster(t, 3, testKey)
	applyTestConfig(t, nodes[0], 0, "s1")
	applyTestConfig(t, nodes[2], 1, "s1", "s2")
	waitVersion(t, nodes, 2)
	// One node restarts from a snapshot (fsm.Restore), the others from the log.
	if err := nodes[0].rt.Load().raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		n.stop(t)
	}

	var again []*testNode
	for _, old := range nodes {
		n, err := New(old.cfg, Deps{Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		if st := n.State(); st.Version != 2 || len(st.Config.Backends[0].Servers) != 2 {
			t.Fatalf("%s before Run: version %d, want the cached version 2", old.cfg.Node, st.Version)
		}
		again = append(again, runNode(t, n, old.cfg))
	}
	// Right after Run, before any election, the cache is still what is served.
	for _, n := range again {
		if v := n.State().Version; v != 2 {
			t.Fatalf("%s right after Run: version %d", n.cfg.Node, v)
		}
	}
	waitStable(t, again, 3)
	st := applyTestConfig(t, again[1], 2, "s1", "s2", "s3")
	if st.Version != 3 {
		t.Fatalf("apply after restart: version %d", st.Version)
	}
	waitVersion(t, again, 3)
}

func TestTwoNodesOneLostNoQuorumThenWitness(t *testing.T) {
	nodes := startCluster(t, 2, testKey)
	applyTestConfig(t, nodes[0], 0, "s1")
	waitVersion(t, nodes, 1)

	survivor, lost := nodes[0], nodes[1]
	lost.kill(t)
	waitFor(t, "gossip to see the lost node dead", 10*time.Second, func() bool {
		s, _ := memberStatusOf(survivor, lost.cfg.Node)
		return s == StatusDead
	})
	start := time.Now()
	_, err := survivor.Apply(context.Background(), ApplyConfig{Expected: 1, Config: testConfig("s1", "s2"), Time: time.Now().UTC()})
	took := time.Since(start)
	if !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("apply without quorum: got %v, want ErrNoQuorum", err)
	}
	if took > 6*time.Second {
		t.Errorf("ErrNoQuorum took %v", took)
	}
	for _, want := range []string{"1 of 2 Raft voters answer", "config version 1", "bring the missing peer back, or add a witness node", "to restore writes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if v := survivor.State().Version; v != 1 {
		t.Fatalf("survivor serves version %d, want 1", v)
	}

	// A witness joins: the survivor forces {survivor, lost, witness} and
	// writes work again without the lost node.
	wcfg := nodeConfig(t, "witness", testKey)
	wcfg.Role = RoleWitness
	wcfg.Join = []string{gossipAddr(survivor.cfg)}
	witness := startNode(t, wcfg)
	waitStable(t, []*testNode{survivor, witness}, 3)
	st := applyTestConfig(t, survivor, 1, "s1", "s2")
	if st.Version != 2 {
		t.Fatalf("version %d after the witness restored writes, want 2", st.Version)
	}
	waitVersion(t, []*testNode{survivor, witness}, 2)

	// The lost node comes back as a voter and catches up.
	back := runNode(t, mustNew(t, lost.cfg), lost.cfg)
	all := []*testNode{survivor, witness, back}
	waitStable(t, all, 3)
	waitVersion(t, all, 2)
	applyTestConfig(t, back, 2, "s1", "s2", "s3")
	waitVersion(t, all, 3)
}

// With a witness from the start, losing one LB node keeps writes working.
func TestWitnessKeepsQuorumWhenOneLBNodeIsLost(t *testing.T) {
	nodes := startCluster(t, 2, testKey)
	wcfg := nodeConfig(t, "witness", testKey)
	wcfg.Role = RoleWitness
	wcfg.Join = []string{gossipAddr(nodes[0].cfg)}
	witness := startNode(t, wcfg)
	all := append(nodes, witness)
	waitStable(t, all, 3)
	waitFor(t, "the witness recorded with its role", 10*time.Second, func() bool {
		ns, ok := nodes[0].State().Nodes["witness"]
		return ok && ns.Role == RoleWitness && ns.Live
	})
	applyTestConfig(t, nodes[0], 0, "s1")
	nodes[1].kill(t)
	st, err := nodes[0].Apply(context.Background(), ApplyConfig{Expected: 1, Config: testConfig("s1", "s2"), Time: time.Now().UTC()})
	if err != nil {
		t.Fatalf("apply with one LB node lost and a witness: %v", err)
	}
	if st.Version != 2 {
		t.Fatalf("version %d, want 2", st.Version)
	}
}

func mustNew(t testing.TB, cfg Config) *Node {
	t.Helper()
	n, err := New(cfg, Deps{Logger: testLogger().With("test_node", cfg.Node)})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The first node has no join address; restarted alone it must find its
// peers again (peers.json), or gossip would leave it alone and it could
// not write.
func TestRestartedFirstNodeRejoinsGossip(t *testing.T) {
	nodes := startCluster(t, 3, testKey)
	applyTestConfig(t, nodes[0], 0, "s1")
	waitVersion(t, nodes, 1)
	first := nodes[0]
	first.kill(t)
	waitFor(t, "the others to see it dead", 10*time.Second, func() bool {
		s, _ := memberStatusOf(nodes[1], first.cfg.Node)
		return s == StatusDead
	})
	back := runNode(t, mustNew(t, first.cfg), first.cfg)
	waitFor(t, "the restarted node to see 3 alive members", 15*time.Second, func() bool {
		alive := 0
		for _, m := range back.Members() {
			if m.Status == StatusAlive {
				alive++
			}
		}
		return alive == 3
	})
	waitStable(t, []*testNode{back, nodes[1], nodes[2]}, 3)
	applyTestConfig(t, back, 1, "s1", "s2")
}
