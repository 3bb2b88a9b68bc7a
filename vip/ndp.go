package vip

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/ndp"
)

var (
	// allNodes is ff02::1, where unsolicited neighbour advertisements go.
	allNodes = netip.MustParseAddr("ff02::1")
	// allNodesMAC is allNodes' multicast MAC (33:33 + its last 4 bytes).
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
)

const ipv6HdrLen = 40

// buildUnsolicitedNA returns the Ethernet frame of an unsolicited neighbour
// advertisement (RFC 4861 7.2.6) for ip from mac, sent to all nodes
// (ff02::1) with the Override flag and a target link-layer address option,
// so that neighbours replace their cache entry for ip. The source address is
// ip itself, as keepalived does: it is assigned to the interface, and the
// VIP interface need not have a usable link-local address yet. Hop limit is
// 255, as receivers require.
func buildUnsolicitedNA(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("build neighbor advertisement: want a 6-byte MAC (got %d bytes)", len(mac))
	}
	if !ip.Is6() || ip.Is4In6() {
		return nil, fmt.Errorf("build neighbor advertisement: want an IPv6 address (got %s)", ip)
	}
	na := &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: ip,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	icmp, err := ndp.MarshalMessageChecksum(na, ip, allNodes)
	if err != nil {
		return nil, fmt.Errorf("build neighbor advertisement for %s: %w", ip, err)
	}
	b := make([]byte, etherHdrLen+ipv6HdrLen, etherHdrLen+ipv6HdrLen+len(icmp))
	copy(b[0:6], allNodesMAC)
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:14], etherTypeIPv6)
	h := b[etherHdrLen:]
	h[0] = 6 << 4 // version 6, traffic class and flow label 0
	binary.BigEndian.PutUint16(h[4:6], uint16(len(icmp)))
	h[6] = 58  // next header: ICMPv6
	h[7] = 255 // hop limit
	src, dst := ip.As16(), allNodes.As16()
	copy(h[8:24], src[:])
	copy(h[24:40], dst[:])
	return append(b, icmp...), nil
}
