package netns

import (
	"strings"
	"testing"
	"time"
)

// Tests of the crash signal (cluster/liveness.go, vip's doc): an agent
// that dies on a live host fails over in tens of milliseconds; a frozen
// agent, a link flap and a quick restart move nothing they should not.

// maxCrashGap bounds the client's failover gap when the holder's agent is
// SIGKILLed: the crash signal, not gossip's ~0.4 s probes, must have
// moved the VIP (the agents are race-built here; the bench's target on a
// plain build is a median of 60 ms).
const maxCrashGap = 150 * time.Millisecond

// vipLogOnFailure logs each node's VIP transitions and crash signals
// when the test fails.
func vipLogOnFailure(t *testing.T, c *Cluster) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, n := range c.Nodes {
			var keep []string
			for _, l := range strings.Split(n.Agent.Log(), "\n") {
				for _, w := range []string{"acquired vip", "released vip", "vip state changed", "member crashed", "liveness", "stalled", "component=gossip", "suspect", "dead"} {
					if strings.Contains(l, w) {
						keep = append(keep, l)
						break
					}
				}
			}
			t.Logf("=== %s: vip and liveness log ===\n%s", n.Name, strings.Join(keep, "\n"))
		}
	})
}

// acquired counts the "acquired vip" lines in a node's log (all its runs).
func acquired(n *Node) int { return strings.Count(n.Agent.Log(), "acquired vip") }

// TestAgentCrashFailsOverInTensOfMilliseconds: SIGKILL of the holder's
// agent (the host lives on): the other node serves the client within
// maxCrashGap, twice (the killed node restarts and takes the VIP back in
// between by a handover).
func TestAgentCrashFailsOverInTensOfMilliseconds(t *testing.T) {
	c := NewCluster(t, Options{})
	vipLogOnFailure(t, c)
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	for round := range 2 {
		if h := c.WaitOneHolder(40 * time.Second); h != a {
			t.Fatalf("round %d: holder %s, want lbA", round, h.Name)
		}
		p := c.StartProbe(30 * time.Second)
		baseline()
		a.Agent.Kill()
		WaitFor(t, "lbB to serve the client", 5*time.Second, func() bool {
			s, err := c.Get()
			return err == nil && s == "site-lbB"
		})
		baseline()
		r := p.Stop()
		t.Logf("round %d: crash of the holder: %s", round, r)
		// The failover gap: from lbA's last good answer to lbB's first. (The
		// longest gap of the window may be a stall of the race-built agents
		// on a loaded machine, logged above.)
		if len(r.Switches) != 1 {
			t.Fatalf("round %d: the client switched %d times, want once: %v", round, len(r.Switches), r.Switches)
		}
		if gap := time.Duration(r.Switches[0].GapMS * float64(time.Millisecond)); gap > maxCrashGap {
			t.Errorf("round %d: the client got no answer for %v after the holder's agent was killed, want < %v", round, gap, maxCrashGap)
		}
		if !strings.Contains(b.Agent.Log(), "member crashed") {
			t.Errorf("round %d: lbB never logged the crash signal", round)
		}
		a.Agent.Start()
		WaitFor(t, "lbA back in lbB's view", 40*time.Second, func() bool { return b.alive() == 2 })
	}
}

