package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

func memberStatusOf(n *testNode, name string) (Status, bool) {
	for _, m := range n.Members() {
		if m.Name == name {
			return m.Status, true
		}
	}
	return 0, false
}

func TestLeaveRemovesTheNodeFromRaft(t *testing.T) {
	for _, who := range []string{"follower", "leader"} {
		t.Run(who, func(t *testing.T) {
			nodes := startCluster(t, 3, testKey)
			leader, followers := leaderOf(t, nodes)
			leaving, stay := followers[0], []*testNode{leader, followers[1]}
			if who == "leader" {
				leaving, stay = leader, followers
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := leaving.Leave(ctx); err != nil {
				t.Fatalf("leave: %v", err)
			}
			leaving.stop(t)
			waitStable(t, stay, 2)
			waitFor(t, "the node gone from state and members", 10*time.Second, func() bool {
				_, inState := stay[0].State().Nodes[leaving.cfg.Node]
				_, listed := memberStatusOf(stay[0], leaving.cfg.Node)
				return !inState && !listed
			})
			// Two voters left, both alive: writes work.
			applyTestConfig(t, stay[1], stay[1].State().Version, "s1")
		})
	}
}

func TestRemoveDeadNode(t *testing.T) {
	nodes := startCluster(t, 3, testKey)
	leader, followers := leaderOf(t, nodes)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if err := followers[0].Remove(ctx, followers[1].cfg.Node); err == nil || !strings.Contains(err.Error(), "alive") {
		t.Fatalf("remove an alive node: got %v, want an error saying it is alive", err)
	}
	gone := followers[1]
	gone.kill(t)
	// Both the node asked and the leader check that the node is not alive.
	waitFor(t, "gossip on the leader and on the node asked to see the node dead", 10*time.Second, func() bool {
		s1, _ := memberStatusOf(leader, gone.cfg.Node)
		s2, _ := memberStatusOf(followers[0], gone.cfg.Node)
		return s1 == StatusDead && s2 == StatusDead
	})
	if err := followers[0].Remove(ctx, gone.cfg.Node); err != nil {
		t.Fatalf("remove (forwarded to the leader): %v", err)
	}
	stay := []*testNode{leader, followers[0]}
	waitStable(t, stay, 2)
	waitFor(t, "the node gone from state and members", 10*time.Second, func() bool {
		for _, n := range stay {
			if _, ok := n.State().Nodes[gone.cfg.Node]; ok {
				return false
			}
		}
		_, listed := memberStatusOf(leader, gone.cfg.Node)
		return !listed
	})
}

func TestObservedHealthIsAgreed(t *testing.T) {
	nodes := startCluster(t, 3, testKey)
	applyTestConfig(t, nodes[0], 0, "s1", "s2")
	waitVersion(t, nodes, 1)
	waitFor(t, "3 live nodes recorded", 10*time.Second, func() bool { return len(nodes[0].State().Nodes) == 3 })

	s1 := config.ServerKey{Backend: "web", Server: "s1"}
	s2 := config.ServerKey{Backend: "web", Server: "s2"}
	views := []map[config.ServerKey]config.Health{
		{s1: config.HealthDown, s2: config.HealthUp},
		{s1: config.HealthDown, s2: config.HealthDown},
		{s1: config.HealthUp, s2: config.HealthUp},
	}
	for i, n := range nodes {
		n.Observe(views[i])
	}
	agreed := func(n *testNode, key config.ServerKey) config.Health { return n.State().Agreed[key] }
	waitFor(t, "s1 agreed down, s2 agreed up on every node", 10*time.Second, func() bool {
		for _, n := range nodes {
			if agreed(n, s1) != config.HealthDown || agreed(n, s2) != config.HealthUp || len(n.State().Reports[s1]) != 3 {
				return false
			}
		}
		return true
	})

	// Only the change is sent; one node recovering s1 leaves 1 of 3 down.
	nodes[0].Observe(map[config.ServerKey]config.Health{s1: config.HealthUp, s2: config.HealthUp})
	waitFor(t, "s1 agreed up", 10*time.Second, func() bool { return agreed(nodes[2], s1) == config.HealthUp })

	// A node that stops reporting a server withdraws its report.
	nodes[1].Observe(map[config.ServerKey]config.Health{s2: config.HealthDown})
	waitFor(t, "n1's report on s1 withdrawn", 10*time.Second, func() bool {
		_, ok := nodes[2].State().Reports[s1]["n1"]
		return !ok
	})
}

func TestSubscribeSignalsStateChanges(t *testing.T) {
	nodes := startCluster(t, 2, testKey)
	ch, cancel := nodes[1].Subscribe()
	drain := func() {
		for {
			select {
			case <-ch:
			default:
				return
			}
		}
	}
	drain()
	applyTestConfig(t, nodes[0], 0, "s1")
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no signal after a committed change")
	}
	waitVersion(t, nodes, 1)
	cancel()
	drain()
	applyTestConfig(t, nodes[0], 1, "s1", "s2")
	waitVersion(t, nodes, 2)
	select {
	case <-ch:
		t.Fatal("signalled after unsubscribing")
	default:
	}
}

