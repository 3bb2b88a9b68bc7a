package vip

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestManagerHandsOverWhenPreempted(t *testing.T) {
	for _, claims := range []bool{true, false} {
		name := map[bool]string{true: "new holder claims", false: "new holder never claims"}[claims]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.setup(webVIP(), view(0))
			h.step()
			h.m.SetView(view(0, mem("b", 150, "e")))
			h.step()
			if !h.host.has("10.0.0.100/24") || !strings.Contains(h.status("web").Reason, "handing over") {
				t.Fatalf("dropped the VIP before b claims it (reason %q)", h.status("web").Reason)
			}
			if !claims {
				h.stepFor(handoverTimeout - 2*tick)
				if !h.host.has("10.0.0.100/24") {
					t.Fatal("gave up before the handover timeout")
				}
				h.stepFor(2 * tick)
			} else {
				h.m.SetView(view(0, mem("b", 150, "eh")))
				h.step()
			}
			if h.host.has("10.0.0.100/24") {
				t.Fatal("still holds the VIP")
			}
		})
	}
}

func TestManagerReleaseHandsOver(t *testing.T) {
	h := newHarness(t, Config{Priority: map[string]int{"web": 150}})
	h.setup(webVIP(), view(0, mem("b", 100, "e")))
	h.step()
	done := make(chan error, 1)
	go func() { done <- h.m.Release(context.Background(), "web") }()
	waitFor(t, "Release to mark the VIP", 5*time.Second, func() bool {
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		return h.m.releasing["web"]
	})
	h.step()
	if got := h.meta("web"); !got.Releasing || !got.Holding {
		t.Fatalf("meta %+v, want releasing and still holding until b claims", got)
	}
	select {
	case err := <-done:
		t.Fatalf("Release returned %v before the handover", err)
	default:
	}
	h.m.SetView(view(0, mem("b", 100, "eh")))
	h.step()
	if h.host.has("10.0.0.100/24") {
		t.Fatal("still holds the VIP after b claimed it")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Release: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Release did not return after the handover")
	}
	h.stepFor(time.Second)
	if h.host.has("10.0.0.100/24") {
		t.Fatal("took a released VIP back")
	}
	h.m.Reclaim("web")
	h.step()
	if !h.host.has("10.0.0.100/24") {
		t.Fatal("did not take the VIP back (preempt) after Reclaim")
	}
}

func TestManagerReleaseIgnoresAClaimOlderThanTheRelease(t *testing.T) {
	h := newHarness(t, Config{Priority: map[string]int{"web": 150}})
	h.setup(webVIP(), view(0, mem("b", 100, "eh")))
	h.step()
	go func() { _ = h.m.Release(context.Background(), "web") }()
	waitFor(t, "Release to mark the VIP", 5*time.Second, func() bool {
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		return h.m.releasing["web"]
	})
	h.step()
	h.step()
	if !h.host.has("10.0.0.100/24") {
		t.Fatal("dropped the VIP on a claim older than the release")
	}
	h.m.SetView(view(0, mem("b", 100, "e"))) // b's withdrawal arrives
	h.step()
	if !h.host.has("10.0.0.100/24") {
		t.Fatal("dropped the VIP before b took it over")
	}
	h.m.SetView(view(0, mem("b", 100, "eh"))) // b takes it over
	h.step()
	if h.host.has("10.0.0.100/24") {
		t.Fatal("kept the VIP after b took it over")
	}
}

func TestManagerReleaseWithNobodyToTakeOver(t *testing.T) {
	h := newHarness(t, Config{})
	h.setup(webVIP(), view(0, mem("b", 100, "")))
	h.step()
	done := make(chan error, 1)
	go func() { done <- h.m.Release(context.Background(), "") }()
	waitFor(t, "Release to mark all VIPs", 5*time.Second, func() bool {
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		return h.m.releaseAll
	})
	h.step()
	if h.host.has("10.0.0.100/24") {
		t.Fatal("kept the VIP although no node can take it over")
	}
	if err := <-done; err != nil {
		t.Fatalf("Release: %v", err)
	}
}

func TestManagerReleaseErrors(t *testing.T) {
	h := newHarness(t, Config{})
	h.setup(webVIP(), view(0, mem("b", 100, "e")))
	if err := h.m.Release(context.Background(), "nope"); err == nil {
		t.Error("Release of an unknown VIP: want an error")
	}
	h.step() // a holds it; b is eligible but never claims, and nobody steps
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.m.Release(ctx, "web"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Release without steps = %v, want the context's error", err)
	}
}

