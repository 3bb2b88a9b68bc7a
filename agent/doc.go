// Package agent wires one tandem node: it starts the replicated state (or,
// until a cluster is configured, a local store), the health monitor, the
// balancer and the admin API, and passes plain state between them.
//
// Data flows one way: committed state → desired state → {health, balancer};
// health transitions → store (reported, agreed) → balancer. The agent holds
// no algorithm: it only computes which servers a node may route to (the rule
// from DESIGN.md "Health agreement") and hands snapshots over.
//
// Start order: store → health → balancer (listeners bound before the API
// reports ready) → API. Shutdown is the reverse: API → balancer drains →
// health → store.
package agent
