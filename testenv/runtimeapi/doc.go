// Package runtimeapi proves tandem's HAProxy operational interfaces with
// the real clients operators use, from Debian's packages, against real
// agents (testenv/proctest): socat on the stats socket, hatop driven in
// tmux, prometheus-haproxy-exporter over the socket and over the stats
// page's CSV, and Debian's HAProxy 2.6 itself, whose answers tandem's are
// compared with.
//
// The tests install what they need with apt-get when they run as root;
// a normal user gets a skip that says what to install, and CI=true turns
// that skip into a failure.
package runtimeapi