func TestSetMetaIsGossiped(t *testing.T) {
	nodes := startCluster(t, 2, testKey)
	if err := nodes[1].SetMeta(map[string]string{"vip.web.priority": "150", "ready": "true"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n0 to see n1's meta", 10*time.Second, func() bool {
		for _, m := range nodes[0].Members() {
			if m.Name == "n1" {
				return m.Meta["vip.web.priority"] == "150" && m.Meta["ready"] == "true" && m.Role == RoleVoter
			}
		}
		return false
	})
	err := nodes[1].SetMeta(map[string]string{"big": strings.Repeat("x", 600)})
	if err == nil || !strings.Contains(err.Error(), "limit is 512") {
		t.Fatalf("oversized meta: got %v", err)
	}
}

func TestRaftStatus(t *testing.T) {
	nodes := startCluster(t, 3, testKey)
	applyTestConfig(t, nodes[0], 0, "s1")
	leader, followers := leaderOf(t, nodes)
	st := followers[0].Raft()
	if st.Leader != leader.cfg.Node || st.Voters != 3 || st.State != "Follower" || st.Term == 0 || st.CommitIndex == 0 {
		t.Fatalf("follower status: %+v", st)
	}
	if n, err := New(nodeConfig(t, "x", testKey), Deps{}); err != nil || n.Raft().State != "Stopped" {
		t.Fatalf("status before Run: %+v, %v", n.Raft(), err)
	}
}

// A node started without --join bootstraps a cluster of its own; joining
// it to another cluster later must fail clearly instead of mixing logs.
func TestJoinAcrossSeparatelyBootstrappedClustersFails(t *testing.T) {
	a := startNode(t, nodeConfig(t, "a", testKey))
	b := startNode(t, nodeConfig(t, "b", testKey))
	for _, n := range []*testNode{a, b} {
		waitFor(t, n.cfg.Node+" to get a cluster ID", 10*time.Second, func() bool { return n.State().ClusterID != "" })
	}
	err := b.Join(context.Background(), []string{gossipAddr(a.cfg)})
	if err == nil || !strings.Contains(err.Error(), "belongs to another cluster") || !strings.Contains(err.Error(), "--join") {
		t.Fatalf("join across clusters: got %v", err)
	}
	waitFor(t, "a to see b in gossip", 10*time.Second, func() bool { _, ok := memberStatusOf(a, "b"); return ok })
	if err := a.reconcileOnce(a.rt.Load(), map[string]bool{}); err != nil { // what the leader loop does on the join event
		t.Fatal(err)
	}
	if v := a.Raft().Voters; v != 1 {
		t.Fatalf("a has %d voters after a foreign node joined its gossip", v)
	}
}

// TestMembersShowAppliedVersion: every node gossips the config version it
// has applied, so that one node's member list shows a lagging peer.
func TestMembersShowAppliedVersion(t *testing.T) {
	nodes := startCluster(t, 3, testKey)
	applyTestConfig(t, nodes[0], 0, "s1")
	applyTestConfig(t, nodes[1], 1, "s1", "s2")
	waitVersion(t, nodes, 2)
	waitFor(t, "every node to see every member at version 2", 10*time.Second, func() bool {
		for _, n := range nodes {
			ms := n.Members()
			if len(ms) != len(nodes) {
				return false
			}
			for _, m := range ms {
				if m.Version != 2 {
					return false
				}
			}
		}
		return true
	})
}
