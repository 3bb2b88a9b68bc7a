package vip

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no node", Config{Interface: "eth0"}, "node"},
		{"no interface", Config{Node: "a"}, "interface"},
		{"priority out of range", Config{Node: "a", Interface: "eth0", Priority: map[string]int{"web": 256}}, "priority.web"},
		{"lifetime under a second", Config{Node: "a", Interface: "eth0", AddressLifetime: 500 * time.Millisecond}, "address_lifetime"},
		{"negative refresh", Config{Node: "a", Interface: "eth0", RefreshInterval: -time.Second}, "refresh_interval"},
		{"script without command", Config{Node: "a", Interface: "eth0", TrackScript: &Script{}}, "track_script.command"},
		{"script weight out of range", Config{Node: "a", Interface: "eth0", TrackScript: &Script{Command: "true", Weight: 300}}, "track_script.weight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error about %s", err, tt.want)
			}
		})
	}
	if _, err := New(Config{Node: "a", Interface: "eth0"}, Deps{}); err != nil {
		t.Errorf("New with a minimal config: %v", err)
	}
}

func TestManagerAcquiresWhenElected(t *testing.T) {
	h := newHarness(t, Config{Priority: map[string]int{"web": 150}})
	h.setup(webVIP(), view(0, mem("b", 100, "e")))
	h.step()
	if diff := cmp.Diff(map[string]time.Duration{"10.0.0.100/24": 5 * time.Second}, h.lifetimes()); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(VIPMeta{Priority: 150, Eligible: true, Holding: true}, h.meta("web")); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	st := h.status("web")
	if st.Holder != "a" || st.State != StateHolder {
		t.Errorf("status holder %q state %s, want a holder", st.Holder, st.State)
	}
	if _, n := h.host.counts(); n != 1 {
		t.Errorf("%d announcements at takeover, want 1 at once", n)
	}
	h.stepFor(7 * time.Second)
	replaces, n := h.host.counts()
	if n != burstCount {
		t.Errorf("%d announcements after the burst, want %d", n, burstCount)
	}
	if replaces < 7 || replaces > 9 {
		t.Errorf("address replaced %d times in 7 s, want a renewal about every second", replaces)
	}
}

func (h *harness) lifetimes() map[string]time.Duration {
	h.host.mu.Lock()
	defer h.host.mu.Unlock()
	out := map[string]time.Duration{}
	for p, d := range h.host.addrs {
		out[p.String()] = d
	}
	return out
}

func TestManagerAcquiresNothingBeforeTheFirstView(t *testing.T) {
	h := newHarness(t, Config{})
	h.m.Update([]config.VIP{webVIP()})
	h.m.SetReady(map[string]bool{"http": true})
	h.stepFor(time.Second)
	if got := h.host.addresses(); len(got) != 0 {
		t.Errorf("addresses %v before any view, want none", got)
	}
	if st := h.status("web"); st.State != StateBackup || h.meta("web").Eligible {
		t.Errorf("state %s eligible %v, want backup and not eligible", st.State, h.meta("web").Eligible)
	}
}

func TestManagerLeavesTheVIPToABetterNode(t *testing.T) {
	h := newHarness(t, Config{})
	h.setup(webVIP(), view(0, mem("b", 200, "e")))
	h.stepFor(time.Second)
	if got := h.host.addresses(); len(got) != 0 {
		t.Errorf("addresses %v, want none: b has a higher priority", got)
	}
	if st := h.status("web"); st.Holder != "b" || st.State != StateBackup {
		t.Errorf("status holder %q state %s, want b and backup", st.Holder, st.State)
	}
}

func TestManagerPreemptsAfterPreemptDelay(t *testing.T) {
	h := newHarness(t, Config{Priority: map[string]int{"web": 150}})
	h.setup(webVIP(preemptDelay(2*time.Second)), view(0, mem("b", 100, "eh")))
	h.step() // the wait starts here
	h.stepFor(1900 * time.Millisecond)
	if h.host.has("10.0.0.100/24") {
		t.Fatal("took the VIP over before preempt_delay")
	}
	h.step()
	if !h.host.has("10.0.0.100/24") {
		t.Fatal("did not take the VIP over after preempt_delay")
	}
}

