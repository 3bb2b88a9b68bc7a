// Package api is a node's admin HTTP API (JSON), its Go client used by the
// CLI and the deploy command, and (later) the dashboard and /metrics.
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
package api
