package policy

import (
	"math/rand/v2"
	"sync/atomic"
)

// random is the power of two random choices: draw two distinct ok servers,
// each with probability proportional to its weight, and take the one with
// the lower Active()/Weight() (the first drawn on a tie). Idle servers thus
// share by weight, loaded ones by load, without scanning every server.
// math/rand/v2's top-level functions take no global lock.
type random struct {
	servers []Server
	// maxW bounds every weight seen: the fast path accepts a drawn server
	// with probability weight/maxW. It starts at New's largest weight and
	// only grows (a runtime weight above it raises it).
	maxW atomic.Int64
}

// randomTries bounds the rejection-sampling fast path: with few servers
// excluded and similar weights, a draw or two finds one; past that, sample
// walks the weights. Falling back per draw (not restarting the pair) keeps
// both draws exactly proportional to weight.
const randomTries = 8

func newRandom(servers []Server) *random {
	p := &random{servers: servers}
	m := int64(1)
	for _, s := range servers {
		m = max(m, weight(s))
	}
	p.maxW.Store(m)
	return p
}

func (p *random) Pick(_ uint64, ok func(int) bool) int {
	if len(p.servers) == 0 {
		return -1
	}
	a := p.draw(ok, -1)
	if a < 0 {
		a = p.sample(ok, false, -1)
	}
	if a < 0 {
		return p.pickZero(ok)
	}
	b := p.draw(ok, a)
	if b < 0 {
		b = p.sample(ok, false, a)
	}
	if b < 0 {
		return a // the only candidate
	}
	return p.lighter(a, b, false)
}

// pickZero is Pick among the ok servers of weight 0, taken as equal, for
// when no ok server has weight > 0.
func (p *random) pickZero(ok func(int) bool) int {
	a := p.sample(ok, true, -1)
	if a < 0 {
		// Weights changed between sample's passes: any ok server will do.
		for i := range p.servers {
			if ok(i) {
				return i
			}
		}
		return -1
	}
	if b := p.sample(ok, true, a); b >= 0 {
		return p.lighter(a, b, true)
	}
	return a
}

// draw samples an ok server other than not with probability proportional to
// its weight, by rejection; -1 if randomTries draws all missed. One random
// word serves each try: its high half picks the server, its low half the
// acceptance (multiply-shift; the bias, n/2³², is negligible).
func (p *random) draw(ok func(int) bool, not int) int {
	n := uint64(len(p.servers))
	for range randomTries {
		r := rand.Uint64()
		i := int((r >> 32) * n >> 32)
		if i == not || !ok(i) {
			continue
		}
		w, m := weight(p.servers[i]), p.maxW.Load()
		switch {
		case w == 0:
			continue
		case w > m:
			p.maxW.CompareAndSwap(m, w) // lost race: someone raised it
			return i
		case int64((r&0xffffffff)*uint64(m)>>32) < w:
			return i
		}
	}
	return -1
}

// sample draws a candidate other than not by weight, exactly, for when
// draw misses: it walks the cumulative weights of the ok servers with
// weight > 0 (or, when zero, of those with weight 0, taken as 1) — one pass
// for the total, one to find the point.
func (p *random) sample(ok func(int) bool, zero bool, not int) int {
	total := int64(0)
	for i := range p.servers {
		if i != not {
			total += p.candidate(ok, zero, i)
		}
	}
	if total == 0 {
		return -1
	}
	return p.locate(ok, zero, rand.Int64N(total), not)
}

// locate is the candidate (other than not) whose span of the cumulative
// weights holds point r; the last candidate if weights shrank since r was
// drawn, -1 if there is none.
func (p *random) locate(ok func(int) bool, zero bool, r int64, not int) int {
	last := -1
	for i := range p.servers {
		if i == not {
			continue
		}
		if w := p.candidate(ok, zero, i); w > 0 {
			if r < w {
				return i
			}
			r -= w
			last = i
		}
	}
	return last
}

// candidate is server i's weight in sample's draw: its weight if ok and
// weighted, 1 if ok and of weight 0 when zero, else 0.
func (p *random) candidate(ok func(int) bool, zero bool, i int) int64 {
	if !ok(i) {
		return 0
	}
	w := weight(p.servers[i])
	if zero {
		if w == 0 {
			return 1
		}
		return 0
	}
	return w
}

// lighter returns whichever of a and b has the lower Active()/Weight(), a
// on a tie (a was drawn first, by weight). flat compares Active() alone.
func (p *random) lighter(a, b int, flat bool) int {
	sa, sb := p.servers[a], p.servers[b]
	wa, wb := int64(1), int64(1)
	if !flat {
		wa, wb = weight(sa), weight(sb)
		if wa == 0 || wb == 0 { // a weight dropped to 0 since the draw
			if wa == 0 {
				return b
			}
			return a
		}
	}
	if lessLoaded(int64(sb.Active()), wb, int64(sa.Active()), wa) {
		return b
	}
	return a
}
