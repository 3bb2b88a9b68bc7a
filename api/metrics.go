package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

// StatusSource is the node's status (the agent's api.Node has it).
type StatusSource interface {
	Status() Status
}

// StatsSource is the balancer's counters (*balancer.Balancer).
type StatsSource interface {
	Stats() balancer.Stats
}

// certSource and logSource are what *balancer.Balancer also tells:
// certificate expiry and syslog targets' counters (optional for a
// StatsSource).
type certSource interface {
	Certificates() []balancer.CertificateStats
}

type logSource interface {
	LogTargets() []balancer.LogTargetStats
}

// Collector exports the balancer's counters and the node's cluster view as
// Prometheus metrics. It reads both at scrape time: the data plane makes
// no Prometheus call per request.
type Collector struct {
	status StatusSource
	stats  StatsSource
	descs  map[string]*prometheus.Desc
}

// metricDef is one metric: name (without "tandem_"), help, variable labels.
type metricDef struct {
	name, help string
	labels     []string
}

var (
	feLabels  = []string{"frontend"}
	beLabels  = []string{"backend"}
	srvLabels = []string{"backend", "server"}
)

// counterDefs are the counters every frontend, backend and server has,
// named tandem_<level>_<name>.
var counterDefs = []metricDef{
	{"connections_total", "Connections since start (client side for frontends, server side otherwise).", nil},
	{"http_requests_total", "HTTP requests (TCP mode: connections).", nil},
	{"http_responses_total", "Responses by status class, including the balancer's own error answers.", []string{"code"}},
	{"connection_errors_total", "Failed connection attempts to servers.", nil},
	{"response_errors_total", "Servers that failed before or while answering.", nil},
	{"retries_total", "Connection attempts re-tried.", nil},
	{"redispatches_total", "Retries sent to another server.", nil},
	{"bytes_in_total", "Bytes received from clients.", nil},
	{"bytes_out_total", "Bytes sent to clients.", nil},
	{"current_connections", "Connections open now.", nil},
	{"current_queue", "Requests waiting for a maxconn slot now.", nil},
	{"current_requests", "Requests or connections in progress now.", nil},
}

func metricDefs() []metricDef {
	defs := []metricDef{
		{"node_info", "This node: name and role (always 1).", []string{"node", "role"}},
		{"config_version", "Cluster config version this node serves.", nil},
		{"quorum", "1 when this node sees a Raft quorum.", nil},
		{"cluster_members", "Cluster members as this node's gossip sees them, by status.", []string{"status"}},
		{"cluster_member_up", "1 when the member is alive in gossip.", []string{"member", "role"}},
		{"raft_leader", "1 when this node is the Raft leader.", nil},
		{"raft_has_leader", "1 when this node knows a Raft leader.", nil},
		{"raft_term", "Current Raft term.", nil},
		{"raft_commit_index", "Raft commit index.", nil},
		{"raft_applied_index", "Raft applied index.", nil},
		{"raft_last_contact_seconds", "Time since this follower last heard from the leader.", nil},
		{"raft_voters", "Raft voters in the configuration.", nil},
		{"vip_holder", "1 for the node that holds the VIP in this node's view.", []string{"vip", "address", "holder"}},
		{"vip_local_holding", "1 when this node holds the VIP.", []string{"vip", "address"}},
		{"vip_announcer", "1 for each node that announces the BGP VIP in this node's view.", []string{"vip", "address", "node"}},
		{"bgp_session_up", "1 when the BGP session with the peer is established.", []string{"peer", "peer_asn", "state"}},
		{"bgp_session_uptime_seconds", "How long the BGP session with the peer has been established.", []string{"peer"}},
		{"bgp_prefixes_sent", "Prefixes this node advertises to the BGP peer.", []string{"peer"}},
		{"frontend_up", "1 when every bind address of the frontend is listening.", feLabels},
		{"frontend_proxy_errors_total", "Client connections closed by accept-proxy: no valid PROXY protocol header, or from an address not trusted to send one.", feLabels},
		{"backend_active_servers", "Servers that may take new traffic now.", beLabels},
		{"backend_servers", "Servers in the config.", beLabels},
		{"backend_response_time_seconds", "Server response time (request sent to response head), HTTP.", beLabels},
		{"server_up", "1 when this node sends the server new traffic.", srvLabels},
		{"server_admin_state", "The server's admin state (1 for the current one).", append(srvLabels, "state")},
		{"server_health", "Agreed (cluster) and own (this node's checks) health (1 for the current one).", append(srvLabels, "view", "state")},
		{"server_weight", "Runtime weight.", srvLabels},
		{"server_check_duration_seconds", "Duration of the last health check.", srvLabels},
		{"server_idle_connections", "Pooled keep-alive connections to the server.", srvLabels},
		{"server_response_time_seconds", "Server response time (request sent to response head), HTTP.", srvLabels},
		{"cert_expiry_timestamp_seconds", "When a certificate a frontend serves expires (its leaf's not-after, Unix time).", []string{"cert"}},
		{"log_lines_sent_total", "Log lines written to a syslog target.", []string{"target"}},
		{"log_lines_dropped_total", "Log lines lost because the target was slower than the traffic (the data plane never waits).", []string{"target"}},
		{"log_lines_failed_total", "Log lines the target refused or could not be written.", []string{"target"}},
	}
	for _, lv := range []struct {
		prefix string
		labels []string
	}{{"frontend_", feLabels}, {"backend_", beLabels}, {"server_", srvLabels}} {
		for _, d := range counterDefs {
			defs = append(defs, metricDef{lv.prefix + d.name, d.help, append(append([]string(nil), lv.labels...), d.labels...)})
		}
	}
	return defs
}

