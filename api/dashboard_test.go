package api

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

// fixedStats returns stats that a test changes between renders.
type fixedStats struct{ st *balancer.Stats }

func (f fixedStats) Stats() balancer.Stats { return *f.st }

func dashboardStatus() Status {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.Local)
	st := clusterView()
	st.VIPs = []VIPStatus{{
		Name: "front", Address: "192.0.2.10/24", Holder: "lb2", State: "backup",
		Nodes: []VIPNode{{Name: "lb1", Alive: true, Priority: 100, Eligible: true}, {Name: "lb2", Alive: true, Priority: 150, Eligible: true, Holding: true}},
		Transitions: []VIPTransition{
			{Time: t0, From: "init", To: "holder", Reason: "highest priority"},
			{Time: t0.Add(time.Minute), From: "holder", To: "backup", Reason: "lb2 preempts"},
		},
	}}
	st.Deploys = map[string]DeployRecord{
		"web": {ID: "d1", Backend: "web", Server: "s1", Step: "drain", Host: "ops@deploy", Since: t0},
		"old": {ID: "d0", Backend: "old", Step: "done", Done: true, Since: t0},
	}
	st.Frontends = []FrontendStatus{{Name: "web", Bind: []string{"127.0.0.1:8080"}, Mode: "http", Ready: true, Requests: 10}}
	st.Servers = []ServerStatus{
		{Backend: "web", Server: "s1", Address: "127.0.0.1:8001", Admin: config.AdminDrain, Agreed: config.HealthUp,
			Views: map[string]config.Health{"lb2": config.HealthDown, "lb1": config.HealthUp}, Own: config.HealthUp,
			LastCheck: "HTTP 200", CheckTime: 1200 * time.Microsecond, CurConns: 2, TotalConns: 9},
		{Backend: "web", Server: "<s2>", Address: "127.0.0.1:8002", Admin: config.AdminReady, Agreed: config.HealthUp, Own: config.HealthUp, Routed: true},
	}
	return st
}

func key(b, s string) config.ServerKey { return config.ServerKey{Backend: b, Server: s} }

// render renders the panels at now and parses them.
func render(t *testing.T, d *Dashboard, now time.Time) *html.Node {
	t.Helper()
	d.now = func() time.Time { return now }
	var buf bytes.Buffer
	if err := d.Render(&buf); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// find returns the nodes for which match holds, in document order.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	if match(n) {
		out = append(out, n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		out = append(out, find(c, match)...)
	}
	return out
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func byAttr(name, val string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Type == html.ElementNode && attr(n, name) == val }
}

