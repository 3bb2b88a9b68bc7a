package cluster

import (
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func memberStatus(n *testNode, name string) (Status, bool) {
	for _, m := range n.Members() {
		if m.Name == name {
			return m.Status, true
		}
	}
	return 0, false
}

// TestCrashedPeerIsDeadAtOnce: a peer that stops like a killed process
// (no goodbye; its kernel closes its sockets) shows dead within
// milliseconds, long before memberlist's probes (the test profile needs
// ~1 s) could declare it.
func TestCrashedPeerIsDeadAtOnce(t *testing.T) {
	nodes := startCluster(t, 2, testKey)
	a, b := nodes[0], nodes[1]
	waitFor(t, "a liveness connection from n0 to n1", 10*time.Second, func() bool {
		b.rt.Load().live.mu.Lock()
		defer b.rt.Load().live.mu.Unlock()
		return len(b.rt.Load().live.accepted) > 0
	})
	b.kill(t) // returns once every socket of n1's run is closed
	gone := time.Now()
	waitFor(t, "n0 to show n1 dead", 5*time.Second, func() bool {
		s, _ := memberStatus(a, "n1")
		return s == StatusDead
	})
	took := time.Since(gone)
	t.Logf("n1 dead in n0's view %v after its sockets closed", took)
	if took > 150*time.Millisecond {
		t.Errorf("n1 shown dead %v after its crash, want < 150ms (the crash signal, not memberlist's probes)", took)
	}
}

// TestGracefulStopIsNoCrash: a node that stops on purpose says goodbye on
// its liveness connections first: its peer never shows it dead, only left.
func TestGracefulStopIsNoCrash(t *testing.T) {
	nodes := startCluster(t, 2, testKey)
	a, b := nodes[0], nodes[1]
	waitFor(t, "a liveness connection from n0 to n1", 10*time.Second, func() bool {
		b.rt.Load().live.mu.Lock()
		defer b.rt.Load().live.mu.Unlock()
		return len(b.rt.Load().live.accepted) > 0
	})
	done := make(chan struct{})
	go func() { defer close(done); b.stop(t) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, ok := memberStatus(a, "n1")
		if ok && s == StatusDead {
			t.Fatal("n1 shown dead during its graceful stop")
		}
		if !ok || s == StatusLeft {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n1 still %v 10s after its stop", s)
		}
		time.Sleep(2 * time.Millisecond)
	}
	<-done
	// The liveness watcher saw the connection close after the goodbye:
	// still no crash mark.
	time.Sleep(100 * time.Millisecond)
	if a.rt.Load().gossip.isCrashed("n1") {
		t.Error("n1 marked crashed after a graceful stop")
	}
}

// TestCrashMarkLifetime: a crash mark holds through an update of the
// crashed run and ends with memberlist's verdict, the meta of a new run,
// or a hello of the same run (the signal was wrong).
func TestCrashMarkLifetime(t *testing.T) {
	node := func(run string) *memberlist.Node {
		b, err := encodeMeta(nodeMeta{Run: run})
		if err != nil {
			t.Fatal(err)
		}
		return &memberlist.Node{Name: "p", Addr: net.IPv4(127, 0, 0, 1), Meta: b}
	}
	g, err := newGossip(nodeMeta{}, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if g.markCrashed("p", "r1") {
		t.Fatal("marked a member gossip never saw")
	}
	g.NotifyJoin(node("r1"))
	if g.markCrashed("p", "r0") {
		t.Fatal("marked a run other than the one gossip shows")
	}
	if !g.markCrashed("p", "r1") || !g.isCrashed("p") {
		t.Fatal("crash of the gossiped run not marked")
	}
	g.NotifyUpdate(node("r1"))
	if !g.isCrashed("p") {
		t.Fatal("an update of the crashed run (in flight when it died) cleared the mark")
	}
	g.helloFrom("p", "r2")
	if !g.isCrashed("p") {
		t.Fatal("a hello of a new run cleared the mark before its meta arrived")
	}
	g.NotifyUpdate(node("r2"))
	if g.isCrashed("p") {
		t.Fatal("the meta of a new run did not clear the mark")
	}

	g.markCrashed("p", "r2")
	g.helloFrom("p", "r2")
	if g.isCrashed("p") {
		t.Fatal("a hello of the marked run (it lives) did not clear the mark")
	}
	g.markCrashed("p", "r2")
	g.NotifyLeave(node("r2"))
	if g.isCrashed("p") {
		t.Fatal("memberlist's verdict did not clear the mark")
	}
}

// TestConfirmCrash: a refused connect confirms, a listening port does not.
func TestConfirmCrash(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	start := time.Now()
	if crashed, why := confirmCrash(addr); crashed {
		t.Errorf("listening port confirmed a crash (%s)", why)
	}
	if took := time.Since(start); took < confirmWindow || took > confirmWindow+time.Second {
		t.Errorf("a listening port was probed for %v, want about %v", took, confirmWindow)
	}
	ln.Close()
	start = time.Now()
	if crashed, why := confirmCrash(addr); !crashed {
		t.Errorf("closed port did not confirm a crash (%s)", why)
	}
	if took := time.Since(start); took > 20*time.Millisecond {
		t.Errorf("confirming took %v, want a few ms", took)
	}
}
