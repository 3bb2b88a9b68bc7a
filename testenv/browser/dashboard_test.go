package browser

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tandem-lb/tandem/testenv"
	"github.com/tandem-lb/tandem/testenv/proctest"
)

// cluster is two LB agents sharing one frontend port, and two test sites.
type cluster struct {
	lb1, lb2  *proctest.Node
	front     string
	accessLog string
}

// startCluster starts the article's two sites and two agents: lb1
// bootstraps with the config, lb2 joins it.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	var sites []string
	for _, name := range []string{"server1", "server2"} {
		s, err := testenv.NewSite(testenv.SiteConfig{Name: name, Listen: "127.0.0.1:0", Root: filepath.Join(t.TempDir(), name)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		<-s.Ready()
		sites = append(sites, s.Addr())
	}
	c := &cluster{
		front:     fmt.Sprintf("127.0.0.1:%d", proctest.FreePort(t)),
		accessLog: filepath.Join(t.TempDir(), "access.log"),
	}
	y := fmt.Sprintf(`defaults:
  mode: http
  timeouts: {connect: 5s, client: 50s, server: 50s}
  redispatch: true
frontends:
  - name: http-in
    bind: ["%s"]
    default_backend: http-in
    access_log: {path: %q}
backends:
  - name: http-in
    balance: roundrobin
    health_check: {method: HEAD, path: /deploy.txt, version: HTTP/1.0}
    servers:
      - {name: server1, address: %s, check: true, inter: 200ms, rise: 2, fall: 2}
      - {name: server2, address: %s, check: true, inter: 200ms, rise: 2, fall: 2}
`, c.front, c.accessLog, sites[0], sites[1])
	cfg := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	c.lb1 = proctest.NewNode(t, "lb1", "--cluster-config", cfg)
	c.lb1.Start()
	c.lb2 = proctest.NewNode(t, "lb2", "--join", c.lb1.GossipAddr)
	c.lb2.Start()
	for _, n := range []*proctest.Node{c.lb1, c.lb2} {
		proctest.WaitFor(t, n.Name+" serving version 1 with both members alive and both servers up", 60*time.Second, func() bool {
			st, err := n.Status()
			if err != nil || st.Version != 1 || len(st.Members) != 2 || len(st.Servers) != 2 {
				return false
			}
			for _, m := range st.Members {
				if m.Status != "alive" {
					return false
				}
			}
			for _, s := range st.Servers {
				if s.Agreed.String() != "up" {
					return false
				}
			}
			return true
		})
	}
	return c
}

func TestDashboardInBrowser(t *testing.T) {
	path := chromium(t)
	c := startCluster(t)
	checkDashboardServed(t, c.lb1)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))...)
	t.Cleanup(cancelAlloc)
	tab1, cancel1 := chromedp.NewContext(alloc)
	t.Cleanup(cancel1)
	tab2, cancel2 := chromedp.NewContext(tab1) // a second tab of the same browser
	t.Cleanup(cancel2)

	step := func(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).innerText`, sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// The browser starts with the first Do on tab1; it must not be bounded
	// by a step's timeout.
	if err := chromedp.Do(tab1, chromedp.Navigate("http://"+c.lb1.APIAddr+"/")); err != nil {
		t.Fatalf("open lb1's dashboard: %v", err)
	}
	step(tab1, "lb1's dashboard shows both servers",
		chromedp.WaitVisible(chromedp.CSS(`tr[data-server="server1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-server="server2"]`)))
	for _, want := range []string{"lb1", "lb2", "alive", "leader"} {
		if nodes := text(tab1, "#nodes"); !strings.Contains(nodes, want) {
			t.Errorf("nodes panel lacks %q: %s", want, nodes)
		}
	}
	// Loopback has no VIP interface: the panel says so (the VIP panel with
	// a holder is covered by api's render test).
	if v := text(tab1, "#vips"); !strings.Contains(v, "No VIPs") {
		t.Errorf("VIP panel: %q, want the no-VIPs note", v)
	}
	if err := chromedp.Do(tab2, chromedp.Navigate("http://"+c.lb2.APIAddr+"/")); err != nil {
		t.Fatalf("open lb2's dashboard: %v", err)
	}
	step(tab2, "lb2's dashboard shows server1 ready",
		chromedp.WaitVisible(chromedp.CSS(`tr[data-server="server1"] .admin`)))
	if a := text(tab2, `tr[data-server="server1"] .admin`); a != "ready" {
		t.Fatalf("server1 admin on lb2 before the drain: %q", a)
	}

	step(tab1, "click drain on server1 in lb1's dashboard",
		chromedp.Click(chromedp.CSS(`button[data-server="server1"][data-admin="drain"]`)))
	step(tab2, "lb2's dashboard shows server1 draining",
		chromedp.Poll[chromedp.Void](`(function(){var e=document.querySelector('tr[data-server="server1"] .admin');return e!==null&&e.textContent==="drain";})()`,
			chromedp.WithPollingTimeout(20*time.Second)))
	if e := text(tab2, "#err"); e != "" {
		t.Errorf("error banner on lb2: %q", e)
	}

	checkCharts(t, c, tab2)
	checkPerNode(t, tab2)
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"dashboard-lb2.png", 1280, 900}, {"dashboard-phone.png", 390, 844}} {
		checkNoHorizontalScroll(t, tab2, vp.w, vp.h)
		saveScreenshot(t, tab2, vp.name, vp.w, vp.h)
	}
	checkPageWeight(t, c.lb2)

	checkMetrics(t, c)
	checkAccessLog(t, c)
}

