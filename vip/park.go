package vip

import (
	"net/netip"
	"time"
)

// Parking a released address.
//
// A holder that hands a VIP over (Release, or preempted by a better node)
// cannot simply delete the address once the new holder has announced it:
// the requests still in flight on this node would never be answered,
// because Linux sends nothing from an address it no longer has. So with
// Config.ParkTime set, the address is parked instead: moved to lo as a
// host route, with a lifetime of ParkTime, after the VIP interface stopped
// speaking ARP for addresses that are not its own (arp_ignore 1) and
// stopped using them as the source of its ARP requests (arp_announce 2).
// Parked, the address answers the connections this node already has and
// claims nothing on the link: its old ARP requests, sourced from the VIP,
// would otherwise pull the clients back to this node. IPv6 needs no such
// setting: Linux answers neighbour solicitations only for addresses of the
// interface they arrive on.
//
// Parked are the addresses of VIPs another node now holds: a handover
// (Release, preempt) or a dual claim this node lost. A parked address goes
// when ParkTime has passed, when this node takes the VIP again, or, at the
// end of Run, when Unpark is called (after the balancer has drained) —
// whichever is first. Its lifetime removes it even if the agent is killed
// meanwhile. A VIP let go for a fault (no quorum, ineligible, a stale
// view) is removed at once, as before: a fenced node must not answer for
// it.

// parkedAddr is one address parked on lo.
type parkedAddr struct {
	vip   string
	until time.Time
}

// park moves v's address to lo for ParkTime, or removes it when parking is
// off or fails.
func (m *Manager) park(now time.Time, v *vipState, why string) {
	if m.cfg.ParkTime <= 0 {
		m.drop(v, why)
		return
	}
	if err := m.host.parkAddr(v.heldAddr, m.cfg.ParkTime); err != nil {
		m.noteErr(v, "park address", err)
		// Nothing half-done stays: no copy on lo and, with nothing else
		// parked, the interface's ARP settings as they were.
		if err := m.host.unparkAddr(v.heldAddr, len(m.parked) == 0); err != nil {
			m.noteErr(v, "undo park", err)
		}
		m.drop(v, why)
		return
	}
	if m.parked == nil {
		m.parked = map[netip.Prefix]parkedAddr{}
	}
	m.parked[v.heldAddr] = parkedAddr{vip: v.name, until: now.Add(m.cfg.ParkTime)}
	v.holding = false
	v.burst.stop()
	m.log.Info("released vip; its address stays on lo for the connections in flight", "vip", v.name,
		"address", v.heldAddr.String(), "reason", why, "for", m.cfg.ParkTime)
}

// unparkDue removes the parked addresses whose time has come.
func (m *Manager) unparkDue(now time.Time) {
	for p, pa := range m.parked {
		if !now.Before(pa.until) {
			m.unpark(p)
		}
	}
}

// unpark removes parked address p (absent: nothing to do); the last one
// out puts the interface's ARP settings back.
func (m *Manager) unpark(p netip.Prefix) {
	pa, ok := m.parked[p]
	if !ok {
		return
	}
	if err := m.host.unparkAddr(p, len(m.parked) == 1); err != nil {
		m.log.Warn("vip operation failed", "vip", pa.vip, "err", err)
	}
	delete(m.parked, p)
	m.log.Debug("removed a parked vip address", "vip", pa.vip, "address", p.String())
}

// waitUnpark, at the end of Run, keeps the parked addresses until Unpark
// is called or the last one is due, then removes them.
func (m *Manager) waitUnpark() {
	if len(m.parked) == 0 {
		return
	}
	var last time.Time
	for _, pa := range m.parked {
		if pa.until.After(last) {
			last = pa.until
		}
	}
	t := time.NewTimer(last.Sub(m.now()))
	defer t.Stop()
	select {
	case <-m.drained:
	case <-t.C:
	}
	for p := range m.parked {
		m.unpark(p)
	}
}

// Unpark tells a stopping Manager that the addresses it parked are no
// longer needed (the balancer has drained): Run removes them and returns.
// Safe to call more than once, and before Run ends.
func (m *Manager) Unpark() { m.drainedOnce.Do(func() { close(m.drained) }) }
