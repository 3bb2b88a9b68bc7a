package rules

import (
	"net/netip"
)

// ipIndex matches addresses against networks with a binary trie per
// family; the longest matching network wins, as HAProxy's prefix trees do
// (pattern.c pat_match_ip). Mixed families follow configuration.txt 7.1.6:
// an IPv4 sample is also tried as ::ffff:a.b.c.d against IPv6 networks;
// an IPv6 sample of the forms ::ffff:a.b.c.d, ::a.b.c.d or 2002:AABB:CCDD::
// is also tried as a.b.c.d against IPv4 networks.
type ipIndex struct {
	v4, v6 trie
}

func newIPIndex() *ipIndex {
	return &ipIndex{v4: newTrie(), v6: newTrie()}
}

func (x *ipIndex) insert(p netip.Prefix, val int32) {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		x.v4.insert(b[:], p.Bits(), val)
		return
	}
	b := a.As16()
	x.v6.insert(b[:], p.Bits(), val)
}

func (x *ipIndex) lookup(_ *State, smp sample) int {
	a := smp.a
	if !a.IsValid() {
		return -1
	}
	if a.Is4() {
		b := a.As4()
		if v := x.v4.longest(b[:]); v >= 0 {
			return v
		}
		m := netip.AddrFrom16(a.As16()).As16() // ::ffff:a.b.c.d
		return x.v6.longest(m[:])
	}
	b := a.As16()
	if v := x.v6.longest(b[:]); v >= 0 {
		return v
	}
	var v4 [4]byte
	switch {
	case isZero(b[:8]) && (isZero(b[8:12]) || b[8] == 0 && b[9] == 0 && b[10] == 0xff && b[11] == 0xff):
		copy(v4[:], b[12:16])
	case b[0] == 0x20 && b[1] == 0x02:
		copy(v4[:], b[2:6])
	default:
		return -1
	}
	return x.v4.longest(v4[:])
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// trie is a binary trie over address bits; nodes live in one slice.
type trie struct {
	nodes []trieNode
}

type trieNode struct {
	child [2]int32 // 0: none (the root is never a child)
	val   int32    // -1: no network ends here
}

func newTrie() trie { return trie{nodes: []trieNode{{val: -1}}} }

// insert adds a network; the first value inserted for a network stays.
func (t *trie) insert(addr []byte, bits int, val int32) {
	n := int32(0)
	for i := 0; i < bits; i++ {
		bit := addr[i/8] >> (7 - i%8) & 1
		next := t.nodes[n].child[bit]
		if next == 0 {
			t.nodes = append(t.nodes, trieNode{val: -1})
			next = int32(len(t.nodes) - 1)
			t.nodes[n].child[bit] = next
		}
		n = next
	}
	if t.nodes[n].val < 0 {
		t.nodes[n].val = val
	}
}

// longest returns the value of the longest network containing addr, or -1.
func (t *trie) longest(addr []byte) int {
	best := int(t.nodes[0].val)
	n := int32(0)
	for i := 0; i < len(addr)*8; i++ {
		bit := addr[i/8] >> (7 - i%8) & 1
		n = t.nodes[n].child[bit]
		if n == 0 {
			break
		}
		if v := t.nodes[n].val; v >= 0 {
			best = int(v)
		}
	}
	return best
}

// smallIPIndex checks a few networks directly, with the same precedence
// (the longest network) and family mixing as ipIndex.
type smallIPIndex struct {
	nets []netip.Prefix
}

func (x *smallIPIndex) lookup(_ *State, smp sample) int {
	a := smp.a
	if !a.IsValid() {
		return -1
	}
	best := -1
	for pass := 0; pass < 2 && best < 0; pass++ {
		b := a
		if pass == 1 { // the other family's form of the address, if any
			if b = otherFamily(a); !b.IsValid() {
				break
			}
		}
		for i, n := range x.nets {
			if n.Contains(b) && (best < 0 || n.Bits() > x.nets[best].Bits()) {
				best = i
			}
		}
	}
	return best
}

// otherFamily is an IPv4 address as ::ffff:a.b.c.d, or the IPv4 address
// inside ::ffff:a.b.c.d, ::a.b.c.d and 2002:AABB:CCDD:: (7.1.6).
func otherFamily(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.AddrFrom16(a.As16())
	}
	b := a.As16()
	switch {
	case isZero(b[:8]) && (isZero(b[8:12]) || b[8] == 0 && b[9] == 0 && b[10] == 0xff && b[11] == 0xff):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	case b[0] == 0x20 && b[1] == 0x02:
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}
	return netip.Addr{}
}
