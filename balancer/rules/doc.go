// Package rules is the data plane of HAProxy's rule language: it compiles
// the checked rules of one config version (config/rules) into plain-data
// programs once, and evaluates them per connection and request over
// read-only views of the request and response heads.
//
// The core calls one function per stage of the request path, in HAProxy's
// order (configuration.txt 4.2, 7): frontend tcp-request connection,
// session and content rules; frontend http-request rules then redirect
// directives; use_backend; backend tcp-request content and http-request
// rules; use-server; then http-response and http-after-response rules,
// backend first, then frontend. Each returns a Verdict; a Respond verdict
// leaves the answer (deny, return, redirect, auth) in State.Reply.
//
// A State lives for one stream, as HAProxy's: in mode http one request
// (Begin at each request; its tcp-request content and http-request rules
// share the txn variables), in mode tcp one connection. tcp-request
// connection and session rules run before any stream: only sess.*
// variables exist there, kept in the connection's Session.
//
// Invariants:
//   - Programs are immutable after Compile and shared by all goroutines; a
//     State belongs to one request at a time (pooled, reset by assigning a
//     zero value that keeps only its named buffers).
//   - Evaluation does no I/O, compiles no regex and looks nothing up by
//     name except a dynamic use_backend/use-server target; string, prefix,
//     suffix, domain and map matches do not allocate (maps are hash tables,
//     prefix and suffix indexes and IP tries, not scans).
//   - A request reads what the rules before it left: results kept within
//     a request (the fetch memo, the criterion groups, the field index:
//     memo.go, group.go, hdrindex.go) are stamped with what they read and
//     recomputed after an edit of it; only side-effect-free fetches and
//     criteria are kept. A condition of grouped criteria and header
//     presence tests is also compiled flat (flat.go) and answered from
//     those results without walking its tree. FuzzMemoAgreesWithPlain
//     compares the engine with the same rules compiled without any of it.
//   - The views the core passes (Request, Response, Conn, Servers) are
//     read, never retained past the call; edits go through the editor
//     interfaces with byte slices valid only during the call.
//
// It imports config and config/rules, never balancer or any package that
// does I/O: the core imports it.
package rules
