// Package bgp announces tandem's VIPs with announce: bgp to the node's
// routers, with an embedded GoBGP (osrg/gobgp/v3) speaker: every ready node
// binds the VIP locally (lo, or a dummy interface) and announces it as a
// host route, so routers spread flows over the nodes by ECMP (mode ecmp)
// or prefer the elected primary's path (mode primary: the other ready
// nodes announce with their ASN prepended).
//
// It owns:
//
//   - the decision (decide.go): per VIP, from the node-wide block (no view
//     yet, witness, stale view after a stall, no quorum, a failing track
//     script of weight 0, a tracked interface down; a script's other
//     weights move the node's priority, as vip.Manager applies them), the VIP's frontends' readiness, a release or a
//     planned stop, and the peers' gossiped claims (the primary is the
//     eligible node with the highest priority, ties to the lowest name);
//   - the GoBGP server (server.go): global config, peers (hold time,
//     keepalive, TCP-MD5, multihop, passive), the announced paths and the
//     sessions' state;
//   - the local binding of the VIPs' addresses (addr.go).
//
// A Speaker is driven like vip.Manager: Update (the config's VIPs), SetView
// (the membership with every member's decoded claims), SetReady (which
// frontends listen), Release/Reclaim (drain), Shutdown (planned stop). It
// publishes LocalMeta, which the agent merges into the node's gossip meta,
// and signals Changed. Run is "wait, then stepOnce".
//
// Invariants:
//
//   - a node announces a VIP only while it is ready: every frontend of the
//     VIP listens, the address is bound, and nothing blocks the node; it
//     withdraws in the step that sees one of these fail;
//   - withdrawals reach GoBGP before the gossip meta says so: a node never
//     gossips less than it announces;
//   - a planned stop or a release re-announces with GRACEFUL_SHUTDOWN
//     (RFC 8326) for ShutdownWait, then withdraws; Shutdown returns once
//     nothing is announced, before the agent closes its listeners;
//   - quorum fencing follows the vip package (View.Voters >= 3: a node that
//     sees fewer than a majority alive withdraws); there is no link probe:
//     an L3 network has no shared link to ask.
//
// GoBGP's Serve loop has no way to stop: after Run, one idle goroutine of
// the library remains (StopBgp closes every session and listener).
//
// The package must not import agent, cluster or the vip package's
// internals: it receives plain values from the agent.
package bgp
