package policy

import (
	"slices"

	"github.com/tandem-lb/tandem/config"
)

// Server is what a policy sees of one server.
type Server interface {
	// Weight is the effective weight now (runtime weight, slow start
	// applied), 0..256; 0 = no new traffic unless every ok server has
	// weight 0.
	Weight() int
	// Active is the number of current connections or in-flight requests
	// (leastconn, random).
	Active() int
}

// Named is an optional interface of a Server. With it, source and uri hash
// keys against the server's name instead of its index, so that adding or
// removing another server from the configuration (which shifts indexes and
// makes the balancer call New again) moves only the keys that have to move.
type Named interface {
	Name() string
}

// Policy chooses a server. Safe for concurrent use; Pick must not allocate.
type Policy interface {
	// Pick returns the index (into the slice given to New) of the chosen
	// server among those for which ok(i) is true, or -1 if none. key is a
	// hash of the client IP (source) or request URI (uri); other algorithms
	// ignore it.
	Pick(key uint64, ok func(i int) bool) int
}

// New builds the policy for algorithm a over servers (in config order).
// AlgoUnset, and any value config does not define, means roundrobin. The
// balancer rebuilds it when the set of servers or a configured weight
// changes; runtime weight changes (slow start) are read through Weight() at
// pick time where the algorithm allows (every one but static-rr).
//
// New copies the slice, not the servers: the caller may reuse the slice.
func New(a config.Algorithm, servers []Server) Policy {
	servers = slices.Clone(servers)
	switch a {
	case config.AlgoStaticRR:
		return newStaticRR(servers)
	case config.AlgoLeastConn:
		return &leastConn{servers: servers}
	case config.AlgoSource, config.AlgoURI:
		return newHash(servers)
	case config.AlgoRandom:
		return newRandom(servers)
	case config.AlgoFirst:
		return &first{servers: servers}
	default:
		return newRoundRobin(servers)
	}
}

// weight is s's weight clamped to 0..config.MaxWeight.
func weight(s Server) int64 {
	return int64(min(max(s.Weight(), 0), config.MaxWeight))
}

// lessLoaded reports whether a server with active connections aa and weight
// aw is less loaded than one with ab and bw: aa/aw < ab/bw without division.
// Both weights must be positive.
func lessLoaded(aa, aw, ab, bw int64) bool {
	return aa*bw < ab*aw
}

// first picks the first ok server in order with weight > 0 (the caller's ok
// excludes full servers), else the first ok server.
type first struct {
	servers []Server
}

func (p *first) Pick(_ uint64, ok func(int) bool) int {
	zero := -1
	for i, s := range p.servers {
		if !ok(i) {
			continue
		}
		if weight(s) > 0 {
			return i
		}
		if zero < 0 {
			zero = i
		}
	}
	return zero
}
