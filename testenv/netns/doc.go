// Package netns runs real `tandem agent` processes in Linux network
// namespaces for the VIP failover tests (and documents the topology the
// bench/failover script builds alike):
//
//	ns <id>-a: eth0 10.99.0.2/24 (MAC 02:99:00:00:00:02), tandem agent lbA, testsite
//	ns <id>-b: eth0 10.99.0.3/24 (MAC 02:99:00:00:00:03), tandem agent lbB, testsite
//	ns <id>-c: bridge br0 10.99.0.1/24, the client (probe); VIP 10.99.0.100
//
// Every name carries the test process's pid, everything is removed in
// t.Cleanup, and all traffic stays on the bridge inside namespaces this
// package made. Each LB namespace runs its own test site on 127.0.0.1:8001
// (X-Served-By: site-lbA / site-lbB), so the client sees which LB answered.
//
// The tests need root (network namespaces); as another user they skip with
// a message, and under CI=true they fail instead of skipping.
//
// Processes run as `ip netns exec NS tandem …`; ip execs the command, so
// the pid the harness signals (SIGKILL, SIGSTOP, SIGTERM) is the agent's.
// The client is the probe of bench/failover/probe, run in the client
// namespace; the package must not be imported by the agent binary.
package netns
