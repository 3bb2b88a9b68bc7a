package netns

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Bounds of the tests. The agents are race-built and share two cores with
// the test, so they are looser than bench/failover's targets (median
// 0.5 s, max 1 s on a plain build).
const (
	// maxGap bounds the longest time the client gets no answer. A backup
	// starved for > 300 ms by other jobs on the machine fences itself for
	// 2 s (vip's stall guard) and takes over only then: ~2.5 s.
	maxGap      = 3500 * time.Millisecond
	maxFailures = 350 // failed probes (one every 10 ms) per failover
	// maxHandoverFailures bounds the failed connections of a planned stop
	// while the known issue below is open (the bench saw 0-8).
	maxHandoverFailures = 20
	// maxMakeBeforeBreakFailures bounds the failed connections of one
	// make-before-break handover, and each must be a reset (see
	// TestGracefulStopIsMakeBeforeBreak).
	maxMakeBeforeBreakFailures = 1
	lifetime                   = 5 * time.Second // vip.DefaultAddressLifetime
)

// checkProbe fails the test when the client saw too long a gap or too many
// failures, and returns the result.
func checkProbe(t *testing.T, what string, r ProbeResult, gap time.Duration, failures int) {
	t.Helper()
	t.Logf("%s: %s", what, r)
	if r.Requests < 50 {
		t.Errorf("%s: the probe sent only %d requests", what, r.Requests)
	}
	if got := time.Duration(r.LongestGapMS * float64(time.Millisecond)); got > gap {
		t.Errorf("%s: the client got no answer for %v, want at most %v", what, got, gap)
	}
	if r.Failures > failures {
		t.Errorf("%s: %d requests failed, want at most %d", what, r.Failures, failures)
	}
}

// baseline lets the probe measure a steady period before an event and
// after convergence. It is a measurement window, not synchronisation.
func baseline() { time.Sleep(700 * time.Millisecond) }

// assertOneHolderFor samples both namespaces for d and fails if at any
// sample both hold the VIP or none does.
func assertOneHolderFor(t *testing.T, c *Cluster, want *Node, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); {
		h := c.Holders()
		if len(h) != 1 || h[0] != want.Host.NS {
			t.Fatalf("holders %v, want only %s (%s)", h, want.Name, want.Host.NS)
		}
		time.Sleep(50 * time.Millisecond) // sampling period, not synchronisation
	}
}

// TestHardKillMovesVIPAndExpiresTheStaleAddress: SIGKILL of the holder;
// the other node takes the VIP, the client's neighbour entry names its MAC,
// the client's failed requests are bounded, and the killed node's address
// (nobody left to remove it) is gone within its lifetime.
func TestHardKillMovesVIPAndExpiresTheStaleAddress(t *testing.T) {
	c := NewCluster(t, Options{})
	c.Start()
	holder := c.WaitOneHolder(10 * time.Second)
	if holder != c.Nodes[0] {
		t.Fatalf("holder %s, want lbA (priority 150)", holder.Name)
	}
	other := c.Other(holder)

	p := c.StartProbe(30 * time.Second)
	baseline()
	killed := time.Now()
	holder.Agent.Kill()
	took := WaitFor(t, other.Name+" to hold the VIP", 5*time.Second, func() bool { return c.Holds(other.Host.NS) })
	t.Logf("%s added the VIP %v after the kill", other.Name, took)
	WaitFor(t, "the client's neighbour entry to name "+other.Name, 5*time.Second, func() bool {
		return c.NeighMAC() == other.Host.MAC
	})
	WaitFor(t, "the client to be served by "+other.Name, 5*time.Second, func() bool {
		s, err := c.Get()
		return err == nil && s == "site-"+other.Name
	})
	baseline()
	r := p.Stop()
	checkProbe(t, "hard kill", r, maxGap, maxFailures)

	WaitFor(t, "the killed node's address to expire", lifetime+time.Second-time.Since(killed), func() bool {
		return !c.Holds(holder.Host.NS)
	})
	t.Logf("the killed node's address was gone %v after the kill", time.Since(killed).Round(10*time.Millisecond))
	assertOneHolderFor(t, c, other, time.Second)
}

