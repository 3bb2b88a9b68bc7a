package vip

import (
	"net/netip"
	"time"
)

// hostNet is the host side the Manager drives, implemented with netlink
// and packet sockets on Linux (addr_linux.go) and by a fake in tests.
type hostNet interface {
	addrTable
	addrParker
	announcer
	linkChecker
	linkProber
	close() error
}

// addrTable holds the VIP interface's addresses.
type addrTable interface {
	// replaceAddr adds p, or refreshes it, with valid and preferred
	// lifetimes of lifetime (whole seconds, at least 1).
	replaceAddr(p netip.Prefix, lifetime time.Duration) error
	// removeAddr removes p; an absent address is not an error.
	removeAddr(p netip.Prefix) error
	// listAddrs returns the interface's addresses.
	listAddrs() ([]netip.Prefix, error)
}

// addrParker keeps a released address for the connections in flight
// without claiming it on the link (park.go).
type addrParker interface {
	// parkAddr moves p from the VIP interface to lo, as a host address
	// with lifetime, after the interface stops answering ARP for it.
	parkAddr(p netip.Prefix, lifetime time.Duration) error
	// unparkAddr removes p from lo; last restores the interface's ARP
	// settings.
	unparkAddr(p netip.Prefix, last bool) error
}

// announcer tells the link that this host now answers for ip.
type announcer interface {
	// announce sends a gratuitous ARP request and reply (IPv4) or an
	// unsolicited neighbour advertisement (IPv6) for ip.
	announce(ip netip.Addr) error
}

// linkProber asks the link who answers for an IPv4 address: the check that
// lets a node without quorum keep or take a VIP that no other host has.
type linkProber interface {
	// probe sends an ARP probe (RFC 5227) for ip and listens, from then
	// on, for ARP packets in which other hosts claim addresses.
	probe(ip netip.Addr) error
	// heard returns the claims by other hosts (not this interface's MAC)
	// received since the last call, without blocking.
	heard() ([]claim, error)
	// stopListening closes what probe opened; probe opens it again.
	stopListening()
}

// linkChecker reads a tracked interface's state.
type linkChecker interface {
	// linkUp reports whether the interface is administratively up and
	// running (carrier: keepalived's IFF_UP && IFF_RUNNING).
	linkUp(name string) (bool, error)
	// resolveAgain deletes the interface's neighbour entries the kernel
	// could not resolve (incomplete or failed), so that the next packet to
	// each resolves it at once (after a carrier flap: see linkBlock).
	resolveAgain(name string) error
}

// Announcement bursts. A takeover is announced at once and then every
// burstGap, burstCount times in all (about 5 s), as MetalLB does: a single
// gratuitous ARP or NA can be lost on a busy or just-reconfigured link, a
// neighbour that updated its entry less than its locktime ago (Linux:
// 1 s) may ignore the first one, and some switches and hosts only move
// their entry on a later one. The same burst follows a healed split or a
// peer's competing claim, so that the winner is the last one heard.
const (
	burstCount = 6
	burstGap   = time.Second
)

// burst schedules the announcements of one takeover.
type burst struct {
	next time.Time
	left int
}

func (b *burst) start(now time.Time) { b.next, b.left = now, burstCount }

func (b *burst) stop() { b.left = 0 }

// due reports whether an announcement is due now, and schedules the next.
func (b *burst) due(now time.Time) bool {
	if b.left == 0 || now.Before(b.next) {
		return false
	}
	b.left--
	b.next = now.Add(burstGap)
	return true
}
