// Package vip moves virtual IP addresses between tandem's LB nodes, the way
// keepalived does for an haproxy pair, but elected from the gossip
// membership view instead of VRRP adverts.
//
// It owns three things:
//
//   - the election of each VIP's holder (election.go): a pure function of
//     the membership view (every node's gossiped priority, eligibility and
//     claim), the VIP's preempt rules and a clock;
//   - the addresses on the VIP interface (addr_linux.go): netlink
//     AddrReplace with a short valid/preferred lifetime that the reconcile
//     loop renews, so the kernel drops a VIP by itself when the agent dies;
//   - announcements: gratuitous ARP (arp.go) and unsolicited neighbour
//     advertisements (ndp.go), built by pure functions and sent on a packet
//     socket in bursts.
//
// A Manager is driven by the agent with plain values: Update (the VIPs of
// the resolved cluster config), SetView (the membership view, every
// member's decoded Meta), SetReady (which frontends listen). It publishes
// LocalMeta, which the agent gossips, and signals Changed when it changes.
// Run is a level-triggered loop: wait for a tick or a signal, then
// reconcileOnce; tests step reconcileOnce directly.
//
// Invariants:
//
//   - a node adds a VIP only when its own computation names it the holder,
//     it has seen a membership view, has quorum or a clear link (see
//     below) and its view is fresh; every other node removes the address;
//   - a holder that hands a VIP over (preempt, Release) keeps it until the
//     new holder gossips that it holds it, bounded in time (make before
//     break); a holder that loses a dual claim, hears another holder
//     without quorum, becomes
//     ineligible or finds its own view stale removes it at once;
//   - a node that was frozen (SIGSTOP/SIGCONT, a long stall) notices the gap
//     between two loop steps, removes its VIPs, gossips itself ineligible and
//     takes part again only after a view received twice the gap (0.5 s to
//     StaleHold) after it;
//   - a held address has a short lifetime (AddressLifetime) that the loop
//     renews: if the agent is killed the kernel drops it within that time.
//     While the agent is frozen the kernel still answers ARP for it until
//     then, so keep the lifetime short (default 5s);
//   - with View.Voters >= 3, a node that sees fewer than a majority of them
//     alive (itself included) gossips fault and probes the link with ARP
//     probes (RFC 5227) for each IPv4 VIP: it keeps a VIP it holds until
//     another host answers for the address, and takes one only after a
//     second in which nobody did (reconcile.go, probeLink). A minority thus
//     never answers for a VIP the majority side holds on the same link,
//     while the survivor of lost peers keeps serving. IPv6 VIPs are
//     released without quorum. With two voters a dead peer and a partition
//     look the same — like keepalived, both nodes then hold the VIP; add a
//     witness node to avoid it.
//
// At start, before every node's meta has reached the others, two nodes may
// both take a VIP; the dual claim resolves to the better one within a
// gossip round (keepalived's first adverts behave alike).
//
// The package must not import cluster, call Raft or know about proxying: it
// receives plain values from the agent and never reaches back.
package vip
