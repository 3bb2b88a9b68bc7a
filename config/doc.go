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
// Rules (ACLs, tcp-request/http-request/http-response rules, use_backend)
// are checked by its subpackage config/rules; validation errors name the
// rule's path ("frontends[web].http_request[3]: unknown ACL "is_ap"").
//
// It does no I/O beyond decoding the bytes it is given, and imports no other
// tandem package than config/rules.
package config