func TestManagerNopreemptKeepsAHealthyHolder(t *testing.T) {
	h := newHarness(t, Config{Priority: map[string]int{"web": 150}})
	h.setup(webVIP(nopreempt), view(0, mem("b", 100, "eh")))
	h.stepFor(5 * time.Second)
	if h.host.has("10.0.0.100/24") {
		t.Fatal("took the VIP from a healthy holder under nopreempt")
	}
	h.m.SetView(view(0, mem("b", 100, "ehd"))) // the holder dies
	h.step()
	if !h.host.has("10.0.0.100/24") {
		t.Fatal("did not take the VIP over from a dead holder")
	}
}

// A preempted holder keeps the VIP until the new holder claims it (make
// before break), at most handoverTimeout.
// Regression: a claim already gossiped when Release starts (b lost a dual
// claim, and a's view does not show the withdrawal yet) is not a takeover.
// Regression: a node frozen (SIGSTOP) while holding must, when it resumes,
// drop the VIP before anything else and not compete for it until a view
// received StaleHold after the gap, even if the first views it gets (built
// before gossip caught up) still name it the holder.
// With preempt, a frozen higher-priority node takes the VIP back, but only
// after a fresh view, through the ordinary preempt path.
// TestManagerQuorumFencing: without quorum (1 of 3 voters alive) a node
// probes the link. A holder keeps the VIP while no other host claims it
// and lets go at once when one does; a non-holder takes it only after
// linkClearAfter with no claim; an IPv6 VIP is released.
func TestManagerQuorumFencing(t *testing.T) {
	h := newHarness(t, Config{})
	h.setup(webVIP(), view(3, mem("b", 50, "e"), mem("c", 50, "e")))
	h.step()
	if !h.host.has("10.0.0.100/24") || h.host.probeCount() != 0 {
		t.Fatalf("with quorum: holds %v, probes %d; want held, no probes", h.host.addresses(), h.host.probeCount())
	}
	h.m.SetView(view(3, mem("b", 50, "ed"), mem("c", 50, "ed")))
	h.stepFor(2 * time.Second)
	if !h.host.has("10.0.0.100/24") {
		t.Fatalf("dropped the VIP without quorum although nobody else answers for it: %s", h.status("web").Reason)
	}
	if n := h.host.probeCount(); n < 6 || n > 10 {
		t.Errorf("%d probes in 2s, want one per %s", n, probeEvery)
	}
	if !h.m.LocalMeta().Fault || !h.m.LocalMeta().VIPs["web"].Eligible {
		t.Errorf("meta %+v, want fault and eligible", h.m.LocalMeta())
	}

	h.host.otherHostClaims("10.0.0.100")
	h.step()
	if h.host.has("10.0.0.100/24") {
		t.Fatal("kept the VIP without quorum while another host answers for it")
	}
	if st := h.status("web"); st.State != StateFault || !strings.Contains(st.Reason, "answers for 10.0.0.100") {
		t.Errorf("state %s reason %q, want fault naming the other host", st.State, st.Reason)
	}
	h.stepFor(linkClearAfter - 2*tick)
	if h.host.has("10.0.0.100/24") {
		t.Fatal("took the VIP back before the link was clear for linkClearAfter")
	}
	h.stepFor(3 * tick)
	if !h.host.has("10.0.0.100/24") {
		t.Fatalf("did not take the VIP once nobody answered for it: %s", h.status("web").Reason)
	}

	h.m.SetView(view(3, mem("b", 50, "e"), mem("c", 50, "ed")))
	h.step()
	probes := h.host.probeCount()
	h.stepFor(time.Second)
	if h.host.probeCount() != probes || h.host.listening || h.m.LocalMeta().Fault {
		t.Fatal("still probing or in fault with quorum regained")
	}
}

func TestManagerQuorumFencingIPv6(t *testing.T) {
	h := newHarness(t, Config{})
	v := webVIP()
	v.Address = "fd00::100/64"
	h.setup(v, view(3, mem("b", 50, "e"), mem("c", 50, "e")))
	h.step()
	if !h.host.has("fd00::100/64") {
		t.Fatal("did not acquire with quorum")
	}
	h.m.SetView(view(3, mem("b", 50, "ed"), mem("c", 50, "ed")))
	h.step()
	if h.host.has("fd00::100/64") {
		t.Fatal("kept an IPv6 VIP without quorum (no ARP probing for IPv6)")
	}
}

