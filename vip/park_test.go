package vip

import (
	"context"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
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
	m, err := New(Config{Node: "a", Interface: "eth0", ParkTime: time.Minute}, Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	host := newFakeHost()
	m.host = host
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	m.Update([]config.VIP{webVIP()})
	m.SetReady(map[string]bool{"http": true})
	m.SetView(view(0))
	waitFor(t, "the VIP to be added", 5*time.Second, func() bool { return host.has("10.0.0.100/24") })
	m.SetView(view(0, mem("b", 150, "eh")))
	waitFor(t, "the VIP to be parked", 5*time.Second, func() bool { return host.isParked("10.0.0.100/24") })
	cancel()
	select {
	case err := <-errc:
		t.Fatalf("Run returned (%v) with an address parked and no Unpark", err)
	case <-time.After(300 * time.Millisecond):
	}
	if !host.isParked("10.0.0.100/24") {
		t.Fatal("the parked address went before Unpark")
	}
	m.Unpark()
	m.Unpark() // twice is fine
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Unpark")
	}
	if host.isParked("10.0.0.100/24") {
		t.Fatal("still parked after Run returned")
	}
}
