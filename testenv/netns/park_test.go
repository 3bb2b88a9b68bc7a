package netns

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGracefulStopAnswersRequestsInFlight: requests in flight on the holder
// at SIGTERM are answered after the VIP moved to the other node. The old
// holder parks the address on lo until its balancer has drained, and with
// the interface's arp_ignore/arp_announce raised meanwhile it claims
// nothing: the client stays with the new holder.
func TestGracefulStopAnswersRequestsInFlight(t *testing.T) {
	c := NewCluster(t, Options{})
	c.Start()
	a, b := c.Nodes[0], c.Nodes[1]
	if h := c.WaitOneHolder(40 * time.Second); h != a {
		t.Fatalf("holder %s, want lbA", h.Name)
	}
	c.Touch()
	const n = 20
	errs := make([]error, n)
	served := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			inNamespace(t, c.Client, func() { served[i], errs[i] = slowGet(VIP, 1500*time.Millisecond) })
		})
	}
	time.Sleep(300 * time.Millisecond) // every request has reached lbA
	began := time.Now()
	a.Agent.Stop()
	stopTook := time.Since(began)
	wg.Wait()
	failed, onA := 0, 0
	for i := range n {
		switch {
		case errs[i] != nil:
			failed++
			t.Errorf("request %d in flight at the stop: %v", i, errs[i])
		case served[i] == "site-lbA":
			onA++
		}
	}
	t.Logf("graceful stop of the holder took %v; %d slow requests, %d of them on lbA, %d failed",
		stopTook.Round(time.Millisecond), n, onA, failed)
	// A request that reached lbA only after the handover (a very slow
	// machine) was served by lbB: fine, but most must have been in flight
	// on lbA for the test to mean anything.
	if onA < n/2 {
		t.Errorf("only %d of %d slow requests were in flight on lbA at the stop", onA, n)
	}

	// While lbA parked the address and after: only lbB has it on its
	// link, the client's neighbour entry names lbB, and lbB answers.
	if h := c.Holders(); len(h) != 1 || h[0] != b.Host.NS {
		t.Errorf("holders on the link after the stop: %v, want only lbB", h)
	}
	if mac := c.NeighMAC(); mac != b.Host.MAC {
		t.Errorf("client's neighbour entry for the VIP: %s, want lbB's %s (the parked address pulled the client back?)", mac, b.Host.MAC)
	}
	if s, err := c.Get(); err != nil || s != "site-lbB" {
		t.Errorf("after the stop: served by %q (%v), want site-lbB", s, err)
	}
	if out := c.Exec(a.Host.NS, "ip", "-o", "addr", "show", "dev", "lo"); strings.Contains(out, " "+VIP+"/") {
		t.Errorf("the stopped lbA still has the VIP on lo: %s", out)
	}
	for _, s := range []string{"arp_ignore", "arp_announce"} {
		if got := strings.TrimSpace(c.Exec(a.Host.NS, "sysctl", "-n", "net.ipv4.conf.eth0."+s)); got != "0" {
			t.Errorf("lbA's eth0 %s = %q after the stop, want it put back to 0", s, got)
		}
	}
}