// NewCollector returns a collector reading status and stats at scrape
// time; register it on the agent's registry.
func NewCollector(status StatusSource, stats StatsSource) *Collector {
	c := &Collector{status: status, stats: stats, descs: map[string]*prometheus.Desc{}}
	for _, d := range metricDefs() {
		c.descs[d.name] = prometheus.NewDesc("tandem_"+d.name, d.help, d.labels, nil)
	}
	return c
}

// MetricsHandler serves the registry in the Prometheus text format.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.status.Status()
	stats := c.stats.Stats()
	e := emitter{c: c, ch: ch}
	e.cluster(st)
	for _, f := range stats.Frontends {
		e.gauge("frontend_up", b2f(f.Ready), f.Name)
		e.counter("frontend_proxy_errors_total", float64(f.Counters.ProxyErrors), f.Name)
		e.counters("frontend_", f.Counters, f.Name)
	}
	for _, b := range stats.Backends {
		e.gauge("backend_active_servers", float64(b.ServersUp), b.Name)
		e.gauge("backend_servers", float64(b.ServersUsed), b.Name)
		e.histogram("backend_response_time_seconds", b.ResponseTime, b.Name)
		e.counters("backend_", b.Counters, b.Name)
	}
	byKey := map[config.ServerKey]ServerStatus{}
	for _, s := range st.Servers {
		byKey[config.ServerKey{Backend: s.Backend, Server: s.Server}] = s
	}
	for _, s := range stats.Servers {
		ss, ok := byKey[s.Key]
		if !ok { // not in this node's status: the balancer's own view
			ss = ServerStatus{Admin: s.Admin, Own: s.Health, Routed: s.Admin == config.AdminReady && (s.Health == config.HealthUp || s.Health == config.HealthUnknown)}
		}
		e.server(s, ss)
	}
	if cs, ok := c.stats.(certSource); ok {
		e.certificates(cs.Certificates())
	}
	if ls, ok := c.stats.(logSource); ok {
		for _, t := range ls.LogTargets() {
			e.counter("log_lines_sent_total", float64(t.Sent), t.Target)
			e.counter("log_lines_dropped_total", float64(t.Dropped), t.Target)
			e.counter("log_lines_failed_total", float64(t.Failed), t.Target)
		}
	}
}

// certificates emits each certificate's expiry once, however many
// frontends serve it.
func (e emitter) certificates(certs []balancer.CertificateStats) {
	seen := map[string]bool{}
	for _, c := range certs {
		if seen[c.Name] || c.NotAfter.IsZero() {
			continue
		}
		seen[c.Name] = true
		e.gauge("cert_expiry_timestamp_seconds", float64(c.NotAfter.Unix()), c.Name)
	}
}

// emitter sends metrics of one scrape.
type emitter struct {
	c  *Collector
	ch chan<- prometheus.Metric
}

func (e emitter) gauge(name string, v float64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(e.c.descs[name], prometheus.GaugeValue, v, labels...)
}

