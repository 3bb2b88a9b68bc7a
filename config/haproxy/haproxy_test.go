package haproxy

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-lb/tandem/config"
)

func dur(d time.Duration) config.Duration { return config.Duration(d) }

// articleCluster is what the article's haproxy.cfg (testdata/article.cfg,
// from seeds/000) must translate to.
func articleCluster() *config.Cluster {
	timing := config.CheckTiming{Inter: dur(2 * time.Second), Rise: 2, Fall: 2}
	return &config.Cluster{
		Global: config.Global{MaxConn: 4096},
		Defaults: config.Defaults{
			Mode: config.ModeHTTP,
			Timeouts: config.Timeouts{
				Connect: dur(5 * time.Second),
				Client:  dur(50 * time.Second),
				Server:  dur(50 * time.Second),
			},
			Redispatch: ptr(true),
		},
		Frontends: []config.Frontend{{
			Name:           "http-in",
			Bind:           []string{"*:80"},
			DefaultBackend: "http-in",
		}},
		Backends: []config.Backend{{
			Name:    "http-in",
			Balance: config.AlgoRoundRobin,
			HealthCheck: &config.HealthCheck{
				Type:    config.CheckHTTP,
				Method:  "HEAD",
				Path:    "/deploy.txt",
				Version: "HTTP/1.0",
			},
			Servers: []config.Server{
				{Name: "server1", Address: "192.168.1.2:8001", Check: true, CheckTiming: timing},
				{Name: "server2", Address: "192.168.1.2:8002", Check: true, CheckTiming: timing},
			},
		}},
	}
}

func readArticle(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/article.cfg")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseArticle(t *testing.T) {
	c, warns, err := Parse("haproxy.cfg", readArticle(t))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(articleCluster(), c); diff != "" {
		t.Errorf("cluster (-want +got):\n%s", diff)
	}
	wantWarns := []string{
		"haproxy.cfg:5: warning: 'uid' is not supported by tandem (ignored)",
		"haproxy.cfg:6: warning: 'gid' is not supported by tandem (ignored)",
		"haproxy.cfg:7: warning: 'daemon' is not supported by tandem (ignored)",
	}
	if diff := cmp.Diff(wantWarns, warnStrings(warns)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}

	r := c.Resolve()
	if got := r.Defaults.Timeouts; got.Connect != dur(5*time.Second) ||
		got.Client != dur(50*time.Second) || got.Server != dur(50*time.Second) {
		t.Errorf("resolved defaults timeouts = %+v, want connect 5s client 50s server 50s", got)
	}
	be := r.Backend("http-in")
	if be == nil {
		t.Fatal("resolved config has no backend http-in")
	}
	if be.Timeouts.Connect != dur(5*time.Second) || be.Timeouts.Server != dur(50*time.Second) {
		t.Errorf("resolved backend timeouts = %+v", be.Timeouts)
	}
	if fe := r.Frontends[0]; fe.Timeouts.Client != dur(50*time.Second) {
		t.Errorf("resolved frontend client timeout = %v, want 50s", fe.Timeouts.Client)
	}
	if !*be.Redispatch {
		t.Error("resolved backend: redispatch off, want on")
	}
	for _, s := range be.Servers {
		if s.Inter != dur(2*time.Second) || s.Rise != 2 || s.Fall != 2 || !s.Check {
			t.Errorf("resolved server %s: check %v timing %+v, want check, inter 2s rise 2 fall 2", s.Name, s.Check, s.CheckTiming)
		}
	}
}

func warnStrings(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}

func TestWarningString(t *testing.T) {
	for _, tc := range []struct {
		w    Warning
		want string
	}{
		{Warning{"haproxy.cfg", 5, "m"}, "haproxy.cfg:5: warning: m"},
		{Warning{"haproxy.cfg", 0, "m"}, "haproxy.cfg: warning: m"},
		{Warning{"", 7, "m"}, "line 7: warning: m"},
		{Warning{"", 0, "m"}, "warning: m"},
	} {
		if got := tc.w.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.w, got, tc.want)
		}
	}
}

func TestLooks(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want bool
	}{
		{"article", string(readArticle(t)), true},
		{"frontend first", "frontend web\n  bind :80\n", true},
		{"indented comment then listen", "\n  # c\n\tlisten x\n", true},
		{"backend", "backend b\n", true},
		{"defaults", "defaults\n", true},
		{"bom", "\uFEFFglobal\n", true},
		{"skipped section", "userlist admins\n", true},
		{"yaml", "global:\n  maxconn: 4096\n", false},
		{"yaml comment first", "# cluster\nfrontends:\n  - name: web\n", false},
		{"json", `{"frontends": []}`, false},
		{"yaml doc marker", "---\nglobal:\n", false},
		{"empty", "", false},
		{"only comments", "# global\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Looks([]byte(tc.data)); got != tc.want {
				t.Errorf("Looks(%q) = %v, want %v", tc.data, got, tc.want)
			}
		})
	}
}