// TestRestartedNodeHoldsNoStaleVIP: the holder is killed and restarted at
// once, now with a lower priority: its previous run's address is swept
// before the kernel's lifetime would drop it, and it never holds the VIP
// while the other node does.
func TestRestartedNodeHoldsNoStaleVIP(t *testing.T) {
	c := NewCluster(t, Options{})
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	if h := c.WaitOneHolder(10 * time.Second); h != a {
		t.Fatalf("holder %s, want lbA", h.Name)
	}
	killed := time.Now()
	a.Agent.Kill()
	if !c.Holds(a.Host.NS) {
		t.Fatal("the killed node's address is already gone: nothing stale to test")
	}
	for i, arg := range a.Agent.Args {
		if arg == VIPName+"=150" {
			a.Agent.Args[i] = VIPName + "=50"
		}
	}
	a.Agent.Start()
	// The address was renewed at most ~1 s before the kill with a 5 s
	// lifetime: gone before kill+3.8 s means the new run removed it.
	WaitFor(t, "the restarted node to remove its stale VIP", 3800*time.Millisecond-time.Since(killed), func() bool {
		return !c.Holds(a.Host.NS)
	})
	t.Logf("stale address removed %v after the kill", time.Since(killed).Round(10*time.Millisecond))
	WaitFor(t, "lbA back in lbB's view", 30*time.Second, func() bool { return b.alive() == 2 })
	if h := c.WaitOneHolder(10 * time.Second); h != b {
		t.Fatalf("holder %s, want lbB (lbA restarted with priority 50)", h.Name)
	}
	assertOneHolderFor(t, c, b, 2*time.Second)
}

// TestFrozenHolderLetsGoAfterThaw: SIGSTOP of the holder; the other node
// serves within the bound; after SIGCONT the thawed node drops the address
// it still has at once (it must not keep it), and any move back is a
// handover: the two never both hold the VIP for longer than one.
func TestFrozenHolderLetsGoAfterThaw(t *testing.T) {
	c := NewCluster(t, Options{})
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	if h := c.WaitOneHolder(10 * time.Second); h != a {
		t.Fatalf("holder %s, want lbA", h.Name)
	}
	p := c.StartProbe(60 * time.Second)
	baseline()
	frozen := time.Now()
	a.Agent.Freeze()
	WaitFor(t, "lbB to serve the client while lbA is frozen", 5*time.Second, func() bool {
		s, err := c.Get()
		return err == nil && s == "site-lbB"
	})
	t.Logf("lbB served %v after the freeze", time.Since(frozen).Round(10*time.Millisecond))
	if mac := c.NeighMAC(); mac != b.Host.MAC {
		t.Errorf("client's neighbour entry %s, want lbB's %s", mac, b.Host.MAC)
	}
	baseline()
	r := p.Stop()
	checkProbe(t, "freeze", r, maxGap, maxFailures)
	if !c.Holds(a.Host.NS) {
		t.Fatal("the frozen node's address is already gone: thaw test is moot")
	}

	p = c.StartProbe(60 * time.Second)
	thawed := time.Now()
	a.Agent.Thaw()
	WaitFor(t, "the thawed node to drop the VIP", 1500*time.Millisecond, func() bool { return !c.Holds(a.Host.NS) })
	t.Logf("thawed node dropped the VIP %v after SIGCONT", time.Since(thawed).Round(10*time.Millisecond))
	// Watch for 8 s: lbA may preempt back (priority 150) by a handover,
	// whose overlap is one gossip round.
	var both time.Duration
	last := time.Now()
	for time.Since(thawed) < 8*time.Second {
		h := c.Holders()
		now := time.Now()
		if len(h) == 2 {
			both += now.Sub(last)
		}
		last = now
		time.Sleep(30 * time.Millisecond) // sampling period
	}
	if both > 600*time.Millisecond {
		t.Errorf("both nodes held the VIP for %v after the thaw, want only a handover's overlap", both)
	}
	holder := c.WaitOneHolder(10 * time.Second)
	r = p.Stop()
	t.Logf("after thaw: holder %s, both held for ~%v", holder.Name, both)
	checkProbe(t, "thaw", r, 1000*time.Millisecond, 30)
}

