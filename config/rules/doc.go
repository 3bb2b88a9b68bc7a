// Package rules parses and checks HAProxy's rule language as tandem's
// cluster config carries it: ACL criteria ("FETCH[(args)][,conv...] [flags]
// [operator] VALUE..."), conditions ("if"/"unless", "!", "||"/"or",
// implicit AND, anonymous "{ ... }" ACLs), actions of the tcp-request,
// http-request, http-response and http-after-response rule sets with their
// trailing conditions, use_backend/use-server switching rules, log-format
// expressions ("%[fetch,conv]", "%ci") and the contents of map and pattern
// files. The semantics are HAProxy 2.6's (doc/configuration.txt, sections
// 2.2, 7 and 4.2); comments name the section a behaviour comes from.
//
// The fetches, converters, match methods and actions are data (registry.go,
// actions.go): a name, its argument kinds, its output type, its default
// match method and where it may be used. Parsing yields a typed AST whose
// String methods print text that parses back to the same AST.
//
// Invariants:
//   - Pure: no I/O. Files are looked up in the Env the caller passes (the
//     cluster config's Files), never on disk.
//   - Every error says what is wrong and where in the line (Error.Pos).
//
// It imports no tandem package: config imports it to validate, and
// balancer/rules compiles its AST into programs.
package rules
