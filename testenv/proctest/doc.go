// Package proctest runs real `tandem agent` processes on loopback for
// end-to-end tests: it builds the binary once, gives every node free ports
// and its own data dir, and can kill (SIGKILL), stop (SIGTERM) and restart
// them. Each process's log is kept in the test's temp dir and printed when
// the test fails.
//
// Frontends of every local node bind the same address (the listeners use
// SO_REUSEPORT), so a test can run several LB nodes on one machine.
package proctest