func TestManagerFrozenNodeDropsAndWaitsForAFreshView(t *testing.T) {
	h := newHarness(t, Config{Priority: map[string]int{"web": 150}})
	h.setup(webVIP(nopreempt), view(0, mem("b", 100, "e")))
	h.step()
	if !h.host.has("10.0.0.100/24") {
		t.Fatal("did not acquire")
	}
	replaces, _ := h.host.counts()
	h.advance(time.Second) // frozen; b takes the VIP over meanwhile
	h.m.SetView(view(0, mem("b", 100, "e")))
	h.step()
	if h.host.has("10.0.0.100/24") {
		t.Fatal("kept the VIP after a freeze")
	}
	if got := h.meta("web"); got.Eligible || got.Holding {
		t.Errorf("meta %+v after a freeze, want neither eligible nor holding", got)
	}
	if st := h.status("web"); st.State != StateFault || !strings.Contains(st.Reason, "stale view") {
		t.Errorf("state %s (%q), want fault for a stale view", st.State, st.Reason)
	}
	// Stale views keep naming a the holder during the hold: no fight.
	for range int(DefaultStaleHold/tick) - 2 {
		h.m.SetView(view(0, mem("b", 100, "e")))
		h.step()
	}
	if r, _ := h.host.counts(); r != replaces || h.host.has("10.0.0.100/24") {
		t.Fatal("re-acquired the VIP before a fresh view")
	}
	h.stepFor(3 * tick)
	h.m.SetView(view(0, mem("b", 100, "eh"))) // fresh: b holds it
	h.stepFor(5 * time.Second)
	if h.host.has("10.0.0.100/24") {
		t.Fatal("took the VIP back from b under nopreempt after the freeze")
	}
	if got := h.meta("web"); !got.Eligible {
		t.Errorf("meta %+v after a fresh view, want eligible again", got)
	}
}

func TestManagerFrozenNodeRejoinsThroughPreempt(t *testing.T) {
	h := newHarness(t, Config{Priority: map[string]int{"web": 150}})
	h.setup(webVIP(), view(0, mem("b", 100, "e")))
	h.step()
	h.advance(5 * time.Second)
	h.step()
	if h.host.has("10.0.0.100/24") {
		t.Fatal("kept the VIP after a freeze")
	}
	h.m.SetView(view(0, mem("b", 100, "eh")))
	h.stepFor(DefaultStaleHold)
	if h.host.has("10.0.0.100/24") {
		t.Fatal("preempted before a fresh view")
	}
	h.m.SetView(view(0, mem("b", 100, "eh")))
	h.step()
	if !h.host.has("10.0.0.100/24") {
		t.Fatal("did not preempt after a fresh view")
	}
}

func TestManagerDualClaim(t *testing.T) {
	t.Run("loser drops at once", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.setup(webVIP(), view(0))
		h.step()
		h.m.SetView(view(0, mem("b", 150, "eh")))
		h.step()
		if h.host.has("10.0.0.100/24") {
			t.Fatal("kept the VIP against a higher-priority claimer")
		}
	})
	t.Run("winner keeps it and announces again", func(t *testing.T) {
		h := newHarness(t, Config{Priority: map[string]int{"web": 150}})
		h.setup(webVIP(), view(0))
		h.stepFor(7 * time.Second)
		h.m.SetView(view(0, mem("b", 100, "eh")))
		h.step()
		if !h.host.has("10.0.0.100/24") {
			t.Fatal("dropped the VIP against a lower-priority claimer")
		}
		if _, n := h.host.counts(); n != burstCount+1 {
			t.Errorf("%d announcements, want a new burst to start", n)
		}
		h.stepFor(6 * time.Second)
		if _, n := h.host.counts(); n != 2*burstCount {
			t.Errorf("%d announcements, want two full bursts (%d)", n, 2*burstCount)
		}
	})
}

func TestManagerReannouncesWhenASplitHeals(t *testing.T) {
	h := newHarness(t, Config{Priority: map[string]int{"web": 150}})
	h.setup(webVIP(), view(0, mem("b", 100, "ed")))
	h.stepFor(7 * time.Second)
	h.m.SetView(view(0, mem("b", 100, "e")))
	h.step()
	if _, n := h.host.counts(); n != burstCount+1 {
		t.Errorf("%d announcements, want a new burst when b came back", n)
	}
}

// A holder handing over announces nothing more (no rest of its burst, no
// refresh, no re-announce when the taker's claim appears): a gratuitous
// ARP of its own after the taker's would pull the clients back to it.
func TestManagerReleaseAnnouncesNothingWhileHandingOver(t *testing.T) {
	h := newHarness(t, Config{Priority: map[string]int{"web": 150}})
	h.setup(webVIP(), view(0, mem("b", 100, "e")))
	h.step()
	if !h.host.has("10.0.0.100/24") {
		t.Fatal("did not take the VIP")
	}
	_, before := h.host.counts()
	go func() { _ = h.m.Release(context.Background(), "web") }()
	waitFor(t, "Release to mark the VIP", 5*time.Second, func() bool {
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		return h.m.releasing["web"]
	})
	// b's claim arrives with the release's first step: too early to count
	// as the taker's, and new to this node.
	h.m.SetView(view(0, mem("b", 100, "eh")))
	h.stepFor(time.Second)
	if !h.host.has("10.0.0.100/24") {
		t.Fatal("dropped the VIP on a claim that came with the release")
	}
	if _, after := h.host.counts(); after != before {
		t.Fatalf("announced the VIP %d times while handing it over", after-before)
	}
	h.m.SetView(view(0, mem("b", 100, "e")))
	h.step()
	h.m.SetView(view(0, mem("b", 100, "eh"))) // b takes it over
	h.step()
	if h.host.has("10.0.0.100/24") {
		t.Fatal("kept the VIP after b took it over")
	}
	if _, after := h.host.counts(); after != before {
		t.Fatalf("announced the VIP %d times during the handover", after-before)
	}
}
