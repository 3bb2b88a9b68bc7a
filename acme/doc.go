// Package acme gets and renews the certificates of the cluster config's
// acme section for the whole cluster, with caddyserver/certmagic (order
// and renewal logic, locking, retries of one attempt) and mholt/acmez
// (the ACME protocol). It owns the certmagic wiring:
//
//   - Storage is certmagic's Storage and locking on the replicated state
//     (cluster.ACMEStore): writes go through Raft (Apply, forwarded to the
//     leader), reads come from this node's committed state. A lock has an
//     owner node and an expiry that its holder keeps pushing back, so the
//     work of a node that died holding it passes to another node once it
//     expires. Values that hold a private key are sealed with the cluster
//     key before they reach Raft.
//   - the issuer answers challenges by writing them to the replicated
//     state; Answers reads them there, so whichever node the CA reaches
//     answers HTTP-01 (the balancer asks it before any rule) and
//     TLS-ALPN-01 (the balancer's TLS config asks it for "acme-tls/1").
//   - Manager keeps one worker per name: it obtains the certificate, renews
//     it when a third of its lifetime is left, retries a failure with
//     exponential backoff, and publishes the certificate into the cluster
//     certificate store as "acme:NAME" (cluster.SetCertificate), from which
//     every node's balancer serves it.
//
// Invariants: exactly one node orders or renews a name at a time (the
// lock); the certificate in the store only moves forward (a node never
// publishes one that expires before the one published); Run returns only
// after every goroutine it started has exited (certmagic's cache
// maintenance loop included).
//
// It must not import balancer: the balancer takes Answers through a small
// interface of its own.
package acme