// TestGracefulStopHandsOverWithoutFailedConnections: SIGTERM of the holder
// hands the VIP over before the listeners close: no new connection fails;
// its restart (priority 150) takes the VIP back by a handover, also without
// a failed connection.
func TestGracefulStopHandsOverWithoutFailedConnections(t *testing.T) {
	c := NewCluster(t, Options{})
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	if h := c.WaitOneHolder(10 * time.Second); h != a {
		t.Fatalf("holder %s, want lbA", h.Name)
	}
	p := c.StartProbe(60 * time.Second)
	baseline()
	a.Agent.Stop()
	if h := c.WaitOneHolder(5 * time.Second); h != b {
		t.Fatalf("holder after the stop %s, want lbB", h.Name)
	}
	baseline()
	r := p.Stop()
	checkProbe(t, "graceful stop", r, 600*time.Millisecond, maxHandoverFailures)
	if len(r.Switches) != 1 {
		t.Errorf("client saw %d switches, want 1: %v", len(r.Switches), r.Switches)
	}

	p = c.StartProbe(60 * time.Second)
	a.Agent.Start()
	WaitFor(t, "lbA to take the VIP back", 40*time.Second, func() bool {
		return c.Holds(a.Host.NS) && !c.Holds(b.Host.NS)
	})
	c.WaitOneHolder(5 * time.Second)
	baseline()
	r = p.Stop()
	checkProbe(t, "preempt back after restart", r, 600*time.Millisecond, 0)
}

// TestGracefulStopIsMakeBeforeBreak: on SIGTERM the holder hands the VIP
// over (the other node takes it while the stopping node still has it), so
// not one new connection fails, also on a second stop after a restart.
func TestGracefulStopIsMakeBeforeBreak(t *testing.T) {
	c := NewCluster(t, Options{})
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	for round := range 2 {
		if h := c.WaitOneHolder(40 * time.Second); h != a {
			t.Fatalf("round %d: holder %s, want lbA", round, h.Name)
		}
		p := c.StartProbe(60 * time.Second)
		baseline()
		a.Agent.Stop()
		if h := c.WaitOneHolder(5 * time.Second); h != b {
			t.Fatalf("round %d: holder after the stop %s, want lbB", round, h.Name)
		}
		baseline()
		// A request in flight on lbA is answered: lbA parks the address
		// until it has drained (TestGracefulStopAnswersRequestsInFlight).
		// What remains is inherent to moving an address by ARP: a
		// connection whose handshake reached lbA and whose request left
		// the client after lbB's gratuitous ARP is reset by lbB (a window
		// of one round trip). At most one, and only a reset: a timeout
		// would be a request lbA could not answer.
		r := p.Stop()
		checkProbe(t, fmt.Sprintf("graceful stop %d", round), r, 600*time.Millisecond, maxMakeBeforeBreakFailures)
		for e, n := range r.Errors {
			if !strings.Contains(e, "reset") {
				t.Errorf("round %d: %d requests failed with %q, want none but a reset", round, n, e)
			}
		}
		if log := a.Agent.Log(); strings.Contains(log, "hand over vips") {
			t.Errorf("round %d: the handover did not complete: %s", round, lastLine(log, "hand over vips"))
		}
		a.Agent.Start()
	}
}

func lastLine(log, substr string) string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], substr) {
			return lines[i]
		}
	}
	return ""
}

// TestLinkDownMovesVIP: the holder's cable is pulled (its bridge port goes
// down): the other node takes the VIP and the client follows; the
// unplugged node (tracking eth0) lets go; once plugged back the two
// converge on one holder.
func TestLinkDownMovesVIP(t *testing.T) {
	track := []string{"--vip-track-interface", "eth0"}
	c := NewCluster(t, Options{ExtraArgs: [2][]string{track, track}})
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	if h := c.WaitOneHolder(10 * time.Second); h != a {
		t.Fatalf("holder %s, want lbA", h.Name)
	}
	p := c.StartProbe(60 * time.Second)
	baseline()
	c.LinkDown(0)
	took := WaitFor(t, "lbB to hold the VIP", 5*time.Second, func() bool { return c.Holds(b.Host.NS) })
	t.Logf("lbB took the VIP %v after the link went down", took)
	WaitFor(t, "the client's neighbour entry to name lbB", 5*time.Second, func() bool { return c.NeighMAC() == b.Host.MAC })
	WaitFor(t, "the unplugged lbA to drop the VIP", 5*time.Second, func() bool { return !c.Holds(a.Host.NS) })
	baseline()
	r := p.Stop()
	checkProbe(t, "link down", r, maxGap, maxFailures)

	c.LinkUp(0)
	WaitFor(t, "both nodes alive again", 40*time.Second, func() bool { return a.alive() == 2 && b.alive() == 2 })
	h := c.WaitOneHolder(20 * time.Second)
	t.Logf("after the link came back: holder %s", h.Name)
	if _, err := c.Get(); err != nil {
		t.Fatal(err)
	}
}