// checkCharts sends traffic through both nodes and waits for the
// dashboard's 15-minute charts to draw it: the request chart of server2
// (server1 drains) and of the frontend get a non-zero maximum once a 5 s
// slot has passed, and the rates are numbers.
func checkCharts(t *testing.T, c *cluster, tab context.Context) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	for range 40 {
		resp, err := hc.Get("http://" + c.front + "/?from=chart-test")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// The slot holding these requests closes within 5 s; the page
	// refreshes every 2 s.
	sctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	err := chromedp.Do(sctx, chromedp.Poll[chromedp.Void](`(function(){
		var s=document.querySelector('tr[data-server="server2"] svg.spark.req'), f=document.querySelector('tr[data-frontend="http-in"] svg.spark.req');
		return !!(s&&f&&s.getAttribute("data-max")!=="0.0"&&f.getAttribute("data-max")!=="0.0");
	})()`, chromedp.WithPollingTimeout(25*time.Second)))
	if err != nil {
		t.Fatalf("the charts never drew the 40 requests: %v", err)
	}
	last, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('tr[data-server="server2"] svg.spark.req polyline').getAttribute("points").split(" ").pop()`))
	if err != nil || !strings.HasPrefix(last, "179,") {
		t.Errorf("server2's request chart ends at %q (%v), want x=179: 15 min of 5 s slots", last, err)
	}
	rate, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('tr[data-server="server2"] td[data-l="Req/s"]').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if rate == "–" || rate == "" {
		t.Errorf("server2's req/s is %q once traffic was charted", rate)
	}
}

// checkPerNode turns on "per node" and waits for a row per LB node under
// server2 (the serving node's first).
func checkPerNode(t *testing.T, tab context.Context) {
	t.Helper()
	sctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	err := chromedp.Do(sctx, chromedp.Click(chromedp.CSS("#pernode")),
		chromedp.Poll[chromedp.Void](`(function(){var r=document.querySelector('tr[data-server="server2"]'); var a=r&&r.nextElementSibling, b=a&&a.nextElementSibling;
			var n=[a&&a.dataset.node,b&&b.dataset.node].sort().join(); return n==="lb1,lb2";})()`, chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		t.Fatalf("per-node rows of server2: %v", err)
	}
}

// checkNoHorizontalScroll: at this viewport neither the page nor any
// panel scrolls sideways.
func checkNoHorizontalScroll(t *testing.T, tab context.Context, w, h int64) {
	t.Helper()
	sctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.EmulateViewport(w, h), chromedp.Poll[chromedp.Void](`document.querySelector("#nodes")!==null`)); err != nil {
		t.Fatalf("viewport %dx%d: %v", w, h, err)
	}
	wide, err := chromedp.Run(sctx, chromedp.Evaluate[[]string](`(function(){var out=[]; var d=document.documentElement;
			if(d.scrollWidth>window.innerWidth){out.push("page "+d.scrollWidth+">"+window.innerWidth);}
			document.querySelectorAll("section").forEach(function(s){if(s.scrollWidth>s.clientWidth+1){out.push((s.id||s.dataset.backend)+" "+s.scrollWidth+">"+s.clientWidth);}});
			return out;})()`))
	if err != nil {
		t.Fatalf("measure at %dx%d: %v", w, h, err)
	}
	if len(wide) > 0 {
		t.Errorf("at %dx%d these scroll sideways: %v", w, h, wide)
	}
}

// checkPageWeight: the page and its panels stay under 100 kB.
func checkPageWeight(t *testing.T, n *proctest.Node) {
	t.Helper()
	size := 0
	for _, path := range []string{"/", "/dashboard/panels?nodes=1"} {
		resp, err := http.Get("http://" + n.APIAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		size += len(b)
	}
	if size > 100<<10 {
		t.Errorf("page and panels weigh %d bytes, want under 100 kB", size)
	}
	t.Logf("page and panels: %d bytes", size)
}

// checkDashboardServed fails clearly when the agent does not serve the
// dashboard (agent.New must call observe).
func checkDashboardServed(t *testing.T, n *proctest.Node) {
	t.Helper()
	resp, err := http.Get("http://" + n.APIAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET / on %s: %s: the agent does not serve the dashboard (agent.New must call a.observe)", n.Name, resp.Status)
	}
}

func saveScreenshot(t *testing.T, ctx context.Context, name string, w, h int64) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.EmulateViewport(w, h)); err != nil {
		t.Fatalf("viewport %dx%d: %v", w, h, err)
	}
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("TANDEM_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", p, len(png))
}

// checkMetrics scrapes both nodes and parses the Prometheus text format.
func checkMetrics(t *testing.T, c *cluster) {
	t.Helper()
	for _, n := range []*proctest.Node{c.lb1, c.lb2} {
		fams := scrape(t, n)
		checks := []struct {
			name   string
			labels string
			want   float64
		}{
			{"tandem_cluster_members", `status="alive"`, 2},
			{"tandem_server_admin_state", `backend="http-in",server="server1",state="drain"`, 1},
			{"tandem_server_up", `backend="http-in",server="server1"`, 0},
			{"tandem_server_up", `backend="http-in",server="server2"`, 1},
			{"tandem_frontend_up", `frontend="http-in"`, 1},
			{"tandem_raft_has_leader", ``, 1},
		}
		for _, ck := range checks {
			got, ok := sampleValue(fams[ck.name], ck.labels)
			if !ok || got != ck.want {
				t.Errorf("%s: %s{%s} = %v (found %v), want %v", n.Name, ck.name, ck.labels, got, ok, ck.want)
			}
		}
		if f := fams["tandem_server_response_time_seconds"]; f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
			t.Errorf("%s: no response-time histogram", n.Name)
		}
	}
}

func scrape(t *testing.T, n *proctest.Node) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + n.APIAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics on %s: %s", n.Name, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics of %s: %v", n.Name, err)
	}
	return fams
}

// sampleValue finds the sample whose labels, rendered as k="v" joined by
// commas in name order, equal labels.
func sampleValue(f *dto.MetricFamily, labels string) (float64, bool) {
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		var parts []string
		for _, l := range m.Label {
			parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		if strings.Join(parts, ",") != labels {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}

// accessLine is the text access-log format, one group per field.
var accessLine = regexp.MustCompile(`^127\.0\.0\.1:(\d+) \[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3})\] (\S+) (\S+)/(\S+) (\d+)/(\d+)/(\d+)/(\d+)/(\d+) (\d{3}) (\d+) (\d+) (\S\S) (\d+) "(\S+) (\S+) (\S+)"$`)

// checkAccessLog sends requests through the shared frontend and checks the
// lines the agents wrote (both append to the same file).
func checkAccessLog(t *testing.T, c *cluster) {
	t.Helper()
	for range 4 {
		resp, err := http.Get("http://" + c.front + "/?from=browser-test")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var lines []string
	proctest.WaitFor(t, "4 access-log lines of the probes", 10*time.Second, func() bool {
		b, _ := os.ReadFile(c.accessLog)
		lines = lines[:0]
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "/?from=browser-test") {
				lines = append(lines, l)
			}
		}
		return len(lines) >= 4
	})
	for _, l := range lines {
		m := accessLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("access-log line does not match the format: %q", l)
			continue
		}
		fields := map[string]string{"frontend": m[3], "backend": m[4], "server": m[5], "status": m[11], "term": m[14], "method": m[16], "uri": m[17], "proto": m[18]}
		want := map[string]string{"frontend": "http-in", "backend": "http-in", "server": "server2", "status": "200", "term": "--", "method": "GET", "uri": "/?from=browser-test", "proto": "HTTP/1.1"}
		for k, v := range want {
			if fields[k] != v {
				t.Errorf("access-log %s = %q, want %q (server1 is draining): %q", k, fields[k], v, l)
			}
		}
		if _, err := time.ParseInLocation("02/Jan/2006:15:04:05.000", m[2], time.Local); err != nil {
			t.Errorf("access-log date %q: %v", m[2], err)
		}
	}
}
