package haproxy

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-lb/tandem/config"
)

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
			RetryIdempotent: ptr(false),
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
	c, warns, err := Parse("haproxy.cfg", readArticle(t), Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(articleCluster(), c); diff != "" {
		t.Errorf("cluster (-want +got):\n%s", diff)
	}
	var lines []int
	for _, w := range warns {
		lines = append(lines, w.Line)
	}
	if diff := cmp.Diff([]int{5, 6, 7}, lines); diff != "" {
		t.Errorf("warning lines (uid, gid, daemon) (-want +got):\n%s\n%s", diff, strings.Join(warnStrings(warns), "\n"))
	}
	r := c.Resolve()
	be := r.Backend("http-in")
	if be.Timeouts.Connect != dur(5*time.Second) || be.Timeouts.Server != dur(50*time.Second) || !*be.Redispatch {
		t.Errorf("resolved backend = %+v", be)
	}
	if fe := r.Frontends[0]; fe.Timeouts.Client != dur(50*time.Second) || fe.Mode != config.ModeHTTP {
		t.Errorf("resolved frontend = %+v, want client 50s, mode http", fe)
	}
	for _, s := range be.Servers {
		if s.Inter != dur(2*time.Second) || s.Rise != 2 || s.Fall != 2 || !s.Check {
			t.Errorf("resolved server %s: check %v timing %+v, want check, inter 2s rise 2 fall 2", s.Name, s.Check, s.CheckTiming)
		}
	}
	checkRoundTrip(t, c)
}

// An article-style config written with Windows line ends and tabs parses the same.
func TestParseCRLFAndTabs(t *testing.T) {
	data := strings.ReplaceAll(string(readArticle(t)), "\n", "\r\n")
	data = "\uFEFF" + strings.ReplaceAll(data, " ", "\t")
	c, _, err := Parse("haproxy.cfg", []byte(data), Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(articleCluster(), c); diff != "" {
		t.Errorf("cluster (-want +got):\n%s", diff)
	}
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
		{"userlist", "userlist admins\n", true},
		{"conditional block first", ".if defined(X)\nglobal\n.endif\n", true},
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

// Lenient imports what strict refuses, and refuses what HAProxy refuses too.
func TestLenient(t *testing.T) {
	cfg := timeoutsHTTP + "frontend f\n bind :80\n option httpclose\n default_backend b\nbackend b\n server s 10.0.0.1:80 send-proxy-v2-ssl\n"
	if _, _, err := Parse("t.cfg", []byte(cfg), Options{}); err == nil || !strings.Contains(err.Error(), "t.cfg:8:") || !strings.Contains(err.Error(), "t.cfg:11:") {
		t.Errorf("strict: err = %v, want errors at lines 8 and 11", err)
	}
	c, warns, err := Parse("t.cfg", []byte(cfg), Options{Lenient: true})
	if err != nil || c == nil {
		t.Fatalf("lenient: %v", err)
	}
	checkPrefixes(t, "warnings", warnStrings(warns), []string{"8: --lenient: 'option httpclose'", "11: --lenient: server option 'send-proxy-v2-ssl'"}, true)
	if _, _, err := Parse("t.cfg", []byte(cfg+" server x\n reqadd X:\\ 1\n"), Options{Lenient: true}); err == nil ||
		!strings.Contains(err.Error(), "t.cfg:12: 'server' wants a name and an address") || !strings.Contains(err.Error(), "t.cfg:13: 'reqadd' is refused by HAProxy 2.6") {
		t.Errorf("lenient: err = %v, want syntax errors and keywords HAProxy 2.6 refuses to stay errors", err)
	}
}
