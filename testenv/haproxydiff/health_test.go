package haproxydiff

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The health checks of both load balancers side by side: for each
// http-check (and tcp-check) ruleset, servers that answer checks in
// different ways, and the set of servers each balancer sends traffic to
// once the checks settled. HAProxy 2.6's configuration.txt sections
// "option httpchk", "http-check send", "http-check expect",
// "http-check connect", "http-check disable-on-404" and "tcp-check
// expect" are the spec; the expected sets say what HAProxy does.

// checkTarget is a server whose answer to a check depends on the request;
// GET /traffic always answers 200 with its name, so traffic shows which
// servers a balancer uses.
type checkTarget func(r *http.Request) (int, string)

func startTarget(t *testing.T, name string, answer checkTarget) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/traffic" {
			w.Header().Set("X-Served-By", name)
			return
		}
		code, body := answer(r)
		w.WriteHeader(code)
		io.WriteString(w, body)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func status(code int, body string) checkTarget {
	return func(*http.Request) (int, string) { return code, body }
}

// byPath answers 200 "ok" for the paths given, 404 otherwise.
func byPath(paths ...string) checkTarget {
	return func(r *http.Request) (int, string) {
		if slices.Contains(paths, r.URL.Path) {
			return 200, "ok"
		}
		return 404, "no"
	}
}

// usedServers sends traffic through addr and returns the servers that
// answered it, sorted; "" stands for a 503 (no server).
func usedServers(t *testing.T, addr string) []string {
	t.Helper()
	seen := map[string]bool{}
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	for range 16 {
		resp, err := cl.Get("http://" + addr + "/traffic")
		if err != nil {
			t.Fatalf("GET via %s: %v", addr, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		seen[resp.Header.Get("X-Served-By")] = true
	}
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

type healthCase struct {
	name    string
	check   string // check lines of the backend (the defaults section's in defaults)
	defs    string // lines of the defaults section
	servers map[string]checkTarget
	want    []string // the servers HAProxy 2.6 uses; "" = none (503)
}

var healthCases = []healthCase{
	{name: "option httpchk with expect status", check: "option httpchk GET /health\n    http-check expect status 200",
		servers: map[string]checkTarget{"ok": status(200, "fine"), "busy": status(503, ""), "missing": status(404, ""), "redirect": status(302, "")},
		want:    []string{"ok"}},
	{name: "default expectation is 2xx and 3xx", check: "option httpchk GET /health",
		servers: map[string]checkTarget{"ok": status(200, ""), "redirect": status(302, ""), "busy": status(503, "")},
		want:    []string{"ok", "redirect"}},
	{name: "send with Host and a body match", check: "option httpchk\n    http-check send meth GET uri /health ver HTTP/1.1 hdr Host svc.example\n    http-check expect string healthy",
		servers: map[string]checkTarget{
			"healthy": status(200, "i am healthy"), "sick": status(200, "i am sick"), "error": status(500, "healthy but 500"),
			"hostcheck": func(r *http.Request) (int, string) {
				if r.Host == "svc.example" {
					return 200, "healthy"
				}
				return 421, "wrong host"
			}},
		want: []string{"error", "healthy", "hostcheck"}},
	{name: "negated rstatus", check: "option httpchk GET /health\n    http-check expect ! rstatus ^5",
		servers: map[string]checkTarget{"ok": status(200, ""), "missing": status(404, ""), "busy": status(503, "")},
		want:    []string{"missing", "ok"}},
	{name: "two requests, two connections", check: "option httpchk\n    http-check connect\n    http-check send meth GET uri /a\n    http-check expect status 200\n" +
		"    http-check connect\n    http-check send meth GET uri /b\n    http-check expect rstring ^ok",
		servers: map[string]checkTarget{"both": byPath("/a", "/b"), "a-only": byPath("/a"), "b-only": byPath("/b")},
		want:    []string{"both"}},
	{name: "disable-on-404 takes no new traffic", check: "option httpchk GET /health\n    http-check disable-on-404",
		servers: map[string]checkTarget{"ok": status(200, ""), "draining": status(404, ""), "busy": status(503, "")},
		want:    []string{"ok"}},
	{name: "HTTP/1.1 without Host", check: "option httpchk GET /health HTTP/1.1",
		servers: map[string]checkTarget{"strict": status(200, "")}, // net/http answers 400 to HTTP/1.1 without Host
		want:    []string{""}},
	{name: "defaults' option httpchk and the backend's own expect", defs: "option httpchk GET /d", check: "http-check expect status 200",
		servers: map[string]checkTarget{"d": byPath("/d"), "root": byPath("/")},
		want:    []string{""}}, // the backend's own ruleset has no request: nothing is asked, nothing answered
	{name: "tcp-check speaking HTTP", check: "option tcp-check\n    tcp-check send GET\\ /health\\ HTTP/1.0\\r\\n\\r\\n\n    tcp-check expect rstring ^HTTP/1\\.[01]\\ 200",
		servers: map[string]checkTarget{"ok": status(200, ""), "busy": status(503, "")},
		want:    []string{"ok"}},
}

func TestHealthChecksAgreeWithHAProxy(t *testing.T) {
	for _, tc := range healthCases {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			addrs := map[string]string{}
			for name, answer := range tc.servers {
				names = append(names, name)
				addrs[name] = startTarget(t, name, answer)
			}
			sort.Strings(names)
			var servers strings.Builder
			for _, n := range names {
				fmt.Fprintf(&servers, "    server %s @SRV:%s@ check inter 100ms rise 1 fall 1\n", n, n)
			}
			cfg := fmt.Sprintf(`global
    maxconn 100
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
    timeout check 300ms
    %s
frontend fe
    bind @FE:fe@
    default_backend be
backend be
    %s
%s`, tc.defs, tc.check, servers.String())
			p := Start(t, Setup{Config: cfg, Servers: addrs})
			var ha, tn []string
			deadline := time.Now().Add(10 * time.Second)
			for {
				ha, tn = usedServers(t, p.HAProxy["fe"]), usedServers(t, p.Tandem["fe"])
				if slices.Equal(ha, tn) && slices.Equal(ha, tc.want) || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond) // the checks run every 100ms; sample again
			}
			if !slices.Equal(ha, tn) {
				t.Errorf("HAProxy uses %q, tandem %q", ha, tn)
			}
			if !slices.Equal(ha, tc.want) {
				t.Errorf("HAProxy uses %q; the case expects %q", ha, tc.want)
			}
			if t.Failed() {
				t.Logf("tandem's config:\n%+v", p.Config.Backends[0].HealthCheck)
			}
		})
	}
}
