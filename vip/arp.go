package vip

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
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
