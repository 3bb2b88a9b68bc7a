// Package runtimeapi is HAProxy's runtime API (the "stats socket") for
// tandem: the text protocol that socat, hatop, prometheus-haproxy-exporter,
// Ansible's haproxy module and drain scripts speak, answered as HAProxy 2.6
// answers it (doc/management.txt section 9.3, src/cli.c).
//
// It owns three layers, each testable alone:
//
//   - the wire format (words.go, session.go): a request is a line ended by
//     LF or by an unescaped ';', split into words with backslash escapes;
//     without "prompt" a connection runs what it was sent and closes, each
//     answer followed by an empty line; in prompt mode each answer is
//     followed by "\n> ";
//   - commands (commands.go, parse.go, usage.go): a table of HAProxy's
//     keywords with their usage lines, pure parsing of untrusted words into
//     a typed Command, and HAProxy's fuzzy "did you mean" answer;
//   - rendering (csv.go, info.go, servers.go): "show stat" with HAProxy
//     2.6's CSV header and column order (typed form included), "show
//     info", "show servers state", "show backend".
//
// Invariants: a session never runs a command above its level (HAProxy's
// user < operator < admin; "Permission denied" is answered before any
// other check, as HAProxy does); every state change goes through the
// Cluster interface, which the agent implements through the replicated
// state, so it applies on every node; the package keeps no counters and no
// state of its own beyond each connection's mode and level.
//
// It must not import the agent, cluster or api packages: it renders the
// plain View it is given and hands Changes back.
package runtimeapi
