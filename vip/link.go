package vip

import (
	"fmt"
	"time"
)

// The links this node depends on: its VIP interface and tracked
// interfaces (linkBlock), and the probing of the VIP link without quorum
// (probeLink, linkGuard).

// linkDownAfter is how long an interface that was up must stay down (or
// missing) before it blocks this node: a carrier flap of ~100 ms (a
// switch port renegotiating, a cable reseated) must not move the VIPs —
// nobody else can reach the clients better meanwhile, and peers, cut off
// the same way, would take over only after the link came back. An
// interface never seen up blocks at once.
//
// A carrier loss also makes the kernel forget the interface's neighbour
// entries; a packet sent meanwhile leaves an entry that it re-resolves
// only after retrans_time (1 s), so for a second after the flap this node
// could not answer its peers' probes, and they would declare it dead.
// When the carrier comes back, linkBlock deletes the unresolved entries:
// the next packet to a peer resolves it at once.
const linkDownAfter = 250 * time.Millisecond

// linkBlock checks the VIP interface itself (like keepalived's FAULT
// state: a node whose interface is gone or down cannot hold a VIP, and
// must not preempt a holder that can; e.g. Docker renames a container's
// interface eth1 after a network disconnect and connect), then the
// tracked interfaces; one that was up blocks only once it has been down
// for linkDownAfter.
func (m *Manager) linkBlock(now time.Time) string {
	if m.linkDown == nil {
		m.linkDown, m.linkSeenUp = map[string]time.Time{}, map[string]bool{}
	}
	block := ""
	for i, name := range append([]string{m.cfg.Interface}, m.cfg.TrackInterfaces...) {
		kind := "tracked interface"
		if i == 0 {
			kind = "vip interface"
		}
		up, err := m.host.linkUp(name)
		if err == nil && up {
			m.linkSeenUp[name] = true
			if _, was := m.linkDown[name]; was {
				delete(m.linkDown, name)
				if err := m.host.resolveAgain(name); err != nil {
					m.log.Warn("resolve neighbours again after a carrier loss", "iface", name, "err", err)
				}
			}
			continue
		}
		since, ok := m.linkDown[name]
		if !ok {
			since = now
			m.linkDown[name] = now
		}
		if block != "" || m.linkSeenUp[name] && now.Sub(since) < linkDownAfter {
			continue
		}
		if err != nil {
			block = fmt.Sprintf("%s %s: %v", kind, name, err)
		} else {
			block = fmt.Sprintf("%s %s is down", kind, name)
		}
	}
	return block
}

// Link probing without quorum. DESIGN.md fences a node that sees fewer
// than a majority of the voters: it cannot tell dead peers from a
// partition, and a minority must not answer for a VIP the majority side
// may have taken. But when the peers are dead (one LB host and the
// witness lost), fencing turns a survivable failure into an outage. The
// link can tell the two apart for the question that matters: does another
// host answer for the address where the clients are? So a node without
// quorum probes each IPv4 VIP with RFC 5227 ARP probes and listens for
// claims (ARP from another MAC with the VIP as sender, e.g. the majority
// holder's replies and gratuitous ARP):
//   - a holder keeps the VIP until another host claims it (then it lets go
//     at once: the majority side has taken over);
//   - a non-holder may take it after linkClearAfter of probing with no
//     claim from anyone (a killed holder's address keeps answering until
//     its lifetime expires, so this waits for that too).
//
// A partition that splits the clients' link as well leaves each side
// serving the clients it can reach, as keepalived does. IPv6 VIPs are not
// probed: without quorum they are released, as before.
const (
	probeEvery     = 250 * time.Millisecond
	linkClearAfter = time.Second
)

// probeLink sends due probes and records claims heard since the last step
// while on (no quorum); otherwise it stops listening and forgets.
func (m *Manager) probeLink(now time.Time, on bool) {
	if !on {
		if m.probing {
			m.host.stopListening()
			m.probing = false
			for _, v := range m.states {
				v.probingSince, v.nextProbe, v.otherAt, v.otherMAC = time.Time{}, time.Time{}, time.Time{}, ""
			}
		}
		return
	}
	if m.probing {
		claims, err := m.host.heard()
		if err != nil {
			m.log.Debug("read arp claims", "err", err)
		}
		for _, c := range claims {
			for _, v := range m.states {
				if v.address.Addr() == c.addr {
					if v.otherAt.IsZero() || now.Sub(v.otherAt) >= linkClearAfter {
						m.log.Info("another host answers for the vip on the link", "vip", v.name, "mac", c.mac.String())
					}
					v.otherAt, v.otherMAC = now, c.mac.String()
				}
			}
		}
	}
	for _, v := range m.states {
		if !v.address.Addr().Is4() || now.Before(v.nextProbe) {
			continue
		}
		v.nextProbe = now.Add(probeEvery)
		if err := m.host.probe(v.address.Addr()); err != nil {
			m.noteErr(v, "probe", err)
			continue
		}
		m.probing = true
		if v.probingSince.IsZero() {
			v.probingSince = now
		}
	}
}

// linkGuard says why v is blocked without quorum, or "" when the link
// shows that no other host has it (see probeLink).
func (m *Manager) linkGuard(now time.Time, v *vipState, noQuorum string) string {
	addr := v.address.Addr()
	switch {
	case !addr.Is4():
		return noQuorum + " (IPv6 VIPs are not probed on the link)"
	case v.probingSince.IsZero():
		return noQuorum + "; cannot probe the link"
	case !v.otherAt.IsZero() && now.Sub(v.otherAt) < linkClearAfter:
		return fmt.Sprintf("%s, and %s answers for %s on %s", noQuorum, v.otherMAC, addr, m.cfg.Interface)
	case !v.holding && now.Sub(v.probingSince) < linkClearAfter:
		return fmt.Sprintf("%s; probing %s on %s for another holder", noQuorum, addr, m.cfg.Interface)
	}
	return ""
}