func TestManagerIneligible(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		break_ func(h *harness)
		reason string
		flap   bool // a link: down for less than linkDownAfter changes nothing
	}{
		{"frontend not ready", Config{}, func(h *harness) { h.m.SetReady(map[string]bool{"http": false}) }, "frontend http is not ready", false},
		{"tracked interface down", Config{TrackInterfaces: []string{"eth1"}}, func(h *harness) {
			h.host.mu.Lock()
			h.host.down["eth1"] = true
			h.host.mu.Unlock()
		}, "tracked interface eth1 is down", true},
		{"vip interface down", Config{}, func(h *harness) {
			h.host.mu.Lock()
			h.host.down["eth0"] = true
			h.host.mu.Unlock()
		}, "vip interface eth0 is down", true},
		{"track script failing", Config{TrackScript: &Script{Command: "true"}}, func(h *harness) {
			h.m.mu.Lock()
			h.m.track.ok = false
			h.m.mu.Unlock()
		}, "track script failing", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			h.m.track.ok = true
			h.setup(webVIP(), view(0, mem("b", 50, "e")))
			h.step()
			if !h.host.has("10.0.0.100/24") {
				t.Fatal("did not acquire while eligible")
			}
			tt.break_(h)
			h.step()
			if tt.flap {
				if !h.host.has("10.0.0.100/24") || !h.meta("web").Eligible {
					t.Fatalf("let go of the VIP %v after the link went down, want only after %v", tick, linkDownAfter)
				}
				// A flap: back up within linkDownAfter, the unresolved
				// neighbours are resolved again; then down for good.
				h.host.mu.Lock()
				clear(h.host.down)
				h.host.mu.Unlock()
				h.step()
				if h.host.mu.Lock(); len(h.host.resolved) != 1 {
					t.Errorf("resolveAgain called for %v after the flap, want once", h.host.resolved)
				}
				h.host.mu.Unlock()
				tt.break_(h)
				h.stepFor(linkDownAfter + 2*tick)
			}
			if h.host.has("10.0.0.100/24") {
				t.Fatal("kept the VIP while ineligible")
			}
			st := h.status("web")
			if st.State != StateFault || st.Reason != tt.reason || h.meta("web").Eligible {
				t.Errorf("state %s reason %q eligible %v, want fault %q and not eligible", st.State, st.Reason, h.meta("web").Eligible, tt.reason)
			}
		})
	}
}

func TestManagerScriptWeightChangesPriority(t *testing.T) {
	h := newHarness(t, Config{TrackScript: &Script{Command: "true", Weight: -60}})
	h.setup(webVIP(), view(0, mem("b", 90, "e")))
	h.step() // script not run yet: failing, 100-60 = 40 < 90
	if got := h.meta("web"); got.Priority != 40 || !got.Eligible || h.host.has("10.0.0.100/24") {
		t.Errorf("meta %+v, holds %v: want priority 40, eligible, not holding", got, h.host.has("10.0.0.100/24"))
	}
	h.m.mu.Lock()
	h.m.track.observe(true)
	h.m.mu.Unlock()
	h.step()
	if got := h.meta("web"); got.Priority != 100 || !h.host.has("10.0.0.100/24") {
		t.Errorf("meta %+v, want priority 100 and holding once the script passes", got)
	}
}

func TestManagerRemovesStaleAddressesAtStart(t *testing.T) {
	h := newHarness(t, Config{})
	h.host.addrs[prefix("10.0.0.100/24")] = 0 // left by a killed agent
	h.host.addrs[prefix("10.0.0.5/24")] = 0   // the host's own address
	h.m.Update([]config.VIP{webVIP()})
	h.step()
	if diff := cmp.Diff([]string{"10.0.0.5/24"}, h.host.addresses()); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
}

