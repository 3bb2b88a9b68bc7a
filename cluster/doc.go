// Package cluster owns tandem's replicated state and the membership of the
// nodes that replicate it: gossip (hashicorp/memberlist) for liveness and
// discovery, Raft (hashicorp/raft, raft-boltdb/v2 log and stable store,
// file snapshots) for the state, the FSM and its typed commands, forwarding
// writes to the leader, join/leave/remove, and the local cache of the last
// committed state (DataDir/state.json).
//
// Invariants:
//   - The FSM (fsm.go) is the only writer of replicated state. It applies
//     typed commands (command.go) deterministically: it never reads the
//     clock, randomness or disk; timestamps and names travel in commands.
//     Business rejections (version conflict, unknown server) are returned as
//     values; an undecodable entry panics.
//   - A *State handed out by Node.State or Node.Apply is immutable: every
//     apply builds a new State (copy on write) and callers must not modify
//     what they receive.
//   - Raft membership changes only through the leader's reconcile loop
//     (alive gossip members become voters), Leave, Remove, and the one
//     forced recovery of recovery.go (a 2-voter cluster that lost a voter
//     takes in a witness); gossip saying a node died or left never shrinks
//     the Raft configuration.
//   - Every goroutine started by Run has exited when Run returns.
//
// It must not know about HTTP proxying, health checking or VIPs: the agent
// passes health observations in (Observe) and reads State out.
package cluster