// TestFrontendUnableToBindIsNotEligible: another process holds *:80
// (without SO_REUSEPORT) in lbA's namespace before its agent starts: lbA
// cannot serve, so lbB holds the VIP despite lbA's higher priority; once
// the port is free lbA serves and takes the VIP.
func TestFrontendUnableToBindIsNotEligible(t *testing.T) {
	c := NewCluster(t, Options{})
	a, b := c.Nodes[0], c.Nodes[1]
	blocker := NewProc(t, "blocker", a.Host.NS, c.Bin, "testsite", "--name", "blocker",
		"--listen", "0.0.0.0:80", "--root", t.TempDir())
	blocker.Start()
	WaitFor(t, "the blocker to listen on *:80", 10*time.Second, func() bool {
		return strings.Contains(c.Exec(a.Host.NS, "ss", "-Htln", "sport = :80"), ":80")
	})
	for _, n := range c.Nodes {
		n.Agent.Start()
	}
	WaitFor(t, "lbB to see lbA", 60*time.Second, func() bool { return b.alive() == 2 })
	if h := c.WaitOneHolder(20 * time.Second); h != b {
		t.Fatalf("holder %s, want lbB (lbA cannot bind *:80)", h.Name)
	}
	assertOneHolderFor(t, c, b, 3*time.Second)
	if s, err := c.Get(); err != nil || s != "site-lbB" {
		t.Fatalf("client served by %q (%v), want site-lbB", s, err)
	}

	blocker.Kill()
	WaitFor(t, "lbA to take the VIP once it can bind", 30*time.Second, func() bool {
		return c.Holds(a.Host.NS) && !c.Holds(b.Host.NS)
	})
	if h := c.WaitOneHolder(10 * time.Second); h != a {
		t.Fatalf("holder %s, want lbA", h.Name)
	}
}

// TestKilledHolderRestartsWithoutDualHolders: the holder is killed, the
// other takes over, the killed node restarts (priority 150) and takes the
// VIP back. Both namespaces may have the address only briefly (the
// restarted node's stale address until its sweep, a handover's overlap),
// never for seconds: the lower-priority node must let go once the
// restarted node claims.
func TestKilledHolderRestartsWithoutDualHolders(t *testing.T) {
	c := NewCluster(t, Options{})
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	for i := range 3 {
		if h := c.WaitOneHolder(20 * time.Second); h != a {
			t.Fatalf("round %d: holder %s, want lbA", i, h.Name)
		}
		a.Agent.Kill()
		// Restart while the killed node's address may still be there
		// (as an operator or systemd would, at once).
		WaitFor(t, "lbB to take over", 10*time.Second, func() bool {
			return c.Holds(b.Host.NS) && c.NeighMAC() == b.Host.MAC
		})
		a.Agent.Start()
		var both time.Duration
		last := time.Now()
		WaitFor(t, "lbA alone to hold the VIP after its restart", 40*time.Second, func() bool {
			h := c.Holders()
			now := time.Now()
			if len(h) == 2 {
				both += now.Sub(last)
			}
			last = now
			return len(h) == 1 && h[0] == a.Host.NS
		})
		t.Logf("round %d: both namespaces had the address for ~%v", i, both.Round(10*time.Millisecond))
		if both > time.Second {
			t.Errorf("round %d: both nodes held the VIP for %v after lbA's restart", i, both)
		}
		WaitFor(t, "both nodes alive", 30*time.Second, func() bool { return a.alive() == 2 && b.alive() == 2 })
	}
}
