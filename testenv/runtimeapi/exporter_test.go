package runtimeapi

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tandem-lb/tandem/testenv/proctest"
)

// exporter runs Debian's prometheus-haproxy-exporter on scrapeURI and
// returns the address its /metrics is on.
func exporter(t *testing.T, scrapeURI string) string {
	t.Helper()
	bin := need(t, "prometheus-haproxy-exporter", "prometheus-haproxy-exporter")
	addr := fmt.Sprintf("127.0.0.1:%d", proctest.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--haproxy.scrape-uri="+scrapeURI, "--web.listen-address="+addr, "--haproxy.timeout=5s")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("exporter log:\n%s", log.String())
		}
	})
	proctest.WaitFor(t, "the exporter listening", 10*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return addr
}

func scrapeExporter(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the exporter's metrics: %v", err)
	}
	return fams
}

// value finds the sample of family name whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// TestExporterMatchesTandemsFigures: after a known load through both
// nodes, the exporter reading lb1's socket (and, separately, lb1's stats
// page CSV) exports frontends, backends and servers, and its server_up
// and request counters are tandem's own cluster-wide figures.
func TestExporterMatchesTandemsFigures(t *testing.T) {
	p := startPair(t)
	const n = 50
	load(t, p.front, n)
	socat(t, p.admin(p.lb1), "set server http-in/server2 state maint")
	proctest.WaitFor(t, "lb2 to put server2 in maintenance", 10*time.Second, func() bool {
		return !serverOn(t, p.lb2, "server2").Routed
	})
	// The counters a scrape reads are those of both nodes.
	want := map[string]uint64{}
	for _, node := range []*proctest.Node{p.lb1, p.lb2} {
		for _, s := range own(t, node).Stats.Servers {
			want[s.Key.Server] += s.Responses[1] // 2xx
		}
		want["frontend"] += own(t, node).Stats.Frontends[0].Requests
	}
	if want["frontend"] != n || want["server1"]+want["server2"] != n {
		t.Fatalf("tandem counted %v for %d requests", want, n)
	}
	for _, uri := range []string{
		"unix:" + p.admin(p.lb1),
		"http://" + p.lb1.APIAddr + "/haproxy?stats;csv",
	} {
		t.Run(strings.SplitN(uri, ":", 2)[0], func(t *testing.T) {
			fams := scrapeExporter(t, exporter(t, uri))
			checks := []struct {
				name   string
				labels map[string]string
				want   float64
			}{
				{"haproxy_up", nil, 1},
				{"haproxy_frontend_http_requests_total", map[string]string{"frontend": "http-in"}, float64(want["frontend"])},
				{"haproxy_backend_up", map[string]string{"backend": "http-in"}, 1},
				{"haproxy_server_up", map[string]string{"backend": "http-in", "server": "server1"}, 1},
				{"haproxy_server_up", map[string]string{"backend": "http-in", "server": "server2"}, 0},
				{"haproxy_server_http_responses_total", map[string]string{"server": "server1", "code": "2xx"}, float64(want["server1"])},
				{"haproxy_server_http_responses_total", map[string]string{"server": "server2", "code": "2xx"}, float64(want["server2"])},
				{"haproxy_backend_http_responses_total", map[string]string{"backend": "http-in", "code": "2xx"}, n},
				{"haproxy_server_weight", map[string]string{"server": "server1"}, 1},
			}
			for _, c := range checks {
				got, ok := value(fams, c.name, c.labels)
				if !ok || got != c.want {
					t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
				}
			}
			for _, prefix := range []string{"haproxy_frontend_", "haproxy_backend_", "haproxy_server_"} {
				found := false
				for name := range fams {
					found = found || strings.HasPrefix(name, prefix)
				}
				if !found {
					t.Errorf("the exporter exports no %s* metric", prefix)
				}
			}
		})
	}
}
