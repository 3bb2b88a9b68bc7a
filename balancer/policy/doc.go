// Package policy owns tandem's balancing algorithms: given the servers of one
// backend, a filter of the ones usable right now and a key, a Policy picks
// one. It is protocol-agnostic — the caller hashes the client IP (source) or
// the request path (uri) into the key — so HTTP and TCP modes share every
// algorithm.
//
// Invariants:
//   - Pick returns an index into the slice given to New for which ok(i) was
//     true when Pick looked, or -1 when ok rejects every server. It never
//     returns a server that ok rejected.
//   - Weight 0 (or less) means "no new traffic": a server with weight 0 is
//     picked only when every server that ok accepts has weight 0; those are
//     then treated as equal (weight 1).
//   - Pick is safe for concurrent use and does not allocate. The only lock is
//     roundrobin's tiny critical section; every other algorithm is lock-free.
//   - Weights are read through Server.Weight at pick time (so slow start and
//     runtime weights apply at once) by every algorithm except static-rr,
//     which precomputes its sequence from the weights seen by New, like
//     HAProxy's static-rr. The caller rebuilds the Policy with New when the
//     set of servers or a configured weight changes.
//   - Idle servers share by weight under every weighted algorithm: random
//     draws its two candidates by weight, leastconn rotates its ties.
//   - source and uri are consistent: for a given key, taking a server out of
//     ok moves only the keys that were on it, and they come back when it
//     returns. Changing one server's weight moves keys only to or from that
//     server. The mapping is a pure function of the key, the weights and the
//     servers' identities (Name, if the Server implements Named, else the
//     index), so every LB node maps a key to the same server.
//
// The package imports only config (for the Algorithm enum) and the standard
// library. It knows nothing of connections, health or configuration reloads;
// the balancer owns those and passes them in as Server values and ok.
package policy
