package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// fakeCluster is a fixed ClusterCounters.
type fakeCluster struct{ cc *ClusterCounters }

func (f fakeCluster) Gather(context.Context, bool) ClusterCounters { return *f.cc }

// oneNode is the counters of a cluster of one node, lb1, with stats.
func oneNode(stats balancer.Stats) fakeCluster {
	return fakeCluster{&ClusterCounters{Nodes: []NodeCounters{{Node: "lb1", Stats: stats}}}}
}

// render renders the panels at now and parses them.
func render(t *testing.T, d *Dashboard, now time.Time) *html.Node {
	t.Helper()
	return renderNodes(t, d, now, false)
}

func renderNodes(t *testing.T, d *Dashboard, now time.Time, perNode bool) *html.Node {
	t.Helper()
	d.now = func() time.Time { return now }
	var buf bytes.Buffer
	if err := d.Render(context.Background(), &buf, perNode); err != nil {
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
	stats := balancer.Stats{Servers: []balancer.ServerStats{{Key: key("web", "s1"), Counters: balancer.Counters{CurConns: 2}}}}
	d, err := NewDashboard(fakeStatus{dashboardStatus()}, oneNode(stats))
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
		"health": cell(t, doc, "s1", "Health"),
		"conns":  cell(t, doc, "s1", "Conns"),
		"check":  cell(t, doc, "s1", "Last check"),
		"p50":    cell(t, doc, "s1", "p50"),
		"s2":     cell(t, doc, "<s2>", "Health"),
	}
	want := map[string]string{
		"admin": "drain", "health": "up lb1 up lb2 down own up not routed", "conns": "2", "check": "HTTP 200 1.2ms", "p50": "–", "s2": "up own up",
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
	d, err := NewDashboard(fakeStatus{st}, oneNode(balancer.Stats{}))
	if err != nil {
		t.Fatal(err)
	}
	doc := render(t, d, time.Now())
	if n := find(doc, byAttr("id", "novips")); len(n) != 1 || !strings.Contains(text(n[0]), "No VIPs") {
		t.Error(`no "No VIPs" note`)
	}
}

func TestDashboardEscapesNames(t *testing.T) {
	d, err := NewDashboard(fakeStatus{dashboardStatus()}, oneNode(balancer.Stats{}))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := d.Render(context.Background(), &buf, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<s2>") {
		t.Error("server name <s2> rendered as markup")
	}
}

func TestDashboardRatesAndPercentilesOverTheLastSlots(t *testing.T) {
	var rt balancer.Histogram
	rt.Counts[4] = 100 // 100 answers in (5ms, 10ms]
	stats := &balancer.Stats{
		Frontends: []balancer.FrontendStats{{Name: "web", Counters: balancer.Counters{Requests: 1000}}},
		Servers: []balancer.ServerStats{{Key: key("web", "s1"), ResponseTime: rt,
			Counters: balancer.Counters{Requests: 1000, ConnectErrors: 1}}},
	}
	h := NewHistory(fixedStats{stats}, nil)
	cc := &ClusterCounters{Nodes: []NodeCounters{{Node: "lb1", Stats: *stats}}}
	d, err := NewDashboard(fakeStatus{dashboardStatus()}, fakeCluster{cc})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0) // a slot boundary
	h.Sample(t0)
	s := h.Series()
	cc.Nodes[0].Series = &s
	doc := render(t, d, t0)
	if got := cell(t, doc, "s1", "Req/s"); got != "–" {
		t.Errorf("before the first slot Req/s %q, want –", got)
	}
	stats.Frontends[0].Requests += 40
	stats.Servers[0].Requests += 40
	stats.Servers[0].ConnectErrors += 5
	stats.Servers[0].ResponseTime.Counts[8] += 40 // 40 in (100ms, 250ms]
	h.Sample(t0.Add(HistoryStep))
	s = h.Series()
	cc.Nodes[0].Series = &s
	cc.Nodes[0].Stats = *stats
	doc = render(t, d, t0.Add(HistoryStep))
	got := []string{cell(t, doc, "s1", "Req/s"), cell(t, doc, "s1", "Err/s"), cell(t, doc, "s1", "p50"), cell(t, doc, "s1", "p99")}
	want := []string{"8.0", "1.0", "175ms", "248ms"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("req/s, err/s, p50, p99 over one 5 s slot (-want +got):\n%s", diff)
	}
	if ft := text(find(doc, byAttr("id", "frontends"))[0]); !strings.Contains(ft, "1040 8.0") {
		t.Errorf("frontend requests and rate: %s", ft)
	}
}

