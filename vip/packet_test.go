package vip

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/ndp"
)

var testMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}

func TestBuildGratuitousARP(t *testing.T) {
	ip := netip.MustParseAddr("10.0.0.100")
	head := func(op byte) []byte {
		return []byte{
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // Ethernet destination: broadcast
			0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // Ethernet source
			0x08, 0x06, // EtherType ARP
			0x00, 0x01, // hardware type Ethernet
			0x08, 0x00, // protocol type IPv4
			0x06, 0x04, // address lengths
			0x00, op, // operation
			0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // sender MAC
			0x0a, 0x00, 0x00, 0x64, // sender IP 10.0.0.100
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // target MAC: broadcast
			0x0a, 0x00, 0x00, 0x64, // target IP 10.0.0.100
		}
	}
	pad := make([]byte, 18) // to the 60-byte Ethernet minimum
	tests := []struct {
		op   arpOp
		want []byte
	}{
		{arpRequest, append(head(1), pad...)},
		{arpReply, append(head(2), pad...)},
	}
	for _, tt := range tests {
		t.Run(tt.op.String(), func(t *testing.T) {
			got, err := buildGratuitousARP(testMAC, ip, tt.op)
			if err != nil {
				t.Fatalf("buildGratuitousARP: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("frame (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildGratuitousARPRejectsBadInput(t *testing.T) {
	if _, err := buildGratuitousARP(testMAC, netip.MustParseAddr("fd00::1"), arpRequest); err == nil {
		t.Error("IPv6 address: want an error")
	}
	if _, err := buildGratuitousARP(net.HardwareAddr{1, 2, 3}, netip.MustParseAddr("10.0.0.1"), arpRequest); err == nil {
		t.Error("short MAC: want an error")
	}
}

func TestBuildUnsolicitedNA(t *testing.T) {
	ip := netip.MustParseAddr("fd00::100")
	frame, err := buildUnsolicitedNA(testMAC, ip)
	if err != nil {
		t.Fatalf("buildUnsolicitedNA: %v", err)
	}
	wantHead := []byte{
		0x33, 0x33, 0x00, 0x00, 0x00, 0x01, // Ethernet destination: all-nodes multicast
		0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // Ethernet source
		0x86, 0xdd, // EtherType IPv6
		0x60, 0x00, 0x00, 0x00, // version 6, class 0, flow 0
		0x00, 0x20, // payload length 32
		58,                                                      // next header ICMPv6
		255,                                                     // hop limit
		0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // source fd00::100
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // destination ff02::1
	}
	wantICMP := []byte{
		136, 0, // type neighbour advertisement, code 0
		0, 0, // checksum: checked below
		0x20, 0, 0, 0, // flags: Override only (not Router, not Solicited)
		0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // target fd00::100
		2, 1, // option: target link-layer address, 8 bytes
		0x02, 0x00, 0x5e, 0x10, 0x20, 0x30,
	}
	if len(frame) != len(wantHead)+len(wantICMP) {
		t.Fatalf("frame is %d bytes, want %d", len(frame), len(wantHead)+len(wantICMP))
	}
	if diff := cmp.Diff(wantHead, frame[:len(wantHead)]); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	icmp := bytes.Clone(frame[len(wantHead):])
	sum := binary.BigEndian.Uint16(icmp[2:4])
	icmp[2], icmp[3] = 0, 0
	if diff := cmp.Diff(wantICMP, icmp); diff != "" {
		t.Errorf("ICMPv6 (-want +got):\n%s", diff)
	}
	if want := icmpv6Checksum(ip, allNodes, icmp); sum != want {
		t.Errorf("checksum = %#04x, want %#04x", sum, want)
	}

	msg, err := ndp.ParseMessage(frame[len(wantHead):])
	if err != nil {
		t.Fatalf("ndp.ParseMessage: %v", err)
	}
	na, ok := msg.(*ndp.NeighborAdvertisement)
	if !ok {
		t.Fatalf("parsed %T, want *ndp.NeighborAdvertisement", msg)
	}
	want := &ndp.NeighborAdvertisement{Override: true, TargetAddress: ip,
		Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: testMAC}}}
	if diff := cmp.Diff(want, na, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("parsed NA (-want +got):\n%s", diff)
	}
}

func TestBuildUnsolicitedNARejectsIPv4(t *testing.T) {
	if _, err := buildUnsolicitedNA(testMAC, netip.MustParseAddr("10.0.0.1")); err == nil {
		t.Error("IPv4 address: want an error")
	}
}

// icmpv6Checksum is RFC 4443's checksum over the IPv6 pseudo header and
// msg (whose checksum field is zero), computed independently of ndp.
func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var b []byte
	s, d := src.As16(), dst.As16()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(msg)))
	b = append(b, 0, 0, 0, 58)
	b = append(b, msg...)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func TestBuildARPProbeAndParseClaim(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	ip := netip.MustParseAddr("10.0.0.100")
	probe, err := buildARPProbe(mac, ip)
	if err != nil {
		t.Fatal(err)
	}
	a := probe[etherHdrLen:]
	if op := binary.BigEndian.Uint16(a[6:8]); op != uint16(arpRequest) {
		t.Errorf("probe op %d, want request", op)
	}
	if !bytes.Equal(a[14:18], []byte{0, 0, 0, 0}) || !bytes.Equal(a[18:24], make([]byte, 6)) || !bytes.Equal(a[24:28], ip.AsSlice()) {
		t.Errorf("probe body % x: want sender 0.0.0.0, target MAC zero, target IP %s", a[:arpLen], ip)
	}
	if _, ok := parseARPClaim(probe); ok {
		t.Error("a probe (sender 0.0.0.0) parsed as a claim")
	}
	for _, op := range []arpOp{arpRequest, arpReply} {
		g, _ := buildGratuitousARP(mac, ip, op)
		c, ok := parseARPClaim(g)
		if !ok || c.addr != ip || c.mac.String() != mac.String() {
			t.Errorf("gratuitous %s: claim %+v %v, want %s at %s", op, c, ok, ip, mac)
		}
	}
	g, _ := buildGratuitousARP(mac, ip, arpReply)
	for name, frame := range map[string][]byte{
		"empty":     nil,
		"truncated": g[:etherHdrLen+arpLen-1],
		"not arp":   append([]byte{}, g[:12]...),
		"ipv6 type": func() []byte { b := bytes.Clone(g); b[12], b[13] = 0x86, 0xdd; return b }(),
		"bad hlen":  func() []byte { b := bytes.Clone(g); b[etherHdrLen+4] = 8; return b }(),
		"bad op":    func() []byte { b := bytes.Clone(g); b[etherHdrLen+7] = 9; return b }(),
	} {
		if _, ok := parseARPClaim(frame); ok {
			t.Errorf("%s: parsed as a claim", name)
		}
	}
}

func FuzzParseARPClaim(f *testing.F) {
	g, _ := buildGratuitousARP(net.HardwareAddr{2, 0, 0, 0, 0, 1}, netip.MustParseAddr("10.0.0.1"), arpReply)
	f.Add(g)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, ok := parseARPClaim(b); ok && (!c.addr.Is4() || len(c.mac) != 6 || c.addr.IsUnspecified()) {
			t.Fatalf("bad claim %+v from % x", c, b)
		}
	})
}
