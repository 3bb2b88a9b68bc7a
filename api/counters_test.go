package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/balancer"
)

type peerList []Peer

func (p peerList) Peers() []Peer { return p }

// nodeStats is one frontend and one server with n requests.
func nodeStats(n uint64) *balancer.Stats {
	return &balancer.Stats{
		Frontends: []balancer.FrontendStats{{Name: "web", Ready: true, Counters: balancer.Counters{Requests: n, CurConns: 1}}},
		Backends:  []balancer.BackendStats{{Name: "web", Counters: balancer.Counters{Requests: n}}},
		Servers:   []balancer.ServerStats{{Key: key("web", "s1"), Counters: balancer.Counters{Requests: n, ConnectErrors: 1}}},
	}
}

// peerNode serves a node's counters over a real HTTP listener.
func peerNode(t *testing.T, name string, stats *balancer.Stats, token string) (*Counters, string) {
	t.Helper()
	c := NewCounters(CountersConfig{Node: name}, fixedStats{stats}, nil, nil)
	s, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Token: token}, nil, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	c.Register(s)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return c, strings.TrimPrefix(hs.URL, "http://")
}

func TestGatherSumsTheNodesAndNamesTheMissing(t *testing.T) {
	_, lb2 := peerNode(t, "lb2", nodeStats(30), "tok")
	_, wrong := peerNode(t, "lb9", nodeStats(1), "tok")
	hang, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	peers := peerList{
		{Name: "lb2", APIAddr: lb2, Gossip: "127.0.0.1:7946", Alive: true},
		{Name: "lb3", APIAddr: "127.0.0.1:1", Gossip: "127.0.0.1:7946", Alive: false},
		{Name: "lb4", APIAddr: hang.Addr().String(), Gossip: "127.0.0.1:7946", Alive: true},
		{Name: "lb5", APIAddr: wrong, Gossip: "127.0.0.1:7946", Alive: true},
		{Name: "lb6", APIAddr: "127.0.0.1:8404", Gossip: "10.0.0.6:7946", Alive: true},
	}
	c := NewCounters(CountersConfig{Node: "lb1", Token: "tok", Timeout: 300 * time.Millisecond}, fixedStats{nodeStats(12)}, nil, peers)
	start := time.Now()
	cc := c.Gather(context.Background(), false)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gathering took %v: a hanging node must not hold the others", d)
	}
	if got := strings.Join(cc.NodeNames(), ","); got != "lb1,lb2" {
		t.Errorf("nodes summed: %s, want lb1,lb2", got)
	}
	for node, want := range map[string]string{"lb3": "not alive", "lb4": "did not answer", "lb5": `answered as node "lb9"`, "lb6": "loopback only"} {
		if !strings.Contains(cc.Missing[node], want) {
			t.Errorf("missing[%s] = %q, want it to say %q", node, cc.Missing[node], want)
		}
	}
	sum := cc.Sum()
	if sum.Servers[0].Requests != 42 || sum.Servers[0].ConnectErrors != 2 || sum.Frontends[0].CurConns != 2 || sum.Backends[0].Requests != 42 {
		t.Errorf("sum: server %+v frontend %+v", sum.Servers[0].Counters, sum.Frontends[0].Counters)
	}
	// A second gathering within MaxAge is the cached one: no new asking.
	hang.Close()
	if again := c.Gather(context.Background(), false); len(again.Nodes) != 2 {
		t.Errorf("cached gathering differs: %v", again.NodeNames())
	}
}

func TestClearCountersAllClearsEveryNode(t *testing.T) {
	st2 := nodeStats(30)
	c2, lb2 := peerNode(t, "lb2", st2, "")
	st1 := nodeStats(12)
	c1 := NewCounters(CountersConfig{Node: "lb1"}, fixedStats{st1}, nil, peerList{{Name: "lb2", APIAddr: lb2, Alive: true}})
	if missing := c1.ClearAll(context.Background()); len(missing) != 0 {
		t.Fatalf("clear missed %v", missing)
	}
	st1.Servers[0].Requests += 3
	st2.Servers[0].Requests += 4
	if got := c1.Own(false).Stats.Servers[0].Requests; got != 3 {
		t.Errorf("lb1 after clear and 3 requests: %d", got)
	}
	if got := c2.Own(false).Stats.Servers[0].Requests; got != 4 {
		t.Errorf("lb2 after clear and 4 requests: %d", got)
	}
	if got := c1.Own(false).Stats.Frontends[0].CurConns; got != 1 {
		t.Errorf("clear changed a gauge: cur conns %d", got)
	}
}

