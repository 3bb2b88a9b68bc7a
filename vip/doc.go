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
//     break), and announces it no more meanwhile (its own gratuitous ARP
//     after the taker's would pull the clients back); a holder whose VIP another node now holds (that handover, or
//     a dual claim it lost) parks the address on lo, silent on the link,
//     for the requests still in flight (Config.ParkTime, park.go); one
//     that hears another holder without quorum, becomes ineligible or
//     finds its own view stale removes it at once;
//   - a node that was frozen (SIGSTOP/SIGCONT, a long stall) notices the gap
//     between two loop steps (more than max(2 × StepInterval, 350 ms): the
//     shortest time gossip can declare a silent node dead, so a 300 ms
//     stall moves nothing), removes its VIPs, gossips itself ineligible and
//     takes part again only after a view received twice the gap (0.5 s to
//     StaleHold) after it;
//   - the VIP interface or a tracked interface that was up blocks the node
//     only after 250 ms down (link.go): a carrier flap moves nothing. After
//     one, the neighbour entries the kernel failed to resolve meanwhile are
//     deleted, so that peers are reached again at once, not after the
//     kernel's 1 s retransmit, before they declare this node dead;
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
// # How a dead holder is noticed
//
// The election reads liveness from the View only (Member.Alive), so every
// way a member is found dead moves ARP-announced and BGP-announced VIPs
// alike. The agent's view comes from the cluster package, which has two
// sources (cluster/liveness.go):
//
//   - gossip's probes (memberlist): a member that answers no probe is
//     suspected, then declared dead ~0.4 s later with the default profile.
//     This is the only signal for a host death (power, kernel panic, cable)
//     or a partition, and it tolerates a 300 ms stall;
//   - the crash signal: every node keeps a long-lived TCP connection to
//     every peer, carrying nothing after a hello. A process that dies on a
//     live host (crash, OOM killer, SIGKILL) has its sockets closed by the
//     kernel: the connection ends (FIN or RST) at once. A frozen process
//     keeps its sockets, and a lost link closes nothing (timeouts, no
//     reset), so neither gives this signal.
//
// The rule, to take the crash signal without false positives:
//
//  1. A planned stop says goodbye on these connections before anything
//     else: a connection that ends after a goodbye is no crash (the VIPs
//     were handed over first, make before break).
//  2. A connection that ends without a goodbye is confirmed at once by a
//     TCP connect to the peer's gossip port, retried every 2 ms for at
//     most 200 ms (a dying process closes its sockets one by one): refused
//     — the peer's kernel answers and nothing listens — confirms the crash,
//     typically within 1–15 ms. A connect that times out or finds the host
//     unreachable (a reset caused by the network, a host going away) or
//     keeps succeeding (the process lives, or already restarted) confirms
//     nothing: gossip's probes decide, as without the signal.
//  3. A confirmed crash shows the member dead at once; its VIPs are taken
//     over as if gossip had declared it dead (no eligible holder: the best
//     eligible node takes it at once).
//  4. The mark is tied to the crashed run (each start of a node has a new
//     run ID, in its hello and its gossip meta). It ends when gossip
//     declares the member dead or left, when gossip brings meta of another
//     run — a restarted node, whose meta no longer claims what the crashed
//     run held, so a quick restart cannot make two holders: the restarted
//     node enters the election like any new one (its stale address swept,
//     preempting back by a handover) — or when the same run says hello
//     again (the signal was wrong: it lives). Gossip updates of the crashed
//     run still in flight do not end it.
//
// At start, before every node's meta has reached the others, two nodes may
// both take a VIP; the dual claim resolves to the better one within a
// gossip round (keepalived's first adverts behave alike).
//
// The package must not import cluster, call Raft or know about proxying: it
// receives plain values from the agent and never reaches back.
package vip