func TestManagerFollowsConfigChanges(t *testing.T) {
	h := newHarness(t, Config{})
	h.setup(webVIP(), view(0))
	h.step()
	h.m.Update([]config.VIP{webVIP(func(v *config.VIP) { v.Address = "10.0.0.101/24" })})
	h.step()
	if diff := cmp.Diff([]string{"10.0.0.101/24"}, h.host.addresses()); diff != "" {
		t.Errorf("addresses after an address change (-want +got):\n%s", diff)
	}
	h.m.Update(nil)
	h.step()
	if got := h.host.addresses(); len(got) != 0 || len(h.m.Status()) != 0 {
		t.Errorf("addresses %v, status %v after the VIP left the config, want none", got, h.m.Status())
	}
}

func TestManagerIPv6(t *testing.T) {
	h := newHarness(t, Config{})
	h.setup(webVIP(func(v *config.VIP) { v.Address = "fd00::100/64" }), view(0))
	h.step()
	h.host.mu.Lock()
	defer h.host.mu.Unlock()
	if _, ok := h.host.addrs[prefix("fd00::100/64")]; !ok || len(h.host.announced) != 1 || h.host.announced[0].String() != "fd00::100" {
		t.Errorf("addrs %v announced %v, want fd00::100/64 added and announced", h.host.addrs, h.host.announced)
	}
}

func TestManagerSignalsChanged(t *testing.T) {
	h := newHarness(t, Config{})
	h.setup(webVIP(), view(0, mem("b", 200, "e")))
	h.step()
	select {
	case <-h.m.Changed():
	default:
		t.Fatal("no Changed signal after the first step")
	}
	h.step()
	select {
	case <-h.m.Changed():
		t.Fatal("Changed signalled without a change")
	default:
	}
	h.m.SetView(view(0, mem("b", 200, "ed")))
	h.step() // a takes the VIP: holding changes
	select {
	case <-h.m.Changed():
	default:
		t.Fatal("no Changed signal after taking the VIP")
	}
}

func TestManagerKeepsTheLast50Transitions(t *testing.T) {
	h := newHarness(t, Config{})
	h.setup(webVIP(), view(0))
	for i := range 60 {
		h.m.SetReady(map[string]bool{"http": i%2 == 1})
		h.step()
	}
	st := h.status("web")
	if len(st.Transitions) != maxTransitions {
		t.Fatalf("%d transitions, want %d", len(st.Transitions), maxTransitions)
	}
	last := st.Transitions[len(st.Transitions)-1]
	if last.From != StateFault || last.To != StateHolder {
		t.Errorf("last transition %s -> %s, want fault -> holder", last.From, last.To)
	}
}

func TestRunAcquiresAndReleasesOnStop(t *testing.T) {
	out := t.TempDir() + "/notify.log"
	r := startRun(t, Config{Node: "a", Interface: "eth0", StaleHold: 300 * time.Millisecond,
		NotifyCommand: `echo "$TANDEM_VIP_STATE" >> ` + out})
	m, host := r.m, r.host
	// Views keep coming, as from the agent, so that a stall of the loop
	// under -race (which makes it drop the VIP) heals.
	feedViews(t, m, view(0))
	waitFor(t, "the VIP to be added", 5*time.Second, func() bool { return host.has("10.0.0.100/24") })
	if err := m.Run(context.Background()); err == nil {
		t.Error("a second concurrent Run: want an error")
	}
	r.cancel()
	if err := r.wait(t, 15*time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := host.addresses(); len(got) != 0 {
		t.Errorf("addresses %v after a clean stop, want none", got)
	}
	if got := m.LocalMeta().VIPs["web"]; got.Holding || got.Eligible {
		t.Errorf("meta %+v after stop, want neither holding nor eligible", got)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	if !slices.Contains(lines, "holder") || lines[len(lines)-1] != "backup" {
		t.Errorf("notifications %q, want holder, and backup last", lines)
	}
}

func TestManagerWitnessNeverHolds(t *testing.T) {
	h := newHarness(t, Config{})
	h.setup(webVIP(), View{Members: []Member{{Name: "a", Alive: true, Role: roleWitness}}})
	h.stepFor(time.Second)
	if got := h.host.addresses(); len(got) != 0 || h.meta("web").Eligible {
		t.Errorf("a witness holds %v (eligible %v), want nothing", got, h.meta("web").Eligible)
	}
}
