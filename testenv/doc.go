// Package testenv holds what tandem's tests run against: test backends that
// serve like the article's two IIS sites (Site: "HAProxy server1" at / and
// /default.htm, an empty deploy.txt that health checks ask for with
// "HEAD /deploy.txt HTTP/1.0"), a load client that counts failures and the
// longest time without a good answer (RunLoad), and — in testenv/compose —
// the docker compose cluster and the failover suites.
//
// Invariants:
//   - Everything here listens on and sends to loopback (or the project's own
//     test hosts); every load run is bounded in time and stops by itself.
//   - Site.Run and RunLoad return only after every goroutine they started
//     has exited.
//   - Nothing logs per request: counters are returned as values.
//
// It must not be imported by the agent's code paths (agent, balancer,
// health, cluster, vip); only tests, the `tandem testsite` command and the
// benchmark harness use it. It imports no other tandem package.
package testenv