// TestDashboardSumsTheNodesAndShowsEachOnDemand: two LB nodes' counters
// and histories are added; with per node, each has its row; a node that
// did not answer is named.
func TestDashboardSumsTheNodesAndShowsEachOnDemand(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	node := func(name string, reqs uint64) (NodeCounters, *balancer.Stats, *History) {
		st := &balancer.Stats{
			Frontends: []balancer.FrontendStats{{Name: "web"}},
			Servers:   []balancer.ServerStats{{Key: key("web", "s1")}, {Key: key("web", "<s2>")}},
		}
		h := NewHistory(fixedStats{st}, nil)
		h.Sample(t0)
		for i := range 12 { // a minute of traffic, growing
			st.Frontends[0].Requests += reqs * uint64(i)
			st.Servers[0].Requests += reqs * uint64(i)
			st.Servers[0].ResponseTime.Counts[3] += reqs * uint64(i)
			h.Sample(t0.Add(time.Duration(i+1) * HistoryStep))
		}
		s := h.Series()
		return NodeCounters{Node: name, Stats: *st, Series: &s}, st, h
	}
	n1, _, _ := node("lb1", 1)
	n2, _, _ := node("lb2", 3)
	cc := &ClusterCounters{Nodes: []NodeCounters{n1, n2}, Missing: map[string]string{"lb3": "not alive in gossip"}}
	d, err := NewDashboard(fakeStatus{dashboardStatus()}, fakeCluster{cc})
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(12 * HistoryStep)
	doc := renderNodes(t, d, now, true)
	if got := cell(t, doc, "s1", "Requests"); got != "264" { // (1+3) × (0+1+…+11)
		t.Errorf("s1's requests summed over lb1 and lb2: %q, want 264", got)
	}
	if got := cell(t, doc, "s1", "Req/s"); got != "8.4" { // (10+11)×4 / 10 s
		t.Errorf("s1's req/s over the last 10 s of both nodes: %q, want 8.4", got)
	}
	rows := find(doc, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "class") == "pernode" })
	var perNode []string
	for _, r := range rows {
		perNode = append(perNode, text(r))
	}
	wantRows := []string{"↳ lb1 0 66 2.1 0.0 3.8ms 5.0ms", "↳ lb2 0 198 6.3 0.0 3.8ms 5.0ms"}
	for _, w := range wantRows {
		found := false
		for _, r := range perNode {
			found = found || strings.HasPrefix(r, w)
		}
		if !found {
			t.Errorf("no per-node row %q in %q", w, perNode)
		}
	}
	if sm := text(find(doc, byAttr("id", "summed"))[0]); !strings.Contains(sm, "lb1 , lb2") || !strings.Contains(sm, "missing lb3 (not alive in gossip)") {
		t.Errorf("summed-over line: %q", sm)
	}
	// The charts are drawn from the data: the request chart of s1 rises.
	charts := find(find(doc, byAttr("data-server", "s1"))[0], byAttr("class", "spark req"))
	if len(charts) != 1 || attr(charts[0], "data-max") != "8.8" { // the last slot: 11 × (1+3) requests in 5 s
		t.Fatalf("s1's request chart: %d charts, max %q; want one, max 8.8", len(charts), attr(charts[0], "data-max"))
	}
	pts := find(charts[0], func(n *html.Node) bool { return n.Data == "polyline" })
	if len(pts) != 1 || !risingAtTheEnd(attr(pts[0], "points")) {
		t.Errorf("s1's request chart does not rise at its end: %v", pts)
	}
}

// risingAtTheEnd: the chart ends at x=179 (the newest slot), higher
// (smaller y) than where it was a minute earlier, and idle stretches are
// drawn with their corners only.
func risingAtTheEnd(points string) bool {
	f := strings.Fields(points)
	xy := func(p string) (int, int) {
		x, y, _ := strings.Cut(p, ",")
		xi, _ := strconv.Atoi(x)
		yi, _ := strconv.Atoi(y)
		return xi, yi
	}
	if len(f) < 2 || len(f) > 20 {
		return false
	}
	lx, ly := xy(f[len(f)-1])
	for _, p := range f {
		if x, y := xy(p); x <= lx-12 && y <= ly {
			return false // as high a minute earlier
		}
	}
	return lx == HistorySlots-1
}

func TestVIPTimelineMarksFailovers(t *testing.T) {
	holders := make([]string, HistorySlots)
	for i := range holders {
		switch {
		case i < 60:
			holders[i] = ""
		case i < 120:
			holders[i] = "lb1"
		default:
			holders[i] = "lb2"
		}
	}
	bar, legend, failovers := vipTimeline(holders)
	if failovers != 1 || len(legend) != 2 || legend[0].Node != "lb1" {
		t.Errorf("failovers %d legend %v", failovers, legend)
	}
	for _, want := range []string{`<rect x="60" y="2" width="60"`, `<rect x="120" y="2" width="60"`, `class="failover" x="120"`} {
		if !strings.Contains(string(bar), want) {
			t.Errorf("timeline lacks %q:\n%s", want, bar)
		}
	}
}

func TestDashboardRoutes(t *testing.T) {
	s, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Token: "sekret"}, nil, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDashboard(fakeStatus{dashboardStatus()}, oneNode(balancer.Stats{}))
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

// A certificate within 14 days of its expiry, or past it, gets a banner
// naming it and the frontends serving it; one further away gets none.
func TestDashboardWarnsOfExpiringCertificates(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st := dashboardStatus()
	st.Certificates = []CertificateStatus{
		{Name: "soon", Frontends: []string{"https", "api"}, NotAfter: now.Add(13*24*time.Hour + 4*time.Hour)},
		{Name: "gone", Frontends: []string{"https"}, NotAfter: now.Add(-26 * time.Hour)},
		{Name: "fine", Frontends: []string{"https"}, NotAfter: now.Add(15 * 24 * time.Hour)},
	}
	d, err := NewDashboard(fakeStatus{st}, oneNode(balancer.Stats{}))
	if err != nil {
		t.Fatal(err)
	}
	nt := text(find(render(t, d, now), byAttr("id", "node"))[0])
	for _, want := range []string{
		"Certificate soon (https, api) expires 2026-12-14 14:00 UTC (in 13d 4h)",
		"Certificate gone (https) expired 2026-11-30 08:00 UTC (1d 2h ago)",
	} {
		if !strings.Contains(nt, want) {
			t.Errorf("node panel lacks %q: %s", want, nt)
		}
	}
	if strings.Contains(nt, "fine") {
		t.Errorf("a certificate 15 days from expiry is warned of: %s", nt)
	}
}