func TestStatsURI(t *testing.T) {
	for _, tt := range []struct {
		target, uri string
		csv, ok     bool
	}{
		{"/haproxy?stats", "/haproxy?stats", false, true},
		{"/haproxy?stats;csv", "/haproxy?stats", true, true},
		{"/haproxy?stats;csv;norefresh", "/haproxy?stats", true, true},
		{"/haproxy?statsx", "/haproxy?stats", false, false},
		{"/;csv", "/", true, true},
		{"/api/v1/status", "/", false, false},
		{"/stats;up;csv", "/stats", true, true},
	} {
		csv, ok := matchStatsURI(tt.target, tt.uri)
		if csv != tt.csv || ok != tt.ok {
			t.Errorf("matchStatsURI(%q, %q) = %v, %v; want %v, %v", tt.target, tt.uri, csv, ok, tt.csv, tt.ok)
		}
	}
}

type csvPage struct{}

func (csvPage) StatsURI() string                    { return "/haproxy?stats" }
func (csvPage) CSV(context.Context) (string, error) { return "# pxname,svname,\n", nil }

func TestStatsPageServesCSVWithTheTokenAsBasicAuth(t *testing.T) {
	s, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Token: "tok"}, nil, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	s.UseStatsPage(csvPage{})
	hs := httptest.NewServer(http.AllowQuerySemicolons(s))
	defer hs.Close()
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base := strings.TrimPrefix(hs.URL, "http://")
	if code, _ := get("http://" + base + "/haproxy?stats;csv"); code != 401 {
		t.Errorf("CSV without the token: %d", code)
	}
	if code, body := get("http://any:tok@" + base + "/haproxy?stats;csv"); code != 200 || body != "# pxname,svname,\n" {
		t.Errorf("CSV with the token as basic auth: %d %q", code, body)
	}
	if code, _ := get("http://any:bad@" + base + "/haproxy?stats;csv"); code != 401 {
		t.Errorf("CSV with a wrong password: %d", code)
	}
}

func TestMergeSeriesAlignsSlots(t *testing.T) {
	a := Series{Step: 5, Last: 100, Since: 90, Objects: map[string]ObjectData{"s/web/s1": {Req: slots(map[int]uint32{HistorySlots - 1: 7})}}}
	b := Series{Step: 5, Last: 99, Since: 80, Objects: map[string]ObjectData{"s/web/s1": {Req: slots(map[int]uint32{HistorySlots - 1: 5})}}}
	m := MergeSeries([]Series{a, b})
	d := m.Objects["s/web/s1"]
	if m.Last != 100 || m.Since != 80 || d.Req[HistorySlots-1] != 7 || d.Req[HistorySlots-2] != 5 {
		t.Errorf("merged last %d since %d, last two slots %v", m.Last, m.Since, d.Req[HistorySlots-2:])
	}
}

func slots(vals map[int]uint32) []uint32 {
	out := make([]uint32, HistorySlots)
	for i, v := range vals {
		out[i] = v
	}
	return out
}

// csvPageAt is a stats page at another URI.
type csvPageAt struct {
	csvPage
	uri string
}

func (p csvPageAt) StatsURI() string { return p.uri }

// "stats uri /" (Patroni's example config): /;csv is the CSV, and / the
// API's own route, not a redirect to itself.
func TestStatsPageAtRootIsNotARedirectLoop(t *testing.T) {
	s, err := NewServer(ServerConfig{Addr: "127.0.0.1:0"}, nil, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	s.UseStatsPage(csvPageAt{uri: "/"})
	hs := httptest.NewServer(http.AllowQuerySemicolons(s))
	defer hs.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusFound {
		t.Errorf("GET / redirects to %s", resp.Header.Get("Location"))
	}
	resp, err = client.Get(hs.URL + "/;csv")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "# pxname,svname,\n" {
		t.Errorf("GET /;csv: %d %q", resp.StatusCode, b)
	}
}
