package api

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

// fakeStatus is a fixed cluster view.
type fakeStatus struct{ st Status }

func (f fakeStatus) Status() Status { return f.st }

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runBalancer serves frontend "web" on loopback, backend "web" with server
// s1 answering "ok"; it returns the balancer and the frontend address.
func runBalancer(t *testing.T) (*balancer.Balancer, string) {
	t.Helper()
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(site.Close)
	front := freeAddr(t)
	c := &config.Cluster{
		Frontends: []config.Frontend{{Name: "web", Bind: []string{front}, DefaultBackend: "web"}},
		Backends: []config.Backend{{Name: "web", Servers: []config.Server{
			{Name: "s1", Address: strings.TrimPrefix(site.URL, "http://")},
		}}},
	}
	b, err := balancer.New(balancer.Config{DrainTimeout: time.Second}, balancer.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(balancer.Desired{Config: c.Resolve()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return b, front
}

func clusterView() Status {
	return Status{
		Node: "lb1", Role: "voter", Version: 7, Quorum: true,
		Members: []Member{
			{Name: "lb1", Role: "voter", Status: "alive", Leader: true},
			{Name: "lb2", Role: "voter", Status: "dead"},
		},
		Raft: &RaftStatus{State: "Leader", Leader: "lb1", Term: 3, CommitIndex: 40, AppliedIndex: 40, Voters: 2},
		VIPs: []VIPStatus{{Name: "front", Address: "192.0.2.10/24", Holder: "lb1", State: "holder"}},
		Servers: []ServerStatus{{
			Backend: "web", Server: "s1", Admin: config.AdminDrain, Agreed: config.HealthUp, Own: config.HealthDown,
			CheckTime: 1500 * time.Microsecond,
		}},
	}
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return fams
}

// value returns the value of the sample of family name with exactly these
// label values, or fails.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		if !cmp.Equal(got, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no sample %s%v", name, labels)
	return 0
}

func TestMetricsScrapedAndParsed(t *testing.T) {
	b, front := runBalancer(t)
	for _, path := range []string{"/", "/", "/missing"} {
		resp, err := http.Get("http://" + front + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(fakeStatus{clusterView()}, b))
	srv := httptest.NewServer(MetricsHandler(reg))
	t.Cleanup(srv.Close)
	var fams map[string]*dto.MetricFamily
	// The last response is counted just after it was flushed to us.
	waitFor(t, "3 requests counted", 5*time.Second, func() bool {
		fams = scrape(t, srv.URL)
		return value(t, fams, "tandem_server_http_requests_total", map[string]string{"backend": "web", "server": "s1"}) == 3
	})
	web := map[string]string{"backend": "web"}
	s1 := map[string]string{"backend": "web", "server": "s1"}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tandem_node_info", map[string]string{"node": "lb1", "role": "voter"}, 1},
		{"tandem_config_version", map[string]string{}, 7},
		{"tandem_cluster_members", map[string]string{"status": "alive"}, 1},
		{"tandem_cluster_members", map[string]string{"status": "dead"}, 1},
		{"tandem_cluster_member_up", map[string]string{"member": "lb2", "role": "voter"}, 0},
		{"tandem_raft_leader", map[string]string{}, 1},
		{"tandem_raft_term", map[string]string{}, 3},
		{"tandem_vip_holder", map[string]string{"vip": "front", "address": "192.0.2.10/24", "holder": "lb1"}, 1},
		{"tandem_vip_local_holding", map[string]string{"vip": "front", "address": "192.0.2.10/24"}, 1},
		{"tandem_frontend_up", map[string]string{"frontend": "web"}, 1},
		{"tandem_frontend_proxy_errors_total", map[string]string{"frontend": "web"}, 0},
		{"tandem_frontend_http_requests_total", map[string]string{"frontend": "web"}, 3},
		{"tandem_frontend_connections_total", map[string]string{"frontend": "web"}, 1},
		{"tandem_backend_http_responses_total", with(web, "code", "2xx"), 2},
		{"tandem_backend_http_responses_total", with(web, "code", "4xx"), 1},
		{"tandem_backend_http_responses_total", with(web, "code", "5xx"), 0},
		{"tandem_backend_active_servers", web, 1},
		{"tandem_backend_response_time_seconds", web, 3},
		{"tandem_server_response_time_seconds", s1, 3},
		{"tandem_server_up", s1, 0},
		{"tandem_server_admin_state", with(s1, "state", "drain"), 1},
		{"tandem_server_admin_state", with(s1, "state", "ready"), 0},
		{"tandem_server_health", with(s1, "view", "agreed", "state", "up"), 1},
		{"tandem_server_health", with(s1, "view", "own", "state", "down"), 1},
		{"tandem_server_check_duration_seconds", s1, 0.0015},
		{"tandem_server_http_responses_total", with(s1, "code", "4xx"), 1},
		{"tandem_server_current_connections", s1, 0},
	}
	for _, tt := range tests {
		if got := value(t, fams, tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	h := fams["tandem_server_response_time_seconds"].Metric[0].Histogram
	if n := len(h.Bucket); n != len(balancer.LatencyBounds())+1 {
		t.Errorf("%d buckets, want %d and +Inf", n, len(balancer.LatencyBounds()))
	}
	if h.GetSampleSum() <= 0 {
		t.Errorf("response time sum %v, want > 0", h.GetSampleSum())
	}
}

func TestMetricsRouteNeedsTokenWhenSet(t *testing.T) {
	s, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Token: "sekret"}, nil, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(fakeStatus{clusterView()}, emptyStats{}))
	s.Handle("GET /metrics", MetricsHandler(reg), true)
	hs := httptest.NewServer(s.mux)
	t.Cleanup(hs.Close)
	for _, tt := range []struct {
		token string
		want  int
	}{{"", 401}, {"wrong", 401}, {"sekret", 200}} {
		req, _ := http.NewRequest("GET", hs.URL+"/metrics", nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("token %q: %d, want %d", tt.token, resp.StatusCode, tt.want)
		}
	}
}

type emptyStats struct{}

func (emptyStats) Stats() balancer.Stats { return balancer.Stats{} }

func TestCollectorDescribesWhatItCollects(t *testing.T) {
	b, _ := runBalancer(t)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(NewCollector(fakeStatus{clusterView()}, b)); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("pedantic gather: %v", err)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
