package policy

import "sync/atomic"

// staticRR walks a sequence precomputed by New from the weights seen then
// (smooth-interleaved, reduced by their greatest common divisor) with an
// atomic cursor, so picks take no lock. Like HAProxy's static-rr it ignores
// later weight changes (slow start included) until the next New.
type staticRR struct {
	servers []Server
	seq     []int32 // server indexes, each repeated weight/gcd times

	next atomic.Uint64 // cursor into seq
	zero atomic.Uint64 // cursor for the all-zero-weight fallback
}

func newStaticRR(servers []Server) *staticRR {
	ws := make([]int64, len(servers))
	g := int64(0)
	for i, s := range servers {
		ws[i] = weight(s)
		g = gcd(g, ws[i])
	}
	p := &staticRR{servers: servers}
	if g == 0 {
		return p // every weight is 0: only the fallback picks
	}
	// Lay the sequence out with smooth weighted round robin, so that a
	// server's turns are spread evenly through it.
	total := int64(0)
	for i := range ws {
		ws[i] /= g
		total += ws[i]
	}
	p.seq = make([]int32, 0, total)
	cw := make([]int64, len(ws))
	for range total {
		best := -1
		for i, w := range ws {
			if w == 0 {
				continue
			}
			cw[i] += w
			if best < 0 || cw[i] > cw[best] {
				best = i
			}
		}
		cw[best] -= total
		p.seq = append(p.seq, int32(best))
	}
	return p
}

func (p *staticRR) Pick(_ uint64, ok func(int) bool) int {
	if n := uint64(len(p.seq)); n > 0 {
		start := (p.next.Add(1) - 1) % n
		for j := range n {
			k := start + j
			if k >= n {
				k -= n
			}
			if i := int(p.seq[k]); ok(i) {
				// Skip the cursor past the entries that were not ok, so
				// that their turns are shared by every ok server instead
				// of all going to the one that follows them.
				if j > 0 {
					p.next.Add(j)
				}
				return i
			}
		}
	}
	// No ok server has weight > 0: plain round robin over the ok ones.
	n := uint64(len(p.servers))
	if n == 0 {
		return -1
	}
	start := (p.zero.Add(1) - 1) % n
	for j := range n {
		i := int((start + j) % n)
		if ok(i) {
			return i
		}
	}
	return -1
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
