// Package config owns the schema of tandem's two kinds of settings: the
// replicated cluster configuration (frontends, backends, servers, health
// checks, VIPs) and the value types that several packages share (modes,
// algorithms, admin and health states, server keys).
//
// Invariants:
//   - Defaults live in one place (defaults.go) and are applied by Resolve.
//   - Validate reports every problem at once, each with the config path it is
//     about, e.g. "backends[web].servers[server1].address: missing port".
//   - A *Cluster that passed Validate is treated as immutable by every
//     consumer; callers that want to change it Clone it first.
//
// It does no I/O beyond decoding the bytes it is given, and imports no other
// tandem package.
package config
