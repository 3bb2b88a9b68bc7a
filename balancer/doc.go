// Package balancer is tandem's data plane: it owns the listeners, proxies
// HTTP/1.1 (and HTTP/2 on TLS frontends) and TCP connections to backend
// servers, and applies balancing (through balancer/policy), retries and
// redispatch, timeouts, maxconn queues, persistence, drain and per-server
// counters.
//
// Shape:
//   - The control plane calls Apply with a plain Desired state. Apply builds
//     an immutable snapshot (frontends, backends, policies) and publishes it
//     with one atomic pointer store. Every connection reads the snapshot
//     lock-free at the start of each request (HTTP) or connection (TCP), so
//     a new config takes effect for the next request and nothing in flight
//     is disturbed.
//   - State that must outlive a config swap lives in runtime objects keyed by
//     name: listeners (by bind address), frontends' and backends' counters and
//     queues, and servers (by backend/server and address) with their admin
//     state, health, weight, counters, queue slots and idle connection pool.
//     A server removed from the config is marked removed: it takes no new
//     traffic, its in-flight requests finish, its idle connections close.
//   - The HTTP/1.1 path is purpose-built (no net/http): one goroutine per
//     client connection, a small per-connection read buffer (4 KiB) and pooled
//     exchange state (write buffer, header buffers, copy buffer) taken only
//     while a request is being served, keep-alive to clients and pooled
//     keep-alive connections to servers (per-server LIFO idle list).
//   - Plain TCP sockets on that path are read and written with raw system
//     calls (sockio_linux.go), waiting in the runtime's poller as net.Conn
//     does: a loopback write often outlasts the scheduler monitor's tick,
//     and a blocking system call would lose its processor to another
//     thread. A request that can only be answered after it is sent from
//     inside the wait for its answer (a bodyless request on a pooled
//     server connection; from a client connection's second request on,
//     the response's last bytes, sent after the log line by sendTail), so
//     the answer is read by one read: the poller is edge-triggered and
//     forgets an earlier readiness when a read begins, so the wait must
//     begin before the bytes go. A client seen to pipeline is not held.
//   - The PROXY protocol (proxyproto.go, wire format in balancer/proxyproto):
//     accept-proxy reads one header right after the tcp-request connection
//     rules and before TLS, consuming only its bytes (peek, then read), and
//     the header's client becomes cc.remote/cc.port, which everything after
//     reads; send-proxy writes a header on each new server connection, which
//     is then private to its client (never pooled).
//   - Server health actions (sessions.go): on-marked-down closes a server's
//     connections, on-marked-up closes the backups'; observe reports each
//     exchange's outcome to Deps.OnServerResult.
//   - Bodies are always streamed with fixed pooled buffers; TCP mode and
//     upgraded (WebSocket) connections are copied with io.Copy between
//     *net.TCPConn so the kernel splice path is used.
//
// Invariants:
//   - The hot path takes no lock but the idle-pool mutex of one server (and,
//     when a frontend has an access log, that log's mutex while one finished
//     line is copied into its buffer); all counters, and the per-server
//     response-time histogram, are atomics read by Stats at scrape time.
//   - Access logs (config.Frontend.AccessLog) write one line per request or
//     TCP connection, HAProxy-like text or JSON, to a file or Deps.AccessLog;
//     lines are buffered (64 KiB) and flushed every second and at shutdown.
//   - Every goroutine is started by Apply or Run and joined by Run.
//   - A request is re-sent to a server only when none of it reached a server
//     (connect failed), or when it is idempotent, RetryIdempotent is on, its
//     body was not consumed, and the server failed before any response byte.
//   - Passive health: PassiveFailures consecutive connection failures on one
//     server call Deps.OnServerFailure once; a success resets the count.
//
// The balancer receives plain state and never reaches back into the cluster:
// it must not import the cluster, health or vip packages.
package balancer
