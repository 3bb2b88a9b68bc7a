// Package health runs this node's active health checks of backend servers,
// with HAProxy's semantics, and turns their results (and passive failures
// seen by live traffic) into per-server health and transitions.
//
// What it owns:
//   - the checks: HTTP ("option httpchk": the request is written by hand,
//     e.g. "HEAD /deploy.txt HTTP/1.0\r\n\r\n", and only the status line is
//     read) and TCP (connect succeeds → healthy);
//   - one rise/fall state machine per checked server (machine.go), stepped
//     by a goroutine per server that waits, then calls checkOnce;
//   - the schedule: first check at a random offset in [0, Inter) so that
//     hundreds of servers do not fire together, then Inter while stable,
//     FastInter while a streak toward the other state is in progress,
//     DownInter while down;
//   - emitting each edge exactly once (Deps.OnTransition) and logging it.
//
// Initial state: a server is Unknown until its first check. HAProxy starts
// servers "up, at the edge": one failure takes them down. So the first
// failed check makes an Unknown server Down, the first good check makes it
// Up (and a first 404 with disable-on-404 makes it NoLB); each of these is
// a transition. Afterwards Rise consecutive good checks bring a Down server
// Up, Fall consecutive failures take an Up (or NoLB) server Down, and a
// result of the other kind restarts the streak.
//
// Status words follow HAProxy's check status: L4OK, L4TOUT, L4CON <error>,
// L7OK <code>, L7OKC 404 (disable-on-404), L7STS <code>, L7TOUT,
// L7RSP <problem>, and "passive: <error>" for ReportFailure.
//
// Invariants: a transition is emitted under the server's lock, by the one
// caller that changed the health, so each edge is seen exactly once and a
// server's transitions arrive in order. A checker replaced or removed by
// Update is retired first, so a check still in flight changes nothing.
//
// It decides only this node's view. Cluster-wide health (the agreement of
// the LB nodes) is the cluster FSM's rule, not this package's. It imports
// config and the standard library only: no cluster, balancer or agent.
package health
