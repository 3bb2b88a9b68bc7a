// Package haproxydiff runs Debian's HAProxy and tandem side by side on the
// same haproxy.cfg, so that a test can send both the same requests and
// compare what clients and servers see: the proof behind every claim that
// tandem behaves as HAProxy does (DESIGN.md, "The HAProxy compatibility
// contract").
//
// A config is a template: "@FE:name@" stands for a frontend's listen
// address (each of the two load balancers gets its own loopback port) and
// "@SRV:name@" for a server address (both use the same backends, started
// by the test). tandem reads the file through config/haproxy, exactly as
// `tandem agent --cluster-config haproxy.cfg` does, and serves it with a
// real agent in this process.
//
// TestRulesAgainstHAProxy runs the cases of testdata (one haproxy.cfg,
// its files and a generated request set each; testdata/README.md gives
// the format) and fails on any difference but those the README lists as
// deliberate, which deliberate_test.go recognises exactly.
//
// TestTLSAgainstHAProxy (tls_test.go) compares TLS termination: which
// certificate each server name gets (several crt, crt-list filters,
// strict-sni), ssl-min-ver, verify required/optional with ssl_c_s_dn
// reaching the server, ALPN, and ssl_fc / ssl_fc_sni routing.
//
// HAProxy is installed with apt-get when it is missing and the test runs
// as root; otherwise the test is skipped, or fails under CI=true. Every
// process started here is stopped when the test ends; everything listens
// on loopback.
package haproxydiff