func (e emitter) counter(name string, v float64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(e.c.descs[name], prometheus.CounterValue, v, labels...)
}

func (e emitter) histogram(name string, h balancer.Histogram, labels ...string) {
	bounds := balancer.LatencyBounds()
	buckets := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		cum += h.Counts[i]
		buckets[b.Seconds()] = cum
	}
	e.ch <- prometheus.MustNewConstHistogram(e.c.descs[name], h.Count(), h.Sum.Seconds(), buckets, labels...)
}

// codeLabels are the values of the code label, in Counters.Responses order.
var codeLabels = [6]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}

func (e emitter) counters(prefix string, c balancer.Counters, labels ...string) {
	e.counter(prefix+"connections_total", float64(c.TotalConns), labels...)
	e.counter(prefix+"http_requests_total", float64(c.Requests), labels...)
	for i, n := range c.Responses {
		e.counter(prefix+"http_responses_total", float64(n), append(labels, codeLabels[i])...)
	}
	e.counter(prefix+"connection_errors_total", float64(c.ConnectErrors), labels...)
	e.counter(prefix+"response_errors_total", float64(c.ResponseErrors), labels...)
	e.counter(prefix+"retries_total", float64(c.Retries), labels...)
	e.counter(prefix+"redispatches_total", float64(c.Redispatches), labels...)
	e.counter(prefix+"bytes_in_total", float64(c.BytesIn), labels...)
	e.counter(prefix+"bytes_out_total", float64(c.BytesOut), labels...)
	e.gauge(prefix+"current_connections", float64(c.CurConns), labels...)
	e.gauge(prefix+"current_queue", float64(c.QueueLen), labels...)
	e.gauge(prefix+"current_requests", float64(c.InFlight), labels...)
}

func (e emitter) server(s balancer.ServerStats, ss ServerStatus) {
	b, n := s.Key.Backend, s.Key.Server
	e.gauge("server_up", b2f(ss.Routed), b, n)
	for _, a := range []config.AdminState{config.AdminReady, config.AdminDrain, config.AdminMaint} {
		e.gauge("server_admin_state", b2f(ss.Admin == a), b, n, a.String())
	}
	for _, h := range []config.Health{config.HealthUnknown, config.HealthUp, config.HealthDown, config.HealthNoLB} {
		e.gauge("server_health", b2f(ss.Agreed == h), b, n, "agreed", h.String())
		e.gauge("server_health", b2f(ss.Own == h), b, n, "own", h.String())
	}
	e.gauge("server_weight", float64(s.Weight), b, n)
	e.gauge("server_check_duration_seconds", ss.CheckTime.Seconds(), b, n)
	e.gauge("server_idle_connections", float64(s.IdleConns), b, n)
	e.histogram("server_response_time_seconds", s.ResponseTime, b, n)
	e.counters("server_", s.Counters, b, n)
}

func (e emitter) cluster(st Status) {
	e.gauge("node_info", 1, st.Node, st.Role)
	e.gauge("config_version", float64(st.Version))
	e.gauge("quorum", b2f(st.Quorum))
	byStatus := map[string]int{"alive": 0, "suspect": 0, "left": 0, "dead": 0}
	for _, m := range st.Members {
		byStatus[m.Status]++
		e.gauge("cluster_member_up", b2f(m.Status == "alive"), m.Name, m.Role)
	}
	for s, n := range byStatus {
		e.gauge("cluster_members", float64(n), s)
	}
	if r := st.Raft; r != nil {
		e.gauge("raft_leader", b2f(r.State == "Leader"))
		e.gauge("raft_has_leader", b2f(r.Leader != ""))
		e.gauge("raft_term", float64(r.Term))
		e.gauge("raft_commit_index", float64(r.CommitIndex))
		e.gauge("raft_applied_index", float64(r.AppliedIndex))
		e.gauge("raft_last_contact_seconds", r.LastContact.Seconds())
		e.gauge("raft_voters", float64(r.Voters))
	}
	emitBGP(e, st)
	for _, v := range st.VIPs {
		if v.Announce == "bgp" {
			continue // emitBGP
		}
		if v.Holder != "" {
			e.gauge("vip_holder", 1, v.Name, v.Address, v.Holder)
		}
		e.gauge("vip_local_holding", b2f(v.State == "holder"), v.Name, v.Address)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
