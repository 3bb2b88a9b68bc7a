package vip

import (
	"errors"
	"testing"
	"time"
)

func (h *fakeHost) isParked(p string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.parked[prefix(p)]
	return ok
}

// A VIP handed over (preempted, or released) is parked for ParkTime, not
// removed; taking it back removes the parked copy; a fault removes the
// address at once.
func TestManagerParksAHandedOverAddress(t *testing.T) {
	const addr = "10.0.0.100/24"
	h := newHarness(t, Config{ParkTime: 2 * time.Second})
	h.setup(webVIP(), view(0))
	h.step()
	h.m.SetView(view(0, mem("b", 150, "eh"))) // b preempts and claims
	h.step()
	if h.host.has(addr) || !h.host.isParked(addr) {
		t.Fatalf("after the handover: on the interface %v, parked %v; want parked only", h.host.has(addr), h.host.isParked(addr))
	}
	h.stepFor(2*time.Second - tick)
	if !h.host.isParked(addr) {
		t.Fatal("unparked before ParkTime")
	}
	h.step()
	if h.host.isParked(addr) {
		t.Fatal("still parked after ParkTime")
	}

	// Parked, then b dies: a takes it back, the parked copy goes.
	h.m.SetView(view(0, mem("b", 150, "")))
	h.step()
	if !h.host.has(addr) {
		t.Fatal("b ineligible: a did not take the VIP")
	}
	h.m.SetView(view(0, mem("b", 150, "eh")))
	h.step()
	if !h.host.isParked(addr) {
		t.Fatal("second handover: not parked")
	}
	h.m.SetView(view(0, mem("b", 150, "d")))
	h.step()
	if !h.host.has(addr) || h.host.isParked(addr) {
		t.Fatalf("b died: on the interface %v, parked %v; want held and not parked", h.host.has(addr), h.host.isParked(addr))
	}

	// A fault (the frontend stops being ready) removes it outright, even
	// though b claims it.
	h.m.SetView(view(0, mem("b", 150, "h")))
	h.m.SetReady(map[string]bool{"http": false})
	h.step()
	if h.host.has(addr) || h.host.isParked(addr) {
		t.Fatalf("fault: on the interface %v, parked %v; want removed", h.host.has(addr), h.host.isParked(addr))
	}
}

// A park that fails is undone (the ARP settings put back, nothing else
// being parked) and the address removed, as without parking.
func TestManagerUndoesAFailedPark(t *testing.T) {
	h := newHarness(t, Config{ParkTime: 2 * time.Second})
	h.host.failPark = errors.New("no lo")
	h.setup(webVIP(), view(0))
	h.step()
	h.m.SetView(view(0, mem("b", 150, "eh")))
	h.step()
	if h.host.has("10.0.0.100/24") || h.host.isParked("10.0.0.100/24") {
		t.Fatal("a failed park: want the address removed, not parked")
	}
	if got := h.host.unparks; len(got) != 1 || !got[0] {
		t.Errorf("unparkAddr calls %v, want one that restores the ARP settings", got)
	}
}

func TestManagerWithoutParkTimeRemovesAtOnce(t *testing.T) {
	h := newHarness(t, Config{})
	h.setup(webVIP(), view(0))
	h.step()
	h.m.SetView(view(0, mem("b", 150, "eh")))
	h.step()
	if h.host.has("10.0.0.100/24") || h.host.isParked("10.0.0.100/24") {
		t.Fatal("handed over without ParkTime: want the address removed, not parked")
	}
}

// At the end of Run a parked address stays until Unpark (the balancer has
// drained), then goes.
func TestRunKeepsParkedAddressesUntilUnpark(t *testing.T) {
	r := startRun(t, Config{Node: "a", Interface: "eth0", ParkTime: time.Minute})
	m, host := r.m, r.host
	m.SetView(view(0))
	waitFor(t, "the VIP to be added", 5*time.Second, func() bool { return host.has("10.0.0.100/24") })
	m.SetView(view(0, mem("b", 150, "eh")))
	waitFor(t, "the VIP to be parked", 5*time.Second, func() bool { return host.isParked("10.0.0.100/24") })
	r.cancel()
	select {
	case err := <-r.errc:
		t.Fatalf("Run returned (%v) with an address parked and no Unpark", err)
	case <-time.After(300 * time.Millisecond):
	}
	if !host.isParked("10.0.0.100/24") {
		t.Fatal("the parked address went before Unpark")
	}
	m.Unpark()
	m.Unpark() // twice is fine
	if err := r.wait(t, 5*time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if host.isParked("10.0.0.100/24") {
		t.Fatal("still parked after Run returned")
	}
}