func TestParseFrontendBackendPair(t *testing.T) {
	cfg := `
global
    maxconn 2000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend web
    bind 10.0.0.1:80,10.0.0.1:8080
    maxconn 1000
    option forwardfor
    default_backend app
backend app
    balance leastconn
    retries 2
    cookie SRV insert indirect nocache
    option httpchk GET /health
    http-check expect status 200
    default-server inter 3s fall 3
    server a 10.0.1.1:8000 check cookie a1 weight 10
    server b 10.0.1.2:8000 check backup maxconn 50 slowstart 30s
`
	c, warns, err := Parse("pair.cfg", []byte(cfg))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warnStrings(warns))
	}
	timing := config.CheckTiming{Inter: dur(3 * time.Second), Fall: 3}
	want := &config.Cluster{
		Global: config.Global{MaxConn: 2000},
		Defaults: config.Defaults{Mode: config.ModeHTTP, Timeouts: config.Timeouts{
			Connect: dur(5 * time.Second), Client: dur(30 * time.Second), Server: dur(30 * time.Second)}},
		Frontends: []config.Frontend{{
			Name: "web", Bind: []string{"10.0.0.1:80", "10.0.0.1:8080"}, MaxConn: 1000,
			ForwardFor: ptr(true), DefaultBackend: "app",
		}},
		Backends: []config.Backend{{
			Name: "app", Balance: config.AlgoLeastConn, Retries: ptr(2),
			Cookie: &config.Cookie{Name: "SRV", Insert: true, Indirect: true, NoCache: true},
			HealthCheck: &config.HealthCheck{Type: config.CheckHTTP, Method: "GET", Path: "/health",
				Version: "HTTP/1.0", ExpectStatus: []int{200}},
			Servers: []config.Server{
				{Name: "a", Address: "10.0.1.1:8000", Check: true, Cookie: "a1", Weight: ptr(10), CheckTiming: timing},
				{Name: "b", Address: "10.0.1.2:8000", Check: true, Backup: true, MaxConn: 50,
					SlowStart: dur(30 * time.Second), CheckTiming: timing},
			},
		}},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("cluster (-want +got):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// A second defaults section resets the defaults for the sections after it,
// as in HAProxy: each section keeps the defaults it was opened under.
func TestParseSeveralDefaultsSections(t *testing.T) {
	cfg := `defaults
  mode http
  timeout client 10s
  option httpchk /ping
backend a
  server s 10.0.0.1:80 check
defaults
  mode tcp
backend b
  server s 10.0.0.2:80 check
`
	c, _, err := Parse("d.cfg", []byte(cfg))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(config.Defaults{}, c.Defaults); diff != "" {
		t.Errorf("Cluster.Defaults (-want +got):\n%s", diff)
	}
	a, b := c.Backend("a"), c.Backend("b")
	if a.Mode != config.ModeHTTP || a.Timeouts.Client != dur(10*time.Second) || a.HealthCheck == nil || a.HealthCheck.Path != "/ping" {
		t.Errorf("backend a = %+v, want mode http, client 10s, check /ping from the first defaults", a)
	}
	if b.Mode != config.ModeTCP || b.Timeouts.Client != 0 || b.HealthCheck != nil {
		t.Errorf("backend b = %+v, want mode tcp and nothing from the first defaults", b)
	}
}

func TestParseCollectsEveryError(t *testing.T) {
	cfg := "backend b\n  balance nope\n  server s1\n  retries x\n"
	_, _, err := Parse("e.cfg", []byte(cfg))
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v (%T), want config.Errors", err, err)
	}
	var lines []int
	for _, e := range es {
		lines = append(lines, e.Line)
	}
	if diff := cmp.Diff([]int{2, 3, 4}, lines); diff != "" {
		t.Errorf("error lines (-want +got):\n%s\n%v", diff, err)
	}
}

// An article-style config written with Windows line ends and tabs parses the same.
func TestParseCRLFAndTabs(t *testing.T) {
	data := strings.ReplaceAll(string(readArticle(t)), "\n", "\r\n")
	data = strings.ReplaceAll(data, " ", "\t")
	c, _, err := Parse("haproxy.cfg", []byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(articleCluster(), c); diff != "" {
		t.Errorf("cluster (-want +got):\n%s", diff)
	}
}
