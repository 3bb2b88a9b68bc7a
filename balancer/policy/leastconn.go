package policy

import "sync/atomic"

// leastConn picks the ok server with the lowest Active()/Weight(). Each pick
// scans from a rotating start, so ties go round robin instead of always to
// the first server. Zero-weight servers come last, ordered by Active().
type leastConn struct {
	servers []Server
	next    atomic.Uint64 // rotating scan start
}

func (p *leastConn) Pick(_ uint64, ok func(int) bool) int {
	n := len(p.servers)
	if n == 0 {
		return -1
	}
	start := int(p.next.Add(1) % uint64(n))
	best, bestA, bestW := -1, int64(0), int64(0)
	zero, zeroA := -1, int64(0)
	for j := range n {
		i := start + j
		if i >= n {
			i -= n
		}
		if !ok(i) {
			continue
		}
		s := p.servers[i]
		a, w := int64(s.Active()), weight(s)
		switch {
		case w == 0:
			if zero < 0 || a < zeroA {
				zero, zeroA = i, a
			}
		case best < 0 || lessLoaded(a, w, bestA, bestW):
			best, bestA, bestW = i, a, w
		}
	}
	if best >= 0 {
		return best
	}
	return zero
}
