package balancer

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/balancer/http1"
	"github.com/tandem-lb/tandem/config"
)

// twoBackends is frontend fe with backends web (server w) and api
// (server a), each a recorder answering its target, and the rules given.
func twoBackends(t *testing.T, fr config.Rules, use []config.UseBackend, def string) (*testEnv, *recorder, *recorder) {
	t.Helper()
	named := func(name string) func(h *http1.Head) string {
		return func(h *http1.Head) string {
			body := name + " " + string(h.Target)
			return "HTTP/1.1 200 OK\r\nX-Server: " + name + "\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
		}
	}
	w, a := newRecorder(t, named("w")), newRecorder(t, named("a"))
	c := &config.Cluster{
		Frontends: []config.Frontend{{Name: "fe", Bind: []string{freeAddr()}, DefaultBackend: def, UseBackend: use, Rules: fr}},
		Backends: []config.Backend{
			{Name: "web", Servers: []config.Server{srv("w", w.addr)}},
			{Name: "api", Servers: []config.Server{srv("a", a.addr)}},
		},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return start(t, c), w, a
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestUseBackendByHostAndPath(t *testing.T) {
	e, _, _ := twoBackends(t, config.Rules{ACLs: map[string]config.StringList{
		"is_api":  {"path_beg /api"},
		"api_dom": {"hdr(host) -i api.example.com"},
	}}, []config.UseBackend{{Backend: "api", If: "is_api || api_dom"}}, "web")
	for _, tc := range []struct{ req, want string }{
		{"GET /api/x HTTP/1.1\r\nHost: www.example.com\r\n\r\n", "a /api/x"},
		{"GET /x HTTP/1.1\r\nHost: API.example.com\r\n\r\n", "a /x"},
		{"GET /x HTTP/1.1\r\nHost: www.example.com\r\n\r\n", "w /x"},
	} {
		got, _ := rawRoundTrip(t, e.addr("fe"), tc.req, 300*time.Millisecond)
		if !strings.HasSuffix(got, "\r\n\r\n"+tc.want) {
			t.Errorf("%q: got %q, want the answer %q", tc.req, got, tc.want)
		}
	}
}

func TestNoDefaultBackendAnswers503(t *testing.T) {
	e, _, _ := twoBackends(t, config.Rules{}, []config.UseBackend{{Backend: "api", If: "{ path_beg /api }"}}, "")
	if got, _ := rawRoundTrip(t, e.addr("fe"), "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", 300*time.Millisecond); statusOf(got) != 503 {
		t.Fatalf("no rule matched, no default_backend: %q, want 503", got)
	}
	if got, _ := rawRoundTrip(t, e.addr("fe"), "GET /api HTTP/1.1\r\nHost: a\r\n\r\n", 300*time.Millisecond); !strings.HasSuffix(got, "a /api") {
		t.Fatalf("got %q", got)
	}
}

func TestRequestRulesRedirectDenyAndHeaders(t *testing.T) {
	e, w, _ := twoBackends(t, config.Rules{HTTPRequest: []string{
		"deny deny_status 403 if { path_beg /admin }",
		"redirect scheme https code 301 if { path /old }",
		"set-header X-Forwarded-Proto http",
		"del-header X-Secret",
	}}, nil, "web")
	got, closed := rawRoundTrip(t, e.addr("fe"), "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n", 300*time.Millisecond)
	if statusOf(got) != 403 || closed {
		t.Errorf("deny: %q (closed %v), want 403 on a kept connection", got, closed)
	}
	got, _ = rawRoundTrip(t, e.addr("fe"), "GET /old HTTP/1.1\r\nHost: a.example\r\n\r\n", 300*time.Millisecond)
	if statusOf(got) != 301 || !strings.Contains(got, "Location: https://a.example/old\r\n") {
		t.Errorf("redirect: %q", got)
	}
	got, _ = rawRoundTrip(t, e.addr("fe"), "GET /x HTTP/1.1\r\nHost: a\r\nX-Secret: s\r\n\r\n", 300*time.Millisecond)
	if statusOf(got) != 200 {
		t.Fatalf("got %q", got)
	}
	heads := w.received()
	if len(heads) != 1 || !strings.Contains(heads[0], "X-Forwarded-Proto: http\r\n") || strings.Contains(heads[0], "X-Secret") {
		t.Errorf("the server received %q", heads)
	}
}

func TestResponseRulesAndErrorPagesAfterResponse(t *testing.T) {
	e, _, _ := twoBackends(t, config.Rules{
		HTTPResponse:      []string{"set-header X-Via tandem", "del-header X-Server"},
		HTTPAfterResponse: []string{"set-header X-After 1"},
	}, []config.UseBackend{{Backend: "api", If: "{ path_beg /api }"}}, "")
	got, _ := rawRoundTrip(t, e.addr("fe"), "GET /api HTTP/1.1\r\nHost: a\r\n\r\n", 300*time.Millisecond)
	if !strings.Contains(got, "X-Via: tandem\r\n") || strings.Contains(got, "X-Server") || !strings.Contains(got, "X-After: 1\r\n") {
		t.Errorf("server response after rules: %q", got)
	}
	// http-after-response rules also run on the balancer's own answers.
	got, _ = rawRoundTrip(t, e.addr("fe"), "GET /none HTTP/1.1\r\nHost: a\r\n\r\n", 300*time.Millisecond)
	if statusOf(got) != 503 || !strings.Contains(got, "X-After: 1\r\n") || strings.Contains(got, "X-Via") {
		t.Errorf("own 503 after rules: %q", got)
	}
}

func TestUseServerBeforePersistence(t *testing.T) {
	s1, s2 := newRecorder(t, echoPath), newRecorder(t, echoPath)
	c := &config.Cluster{
		Frontends: []config.Frontend{{Name: "fe", Bind: []string{freeAddr()}, DefaultBackend: "be"}},
		Backends: []config.Backend{{Name: "be", Servers: []config.Server{srv("s1", s1.addr), srv("s2", s2.addr)},
			UseServer: []config.UseServer{{Server: "s2", If: "{ path_beg /two }"}}}},
	}
	e := start(t, c)
	for range 4 {
		rawRoundTrip(t, e.addr("fe"), "GET /two HTTP/1.1\r\nHost: a\r\n\r\n", 200*time.Millisecond)
	}
	if n1, n2 := len(s1.received()), len(s2.received()); n1 != 0 || n2 != 4 {
		t.Fatalf("use-server s2: s1 got %d, s2 got %d requests", n1, n2)
	}
}

// A backend without servers (HAProxy accepts one) answers 503.
func TestBackendWithoutServersAnswers503(t *testing.T) {
	c := cluster()
	c.Frontends[0].Mode = config.ModeHTTP
	e := start(t, c)
	if code, _, _ := get(t, client(), e.url("/")); code != 503 {
		t.Errorf("got %d, want 503", code)
	}
}

// Whether a request takes the rules stages is the frontend's own: one
// frontend's rules do not slow another's requests, and a frontend without
// rules still runs its default backend's.
func TestRulesStagesArePerFrontend(t *testing.T) {
	named := func(name string) func(h *http1.Head) string {
		return func(h *http1.Head) string {
			return "HTTP/1.1 200 OK\r\nX-Server: " + name + "\r\nContent-Length: 2\r\n\r\nok"
		}
	}
	w, a := newRecorder(t, named("w")), newRecorder(t, named("a"))
	c := &config.Cluster{
		Frontends: []config.Frontend{
			{Name: "ruled", Bind: []string{freeAddr()}, DefaultBackend: "web",
				Rules: config.Rules{HTTPRequest: []string{"deny if { path_beg /admin }"}}},
			{Name: "plain", Bind: []string{freeAddr()}, DefaultBackend: "web"},
			{Name: "bare", Bind: []string{freeAddr()}, DefaultBackend: "api"},
		},
		Backends: []config.Backend{
			{Name: "web", Servers: []config.Server{srv("w", w.addr)},
				Rules: config.Rules{HTTPResponse: []string{"set-header X-Checked yes"}}},
			{Name: "api", Servers: []config.Server{srv("a", a.addr)}},
		},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	e := start(t, c)
	snap := e.b.cur.Load()
	for name, want := range map[string]bool{"ruled": true, "plain": true, "bare": false} {
		if got := snap.frontends[name].rulesOn; got != want {
			t.Errorf("frontend %s takes the rules stages: %v, want %v", name, got, want)
		}
	}
	for _, tc := range []struct{ fe, path, want string }{
		{"ruled", "/admin", "HTTP/1.1 403 "},
		{"ruled", "/x", "X-Checked: yes\r\n"},
		{"plain", "/admin", "X-Checked: yes\r\n"}, // the deny is ruled's only
		{"bare", "/x", "X-Server: a\r\n"},
	} {
		got, _ := rawRoundTrip(t, e.addr(tc.fe), "GET "+tc.path+" HTTP/1.1\r\nHost: a\r\n\r\n", 300*time.Millisecond)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: got %q, want %q in it", tc.fe, tc.path, got, tc.want)
		}
	}
}
