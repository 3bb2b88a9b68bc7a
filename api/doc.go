// Package api is a node's admin HTTP API (JSON), its Go client used by the
// CLI and the deploy command, the dashboard, /metrics, the cluster's
// counters (gathered from the members' APIs, counters.go) with their
// 15-minute in-memory history (history.go), and HAProxy's stats page CSV
// (statspage.go). HAProxy's runtime API protocol is in api/runtimeapi.
//
// The server consumes a small Node interface that the agent implements; it
// holds no state of its own. Every write needs the API token when the API
// listens beyond loopback (a node refuses to start otherwise).
//
// Routes (all JSON):
//
//	GET  /healthz                         200 when this node serves traffic
//	GET  /api/v1/status                   node, config version, servers
//	GET  /api/v1/config                   current config and version
//	POST /api/v1/config                   apply a config (compare-and-set)
//	POST /api/v1/servers/{backend}/{server}  set admin state and/or weight
//	GET  /api/v1/status?cluster=1[&nodes=1]  with the LB nodes' traffic summed (and each's)
//	GET  /api/v1/counters[?series=1]      this node's own counters (and history)
//	POST /api/v1/counters/clear           zero this node's counters (clear counters all)
//	GET  STATS_URI;csv                    HAProxy's "show stat" CSV (global.stats_uri)
package api
