package netns

import (
	"testing"
	"time"
)

// TestLongPartitionHeals: lbB is cut off for longer than memberlist keeps
// gossiping to a dead member (GossipToTheDeadTime, 30 s), so gossip alone
// would never bring the two sides together again; the rejoin of members
// held dead does: once the cable is back both see each other alive and
// one node holds the VIP.
func TestLongPartitionHeals(t *testing.T) {
	c := NewCluster(t, Options{})
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	if h := c.WaitOneHolder(40 * time.Second); h != a {
		t.Fatalf("holder %s, want lbA", h.Name)
	}
	c.LinkDown(1)
	WaitFor(t, "lbA to hold lbB dead", 10*time.Second, func() bool { return a.alive() == 1 })
	time.Sleep(40 * time.Second) // past GossipToTheDeadTime and memberlist's reap of dead members
	c.LinkUp(1)
	took := WaitFor(t, "both nodes alive again", 40*time.Second, func() bool { return a.alive() == 2 && b.alive() == 2 })
	t.Logf("gossip whole again %v after the cable came back", took)
	if h := c.WaitOneHolder(20 * time.Second); h == nil {
		t.Fatal("no single holder after the partition healed")
	}
	if _, err := c.Get(); err != nil {
		t.Fatal(err)
	}
}
