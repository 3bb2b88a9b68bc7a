package policy

import "sync"

// roundRobin is nginx's smooth weighted round robin: on every pick each ok
// server's current weight grows by its weight, the largest wins and gives
// back the total. Weights 5,1,1 give a,a,b,a,c,a,a — the heavy server's turns
// are spread out instead of bunched. Weights are read at pick time, so slow
// start and runtime weights apply at once.
type roundRobin struct {
	servers []Server

	mu sync.Mutex
	cw []int64 // current weights, guarded by mu
}

func newRoundRobin(servers []Server) *roundRobin {
	return &roundRobin{servers: servers, cw: make([]int64, len(servers))}
}

func (p *roundRobin) Pick(_ uint64, ok func(int) bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := p.step(ok, false); i >= 0 {
		return i
	}
	// No ok server has weight > 0: share among the zero-weight ones.
	return p.step(ok, true)
}

// step runs one round of smooth weighted round robin over the ok servers,
// with every weight taken as 1 when flat. It returns -1 if no server took
// part. p.mu must be held.
func (p *roundRobin) step(ok func(int) bool, flat bool) int {
	best, total := -1, int64(0)
	for i, s := range p.servers {
		if !ok(i) {
			continue
		}
		w := int64(1)
		if !flat {
			w = weight(s)
		}
		if w == 0 {
			continue
		}
		p.cw[i] += w
		total += w
		if best < 0 || p.cw[i] > p.cw[best] {
			best = i
		}
	}
	if best >= 0 {
		p.cw[best] -= total
	}
	return best
}
