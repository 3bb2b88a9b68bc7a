package vip

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// arpOp is an ARP operation code (RFC 826).
type arpOp uint16

const (
	arpRequest arpOp = 1
	arpReply   arpOp = 2
)

func (o arpOp) String() string {
	switch o {
	case arpRequest:
		return "request"
	case arpReply:
		return "reply"
	}
	return fmt.Sprintf("arpOp(%d)", uint16(o))
}

const (
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
	etherHdrLen   = 14
	arpLen        = 28
	// minFrameLen is Ethernet's minimum frame length without the FCS; a
	// shorter frame is padded with zeros (most NICs would do it, veth and
	// some drivers do not).
	minFrameLen = 60
)

var ethBroadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// buildGratuitousARP returns the Ethernet frame of a gratuitous ARP for ip
// from mac: broadcast, sender and target protocol address both ip, target
// hardware address broadcast. Both forms are sent because hosts differ in
// which one updates their cache (RFC 5227 announcements are requests;
// older stacks and some switches only learn from replies), the same pair
// MetalLB and keepalived send.
func buildGratuitousARP(mac net.HardwareAddr, ip netip.Addr, op arpOp) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("build gratuitous arp: want a 6-byte MAC (got %d bytes)", len(mac))
	}
	if !ip.Is4() {
		return nil, fmt.Errorf("build gratuitous arp: want an IPv4 address (got %s)", ip)
	}
	b := make([]byte, minFrameLen)
	copy(b[0:6], ethBroadcast)
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:14], etherTypeARP)
	a := b[etherHdrLen : etherHdrLen+arpLen]
	binary.BigEndian.PutUint16(a[0:2], 1)      // hardware type: Ethernet
	binary.BigEndian.PutUint16(a[2:4], 0x0800) // protocol type: IPv4
	a[4], a[5] = 6, 4                          // hardware and protocol address lengths
	binary.BigEndian.PutUint16(a[6:8], uint16(op))
	ip4 := ip.As4()
	copy(a[8:14], mac)
	copy(a[14:18], ip4[:])
	copy(a[18:24], ethBroadcast)
	copy(a[24:28], ip4[:])
	return b, nil
}

// buildARPProbe returns an RFC 5227 ARP probe for ip from mac: a
// broadcast request with sender protocol address 0.0.0.0, so that it asks
// who answers for ip without teaching anyone's cache that mac has it.
// Hosts that hold ip answer it (Linux does, for duplicate detection).
func buildARPProbe(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	b, err := buildGratuitousARP(mac, ip, arpRequest)
	if err != nil {
		return nil, fmt.Errorf("build arp probe: %w", err)
	}
	a := b[etherHdrLen : etherHdrLen+arpLen]
	clear(a[14:18])                 // sender protocol address: unspecified
	copy(a[18:24], make([]byte, 6)) // target hardware address: unknown
	return b, nil
}

// claim is an ARP packet in which a host says it has an address: its
// sender hardware and protocol addresses.
type claim struct {
	addr netip.Addr
	mac  net.HardwareAddr
}

// parseARPClaim reads the Ethernet frame of an ARP packet (request or
// reply) and returns its sender's claim. ok is false for anything else:
// not Ethernet/IPv4 ARP, truncated, or a probe (sender address 0.0.0.0,
// which claims nothing). It never panics on garbage.
func parseARPClaim(frame []byte) (c claim, ok bool) {
	if len(frame) < etherHdrLen+arpLen || binary.BigEndian.Uint16(frame[12:14]) != etherTypeARP {
		return claim{}, false
	}
	a := frame[etherHdrLen : etherHdrLen+arpLen]
	if binary.BigEndian.Uint16(a[0:2]) != 1 || binary.BigEndian.Uint16(a[2:4]) != 0x0800 || a[4] != 6 || a[5] != 4 {
		return claim{}, false
	}
	if op := arpOp(binary.BigEndian.Uint16(a[6:8])); op != arpRequest && op != arpReply {
		return claim{}, false
	}
	ip := netip.AddrFrom4([4]byte(a[14:18]))
	if ip.IsUnspecified() {
		return claim{}, false
	}
	return claim{addr: ip, mac: net.HardwareAddr(slices.Clone(a[8:14]))}, true
}
