// Package haproxy imports a haproxy.cfg into tandem's cluster config
// (config.Cluster) with HAProxy 2.6's semantics, configuration.txt being
// the spec, so that a site that runs HAProxy today moves to tandem with the
// file it has and is served the same way, or is told exactly where it
// would not be.
//
// What it follows: word splitting, quoting and "${VAR}" expansion (2.2,
// 2.3) from the environment the caller passes; conditional blocks (2.4)
// evaluated as HAProxy 2.6.12 would (HAProxyVersion, Debian's build's
// features); defaults sections as HAProxy inherits them (each section
// starts from a copy of the last defaults section above it, or of the one
// "from NAME" names; named defaults may hold rules, run before the
// section's own); "mode tcp" by default, written out in the result;
// acl, use_backend, use-server, tcp-request, http-request, http-response,
// http-after-response, redirect, errorfile(s), userlist and http-errors
// sections, carried in HAProxy's own language in config.Rules; the map,
// ACL pattern and error files they name, read through Options.Files into
// Cluster.Files.
//
// Invariants:
//   - Nothing is dropped silently, and nothing is served differently
//     silently: every keyword is classified in one table (keywords.go for
//     proxy keywords, serveropts.go for server and bind options,
//     sections.go for global keywords) as mapped, neutral (a warning: it
//     changes no traffic), refused (an error: HAProxy would route, answer
//     or check health differently; a warning with Options.Lenient) or
//     removed (HAProxy 2.6 refuses it too).
//   - Every error and warning names the file and a line, config.Validate's
//     errors included: each value of the result remembers the line it came
//     from, and an error's config path is mapped back to it.
//   - A result that Parse returns validates, and its YAML decodes back to
//     the same config.
//
// It does no I/O: the caller gives the cfg's bytes, the environment and a
// file reader. It imports only config.
package haproxy
