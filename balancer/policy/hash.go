package policy

import (
	"hash/fnv"
	"math"
)

// hash is weighted rendezvous (highest random weight) hashing, for source
// and uri. Every ok server scores the key as w / -ln(u), u being a uniform
// draw in (0,1) derived from the key and the server's identity, and the
// highest score wins. Server i then wins a share w_i/Σw of the keys, and:
//   - a server leaving ok loses exactly its own keys, which spread over the
//     others in proportion to their weights; when it returns they return;
//   - a weight change (slow start, runtime weight) moves keys only to or
//     from that server, so weights can be read at pick time.
//
// A pick costs one mix and one logarithm per ok server: O(n), about 35 ns
// per server here (~330 ns for 10), with no table to build or keep in step
// with the weights. A ring would pick in O(log n) but would have to be
// rebuilt on every weight change to stay proportional during slow start.
type hash struct {
	servers []Server
	seeds   []uint64 // per-server identity, mixed with the key
}

func newHash(servers []Server) *hash {
	p := &hash{servers: servers, seeds: make([]uint64, len(servers))}
	for i, s := range servers {
		id := uint64(i)
		if n, ok := s.(Named); ok {
			h := fnv.New64a()
			h.Write([]byte(n.Name()))
			id = h.Sum64()
		}
		// A second mix, so that nearby identities (indexes 0, 1, 2…)
		// give unrelated seeds.
		p.seeds[i] = mix(id ^ 0x9e3779b97f4a7c15)
	}
	return p
}

func (p *hash) Pick(key uint64, ok func(int) bool) int {
	best, bestScore := -1, 0.0
	zero, zeroH := -1, uint64(0)
	for i, s := range p.servers {
		if !ok(i) {
			continue
		}
		h := mix(key ^ p.seeds[i])
		w := weight(s)
		if w == 0 {
			// Zero-weight servers are used only if every ok server has
			// weight 0; they are then equal, and with equal weights the
			// highest draw wins (no logarithm needed).
			if zero < 0 || h > zeroH {
				zero, zeroH = i, h
			}
			continue
		}
		// u in (0,1) from the top 53 bits: never 0, never 1.
		u := (float64(h>>11) + 0.5) / (1 << 53)
		if score := float64(w) / -math.Log(u); best < 0 || score > bestScore {
			best, bestScore = i, score
		}
	}
	if best >= 0 {
		return best
	}
	return zero
}

// mix is the finalizer of MurmurHash3 (fmix64): a bijection on uint64 in
// which every input bit affects every output bit. Keys from a weak caller
// hash (or plain counters) still score independently on every server.
func mix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}
