// Package deploy runs a rolling, zero-downtime deploy of one backend, the
// procedure of the article tandem comes from (take one site out, update it,
// put it back, next site) made into one command operators can trust.
//
// For each server, in order, it drains the server cluster-wide, waits until
// its connections and in-flight requests reach zero on every live LB node,
// puts it in maint, runs the operator's hook command, waits until the
// health checks pass on a majority of the live LB nodes, and puts it back
// to ready (optionally ramping its weight up).
//
// Invariants:
//   - It never starts when the backend cannot spare a server (at least one
//     other server must be ready and agreed up), and never takes down more
//     than MaxUnavailable servers at once, nor a second one while the
//     first is not back.
//   - On failure it stops, leaves the failed server out of rotation (in
//     maint once its hook ran), and says what failed and how to resume.
//   - Progress (who, from where, which server, which step, since when) is
//     recorded in the replicated state, so any node shows it, a second
//     deploy of the same backend is refused, and --abort and --resume
//     work from any node.
//
// deploy is a client of the admin API: it must not run inside the agent,
// and it imports only api and config.
package deploy