func text(n *html.Node) string {
	var b strings.Builder
	for _, c := range find(n, func(c *html.Node) bool { return c.Type == html.TextNode }) {
		b.WriteString(c.Data + " ")
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// cell returns the text of the server row's cell labelled l.
func cell(t *testing.T, doc *html.Node, server, l string) string {
	t.Helper()
	rows := find(doc, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-server") == server })
	if len(rows) != 1 {
		t.Fatalf("%d rows for server %q", len(rows), server)
	}
	cells := find(rows[0], byAttr("data-l", l))
	if len(cells) != 1 {
		t.Fatalf("server %q has %d cells %q", server, len(cells), l)
	}
	return text(cells[0])
}

func TestDashboardRendersClusterVIPsAndServers(t *testing.T) {
	stats := &balancer.Stats{Servers: []balancer.ServerStats{{Key: key("web", "s1")}}}
	d, err := NewDashboard(fakeStatus{dashboardStatus()}, fixedStats{stats})
	if err != nil {
		t.Fatal(err)
	}
	doc := render(t, d, time.Now())
	vips := find(doc, byAttr("id", "vips"))
	if len(vips) != 1 {
		t.Fatal("no VIP panel")
	}
	vt := text(vips[0])
	for _, want := range []string{"front 192.0.2.10/24", "holder lb2", "here backup", "lb2 preempts", "init → holder"} {
		if !strings.Contains(vt, want) {
			t.Errorf("VIP panel lacks %q: %s", want, vt)
		}
	}
	if strings.Index(vt, "lb2 preempts") > strings.Index(vt, "highest priority") {
		t.Error("VIP timeline is not newest first")
	}
	if h := find(vips[0], byAttr("class", "holder")); len(h) != 1 || text(h[0]) != "lb2" {
		t.Error("the holder is not marked")
	}
	got := map[string]string{
		"admin":  cell(t, doc, "s1", "Admin"),
		"views":  cell(t, doc, "s1", "Nodes' view"),
		"conns":  cell(t, doc, "s1", "Conns"),
		"check":  cell(t, doc, "s1", "Last check"),
		"p50":    cell(t, doc, "s1", "p50"),
		"routed": cell(t, doc, "<s2>", "Routed"),
	}
	want := map[string]string{
		"admin": "drain", "views": "lb1 up lb2 down", "conns": "2", "check": "HTTP 200 1.2ms", "p50": "–", "routed": "yes",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("server cells (-want +got):\n%s", diff)
	}
	nt := text(find(doc, byAttr("id", "node"))[0])
	if !strings.Contains(nt, "Deploy of web in progress: server s1, step drain") || strings.Contains(nt, "old") {
		t.Errorf("deploy banner: %s", nt)
	}
	var disabled []string
	for _, b := range find(doc, func(n *html.Node) bool { return n.Data == "button" && attr(n, "data-server") == "s1" }) {
		if _, ok := hasAttr(b, "disabled"); ok {
			disabled = append(disabled, attr(b, "data-admin"))
		}
	}
	if diff := cmp.Diff([]string{"drain"}, disabled); diff != "" {
		t.Errorf("disabled buttons of s1 (-want +got):\n%s", diff)
	}
}

func hasAttr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func TestDashboardWithoutVIPsSaysSo(t *testing.T) {
	st := dashboardStatus()
	st.VIPs = nil
	d, err := NewDashboard(fakeStatus{st}, fixedStats{&balancer.Stats{}})
	if err != nil {
		t.Fatal(err)
	}
	doc := render(t, d, time.Now())
	if n := find(doc, byAttr("id", "novips")); len(n) != 1 || !strings.Contains(text(n[0]), "No VIPs") {
		t.Error(`no "No VIPs" note`)
	}
}

func TestDashboardEscapesNames(t *testing.T) {
	d, err := NewDashboard(fakeStatus{dashboardStatus()}, fixedStats{&balancer.Stats{}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := d.Render(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<s2>") {
		t.Error("server name <s2> rendered as markup")
	}
}

func TestDashboardRatesAndPercentilesOverWindow(t *testing.T) {
	var rt balancer.Histogram
	rt.Counts[4] = 100 // 100 answers in (5ms, 10ms]
	stats := &balancer.Stats{
		Frontends: []balancer.FrontendStats{{Name: "web", Counters: balancer.Counters{Requests: 1000}}},
		Servers: []balancer.ServerStats{{Key: key("web", "s1"), ResponseTime: rt,
			Counters: balancer.Counters{Requests: 1000, ConnectErrors: 1}}},
	}
	d, err := NewDashboard(fakeStatus{dashboardStatus()}, fixedStats{stats})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	doc := render(t, d, t0)
	if got := cell(t, doc, "s1", "Req/s"); got != "–" {
		t.Errorf("first render Req/s %q, want –", got)
	}
	stats.Frontends[0].Requests += 40
	stats.Servers[0].Requests += 40
	stats.Servers[0].ConnectErrors += 2
	stats.Servers[0].ResponseTime.Counts[8] += 40 // 40 in (100ms, 250ms]
	doc = render(t, d, t0.Add(2*time.Second))
	got := []string{cell(t, doc, "s1", "Req/s"), cell(t, doc, "s1", "Err/s"), cell(t, doc, "s1", "p50"), cell(t, doc, "s1", "p99")}
	want := []string{"20.0", "1.0", "175ms", "248ms"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("req/s, err/s, p50, p99 (-want +got):\n%s", diff)
	}
	if ft := text(find(doc, byAttr("id", "frontends"))[0]); !strings.Contains(ft, "web http 127.0.0.1:8080 yes 0 0 10 20.0") {
		t.Errorf("frontend requests and rate: %s", ft)
	}
}

func TestDashboardRoutes(t *testing.T) {
	s, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Token: "sekret"}, nil, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDashboard(fakeStatus{dashboardStatus()}, fixedStats{&balancer.Stats{}})
	if err != nil {
		t.Fatal(err)
	}
	d.Register(s)
	hs := httptest.NewServer(s.mux)
	t.Cleanup(hs.Close)
	get := func(path, token string) (int, string, http.Header) {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	code, page, h := get("/", "")
	if code != 200 || !strings.Contains(page, "/dashboard/panels") || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET / without token: %d, frame options %q", code, h.Get("X-Frame-Options"))
	}
	if strings.Contains(page, "/*STYLE*/") || strings.Contains(page, "/*SCRIPT*/") {
		t.Error("page placeholders not replaced")
	}
	_, panels, _ := get("/dashboard/panels", "sekret")
	if weight := len(page) + len(panels); weight > 100<<10 {
		t.Errorf("page weight %d bytes, want ≤ 100 kB", weight)
	}
	t.Logf("page %d bytes + panels %d bytes", len(page), len(panels))
	if code, _, _ := get("/dashboard/panels", ""); code != 401 {
		t.Errorf("panels without token: %d, want 401", code)
	}
	if code, _, _ := get("/nope", "sekret"); code != 404 {
		t.Errorf("GET /nope: %d, want 404 (the page is only at /)", code)
	}
}
