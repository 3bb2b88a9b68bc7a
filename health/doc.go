// Package health runs this node's active health checks of backend servers,
// with HAProxy's semantics, and turns their results (and what live traffic
// observes) into per-server health and transitions.
//
// What it owns:
//   - the checks, as data: every check is a ruleset of connect, send and
//     expect steps (ruleset.go) run by one engine (engine.go), as HAProxy's
//     tcpcheck.c runs tcp-check and http-check rules. The plain TCP connect,
//     "option httpchk", tcp-check and http-check sequences, the protocol
//     checks (redis, mysql, pgsql, smtp, ldap, ssl-hello: protocols.go,
//     HAProxy's own rulesets) and the agent check (agent.go) are rulesets;
//     where HAProxy matches with a custom function (MySQL packets, the LDAP
//     bind response, the agent's line) a step has a custom matcher;
//   - one rise/fall state machine per checked server (machine.go), stepped
//     by a goroutine per server that waits, then calls checkOnce (and, on
//     the agent's own schedule, checkAgentOnce);
//   - the schedule: first check at a random offset in [0, Inter) so that
//     hundreds of servers do not fire together, then Inter while stable,
//     FastInter while a streak toward the other state is in progress (or
//     after observe's on-error), DownInter while down;
//   - the agent's state (down/up, drain/maint/ready, weight share), which
//     the server's health combines with the checks': down when either
//     says so, nolb on drain;
//   - observe (observe.go): live traffic's verdicts counted against
//     error-limit, then on-error (fastinter, fail-check, sudden-death,
//     mark-down);
//   - emitting each edge exactly once (Deps.OnTransition) and logging it.
//
// Initial state: a server is Unknown until its first check. HAProxy starts
// servers "up, at the edge": one failure takes them down. So the first
// failed check makes an Unknown server Down, the first good check makes it
// Up (and a first L7OKC, e.g. a 404 with disable-on-404, makes it NoLB);
// each of these is a transition. Afterwards Rise consecutive good checks
// bring a Down server Up, Fall consecutive failures take an Up (or NoLB)
// server Down, and a result of the other kind restarts the streak.
//
// Results follow HAProxy's check statuses: L4OK, L4TOUT, L4CON <error>,
// L6OK, L6TOUT, L6RSP, L7OK [<code>], L7OKC, L7STS <code>, L7TOUT, L7RSP
// <problem>, SOCKERR, and "passive: <error>" for ReportFailure. A ruleset's
// failure names its step and what that step read: `L7TOUT: tcp-check step 5
// expect string "role:master": no match before the timeout, got "$38\r\n#
// Replication\r\nrole:slave..."`.
//
// Invariants: a transition is emitted under the server's lock, by the one
// caller that changed the health, so each edge is seen exactly once and a
// server's transitions arrive in order. A checker replaced or removed by
// Update is retired first, so a check still in flight changes nothing. A
// check reads at most 16 KiB after each send.
//
// It decides only this node's view. Cluster-wide health (the agreement of
// the LB nodes) is the cluster FSM's rule, not this package's. It imports
// config and the standard library only: no cluster, balancer or agent.
package health