// TestFreezeMovesNothing: a holder frozen (SIGSTOP) for freezeUnderTest
// keeps its sockets open, so there is no crash signal, and gossip does not
// declare it dead: nobody takes the VIP, the thawed holder does not let
// go of it, and the client never switches.
//
// The margin is thin by design (cluster/config.go): in a 2-node cluster
// gossip probes its peer every 100 ms and declares it dead 300 ms after a
// failed probe, so a freeze that begins just before a probe is declared
// dead 350 ms after it began, unless the thawed node's refutation has
// arrived by then. README's failover table measures 300 ms freezes on a
// plain build (make bench-failover). Here the agents are race-built and
// share 2 CPUs with the other packages of make test: in a CI run a thawed
// agent refuted about 360 ms after its 300 ms freeze began, and lbB had
// declared it dead. So this test freezes for 250 ms, leaving the wake-up
// and the refutation 100 ms.
func TestFreezeMovesNothing(t *testing.T) {
	const freezeUnderTest = 250 * time.Millisecond
	c := NewCluster(t, Options{})
	vipLogOnFailure(t, c)
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	if h := c.WaitOneHolder(10 * time.Second); h != a {
		t.Fatalf("holder %s, want lbA", h.Name)
	}
	acqA, acqB := acquired(a), acquired(b)
	p := c.StartProbe(30 * time.Second)
	baseline()
	for i := range 3 {
		t0 := time.Now()
		a.Agent.Freeze()
		time.Sleep(freezeUnderTest)
		a.Agent.Thaw()
		t.Logf("freeze %d: SIGSTOP to SIGCONT %v", i, time.Since(t0).Round(time.Millisecond))
		// Watch for 2 s: a takeover would show within gossip's ~0.4 s.
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
			if h := c.Holders(); len(h) != 1 || h[0] != a.Host.NS {
				t.Fatalf("freeze %d: holders %v, want only lbA", i, h)
			}
			time.Sleep(20 * time.Millisecond) // sampling period
		}
	}
	r := p.Stop()
	t.Logf("3 freezes of %v: %s", freezeUnderTest, r)
	if len(r.Switches) != 0 {
		t.Errorf("the client switched %d times, want 0: %v", len(r.Switches), r.Switches)
	}
	if n := acquired(b) - acqB; n != 0 {
		t.Errorf("lbB took the VIP %d times, want 0", n)
	}
	if n := acquired(a) - acqA; n != 0 {
		t.Errorf("lbA let go of the VIP and took it again %d times, want 0", n)
	}
}

// TestLinkFlap100msMovesNothing: the holder's link goes down for 100 ms
// (its bridge port down, then up): packets are lost, nothing is reset, so
// there is no crash signal, gossip's suspicion is refuted, and the holder
// keeps the VIP through the carrier loss: no takeover, no switch.
func TestLinkFlap100msMovesNothing(t *testing.T) {
	c := NewCluster(t, Options{})
	vipLogOnFailure(t, c)
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	if h := c.WaitOneHolder(10 * time.Second); h != a {
		t.Fatalf("holder %s, want lbA", h.Name)
	}
	acqA, acqB := acquired(a), acquired(b)
	p := c.StartProbe(30 * time.Second)
	baseline()
	for i := range 3 {
		c.LinkDown(0)
		time.Sleep(100 * time.Millisecond) // the flap under test
		c.LinkUp(0)
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
			if h := c.Holders(); len(h) != 1 || h[0] != a.Host.NS {
				t.Fatalf("flap %d: holders %v, want only lbA", i, h)
			}
			time.Sleep(20 * time.Millisecond) // sampling period
		}
	}
	r := p.Stop()
	t.Logf("3 link flaps of 100 ms: %s", r)
	if len(r.Switches) != 0 {
		t.Errorf("the client switched %d times, want 0: %v", len(r.Switches), r.Switches)
	}
	if n := acquired(b) - acqB; n != 0 {
		t.Errorf("lbB took the VIP %d times, want 0", n)
	}
	if n := acquired(a) - acqA; n != 0 {
		t.Errorf("lbA let go of the VIP and took it again %d times, want 0", n)
	}
	if strings.Contains(b.Agent.Log(), "member crashed") {
		t.Error("lbB took a link flap for a crash")
	}
}

// TestCrashAndQuickRestartLeavesOneHolder: the holder's agent is killed
// and restarted 300 ms later (before gossip would even have declared it
// dead): lbB takes over on the crash signal, and once the restarted lbA
// (priority 150) is back, exactly one node holds the VIP — the restarted
// run's meta, not the crashed run's, decides.
func TestCrashAndQuickRestartLeavesOneHolder(t *testing.T) {
	c := NewCluster(t, Options{})
	vipLogOnFailure(t, c)
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	for round := range 2 {
		if h := c.WaitOneHolder(40 * time.Second); h != a {
			t.Fatalf("round %d: holder %s, want lbA", round, h.Name)
		}
		a.Agent.Kill()
		time.Sleep(300 * time.Millisecond) // restarted within 1 s, as systemd might
		a.Agent.Start()
		WaitFor(t, "lbA back in lbB's view", 40*time.Second, func() bool { return b.alive() == 2 })
		h := c.WaitOneHolder(20 * time.Second)
		assertOneHolderFor(t, c, h, 2*time.Second)
		t.Logf("round %d: after the restart, %s alone holds the VIP", round, h.Name)
		if h != a {
			t.Errorf("round %d: holder %s after convergence, want lbA (priority 150, preempt)", round, h.Name)
		}
	}
}
