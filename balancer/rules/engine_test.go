package rules

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

const base = `
frontends:
  - name: web
    bind: ["127.0.0.1:8080"]
    default_backend: app
%s
backends:
  - name: app
    servers: [{name: a1, address: 127.0.0.1:1}, {name: a2, address: 127.0.0.1:2}]
  - name: api
    servers: [{name: p1, address: 127.0.0.1:3}]
  - name: static
    servers: [{name: s1, address: 127.0.0.1:4}]
%s
`

func prog(t testing.TB, frontend, rest string) *Program {
	p, _ := compileYAML(t, fmt.Sprintf(base, frontend, rest))
	return p
}

const hostsMap = `
files:
  hosts.map: |
    # host            backend
    example.com       app
    api.example.com   api
    static.example.com static
  paths.map: |
    /api      api
    /api/v2   static
    /
`

func TestContentSwitching(t *testing.T) {
	p := prog(t, `
    acls:
      is_api: path_beg /api
      is_static: [path_end .css .js, "hdr(host) -i static.example.com"]
    use_backend:
      - {backend: static, if: is_static}
      - {backend: api, if: is_api}
      - {backend: "%[req.hdr(host),lower,map(hosts.map)]", unless: "{ hdr(x-skip) -m found }"}
`, hostsMap)
	for _, tc := range []struct {
		name    string
		req     *head
		backend int
	}{
		{"path_beg", newReq("GET", "/api/users", "Host: www.example.com"), 1},
		{"path_end, first acl line", newReq("GET", "/a/site.css", "Host: www.example.com"), 2},
		{"hdr -i, second acl line", newReq("GET", "/", "Host: STATIC.example.com"), 2},
		{"dynamic through the map, lower", newReq("GET", "/", "Host: API.Example.com"), 1},
		{"dynamic name not in the map: default", newReq("GET", "/", "Host: nope.example.com"), 0},
		{"unless holds", newReq("GET", "/", "Host: api.example.com", "X-Skip: 1"), 0},
		{"absolute-form target: path from the URI", newReq("GET", "http://www.example.com/api/x?y", "Host: www.example.com"), 1},
	} {
		if r := p.serve(t, tc.req, plainConn, nil); r.backend != tc.backend {
			t.Errorf("%s: backend %d, want %d", tc.name, r.backend, tc.backend)
		}
	}
}

// The Location of each kind of redirect (http_ana.c
// http_apply_redirect_rule): what HAProxy 2.6 answers to the same request.
func TestRedirectLocations(t *testing.T) {
	for _, tc := range []struct {
		rule, target, host string
		status             int
		loc, cache, cookie string
	}{
		{"redirect scheme https code 301 if !{ ssl_fc }", "/a/b?c=1", "example.com:8080", 301, "https://example.com:8080/a/b?c=1", "", ""},
		{"redirect scheme https", "/a?q", "", 302, "https:///a?q", "no-cache", ""},
		{"redirect scheme https drop-query append-slash", "/a?q", "h", 302, "https://h/a/", "no-cache", ""},
		{"redirect prefix https://new.example.com code 308", "/p?x=1", "h", 308, "https://new.example.com/p?x=1", "", ""},
		{"redirect prefix / drop-query append-slash code 301", "/article/x?y", "h", 301, "/article/x/", "", ""},
		{"redirect prefix /base", "*", "h", 302, "/base/", "no-cache", ""},
		{"redirect location /login code 303 set-cookie SEEN=1", "/x", "h", 303, "/login", "no-cache", "SEEN=1; path=/;"},
		{"redirect location /bye code 307 clear-cookie USERID=", "/x", "h", 307, "/bye", "no-cache", "USERID=; path=/; Max-Age=0;"},
		{"redirect location https://%[hdr(host)]%[capture.req.uri] code 301", "/p?q", "h.example", 301, "https://h.example/p?q", "", ""},
	} {
		p := prog(t, "    http_request: ["+quoteYAML(tc.rule)+"]\n", "")
		req := newReq("GET", tc.target)
		if tc.host != "" {
			req = newReq("GET", tc.target, "Host: "+tc.host)
		}
		r := p.serve(t, req, plainConn, nil)
		if r.verdict != Respond || r.reply.Status != tc.status || r.reply.field("Location") != tc.loc ||
			r.reply.field("Cache-Control") != tc.cache || r.reply.field("Set-Cookie") != tc.cookie {
			t.Errorf("%q on %s: %v %d Location %q Cache-Control %q Set-Cookie %q; want %d %q %q %q", tc.rule, tc.target,
				r.verdict, r.reply.Status, r.reply.field("Location"), r.reply.field("Cache-Control"), r.reply.field("Set-Cookie"),
				tc.status, tc.loc, tc.cache, tc.cookie)
		}
	}
}

func quoteYAML(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

func TestRedirectSkippedOverTLSAndIgnoreEmpty(t *testing.T) {
	p := prog(t, `
    http_request:
      - redirect scheme https if !{ ssl_fc }
      - redirect location %[path,map_str(paths.map)] ignore-empty
`, hostsMap)
	tlsConn := plainConn
	tlsConn.tls = &TLSInfo{SNI: "example.com"}
	if r := p.serve(t, newReq("GET", "/nomap", "Host: h"), tlsConn, nil); r.verdict == Respond {
		t.Errorf("over TLS: %v %q, want no redirect (map gives nothing, ignore-empty)", r.verdict, r.reply.field("Location"))
	}
	if r := p.serve(t, newReq("GET", "/api", "Host: h"), tlsConn, nil); r.reply.field("Location") != "api" {
		t.Errorf("mapped: Location %q, want api", r.reply.field("Location"))
	}
}

func TestHeaderAndTargetRewrites(t *testing.T) {
	for _, tc := range []struct {
		rules  []string
		target string
		fields []string
		want   string // target then fields "name=value" joined by " "
	}{
		{[]string{"set-header X-Forwarded-Proto https"}, "/", []string{"X-Forwarded-Proto: http", "X-Forwarded-Proto: x"}, "/ X-Forwarded-Proto=https"},
		{[]string{"set-header X %[hdr(x)]-new"}, "/", []string{"X: a", "X: b"}, "/ X=b-new"},
		{[]string{"add-header X-Client %[src]:%cp"}, "/", nil, "/ X-Client=192.0.2.10:40000"},
		{[]string{"del-header X-Secret"}, "/", []string{"x-secret: 1", "Other: 2", "X-SECRET: 3"}, "/ Other=2"},
		{[]string{"del-header x- -m beg"}, "/", []string{"X-A: 1", "Y: 2", "x-b: 3"}, "/ Y=2"},
		{[]string{`replace-header Cookie (.*)sess=[^;]*(.*) \1\2`}, "/", []string{"Cookie: a=1; sess=zz; b=2"}, "/ Cookie=a=1; ; b=2"},
		{[]string{`replace-value X-Fwd ^10\..* private`}, "/", []string{"X-Fwd: 1.2.3.4, 10.0.0.1,10.2.2.2"}, "/ X-Fwd=1.2.3.4,private,private"},
		{[]string{"set-path /v2%[path]"}, "/a?b=1", nil, "/v2/a?b=1"},
		{[]string{"set-path /new"}, "http://h/old?q", nil, "http://h/new?q"},
		{[]string{"set-query x=1"}, "/a", nil, "/a?x=1"},
		{[]string{"set-query %[query]&y=2"}, "/a?x=1", nil, "/a?x=1&y=2"},
		{[]string{"set-uri /fixed"}, "/a?b", nil, "/fixed"},
		{[]string{`replace-path ^/api/(.*) /\1`}, "/api/users?x", nil, "/users?x"},
		// HAProxy replaces the whole path with the replacement, not the
		// matched part (http_act.c exp_replace).
		{[]string{`replace-path foo bar`}, "/a/foo/b", nil, "bar"},
		{[]string{`replace-uri ^http://[^/]*(/.*) \1`}, "http://h/x?y", nil, "/x?y"},
		// "method" keeps giving the method HAProxy parsed (smp_fetch_meth).
		{[]string{"set-method POST", "set-header X-M %[method]"}, "/", nil, "/ X-M=GET"},
		{[]string{"set-var(txn.a) path,lower", "set-header X %[var(txn.a)]"}, "/A/B", nil, "/A/B X=/a/b"},
		{[]string{"set-var-fmt(txn.a) %[path]-%[query]", "set-header X %[var(txn.a)]"}, "/p?q", nil, "/p?q X=/p-q"},
		{[]string{"set-header X %[str(a\\x01b)]"}, "/", nil, "/ X=a%01b"},
	} {
		var y strings.Builder
		y.WriteString("    http_request:\n")
		for _, r := range tc.rules {
			y.WriteString("      - " + quoteYAML(r) + "\n")
		}
		p := prog(t, y.String(), "")
		req := newReq("GET", tc.target, tc.fields...)
		p.serve(t, req, plainConn, nil)
		got := []string{string(req.target)}
		for i := range req.names {
			got = append(got, string(req.names[i])+"="+string(req.values[i]))
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%q on %s %q:\n got %q\nwant %q", tc.rules, tc.target, tc.fields, g, tc.want)
		}
	}
}

func TestDenyReturnAndErrorfiles(t *testing.T) {
	p := prog(t, `
    http_request:
      - deny if { path /deny }
      - deny deny_status 429 if { path /429 }
      - return status 200 content-type text/plain string "pong" hdr X-Node %[str(n1)] if { path /ping }
      - return status 503 errorfile err503 if { path /down }
      - return content-type text/plain lf-string "ip=%[src]" if { path /ip }
      - reject if { path /reject }
    errorfiles: {403: err403}
`, `
files:
  err403: "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-Custom: 1\r\n\r\nnope\n"
  err503: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\ndown\n"
`)
	for _, tc := range []struct {
		path    string
		verdict Verdict
		status  int
		body    string
		fields  string
		page    bool
	}{
		{"/deny", Respond, 403, "nope\n", "Content-Type=text/plain X-Custom=1", false},
		{"/429", Respond, 429, "", "", true},
		{"/ping", Respond, 200, "pong", "X-Node=n1 Content-Type=text/plain", false},
		{"/down", Respond, 503, "down\n", "", false},
		{"/ip", Respond, 200, "ip=192.0.2.10", "Content-Type=text/plain", false},
		{"/reject", Reject, 0, "", "", false},
		{"/other", Continue, 0, "", "", false},
	} {
		r := p.serve(t, newReq("GET", tc.path, "Host: h"), plainConn, nil)
		var fs []string
		for _, f := range r.reply.Fields {
			fs = append(fs, string(f.Name)+"="+string(f.Value))
		}
		if r.verdict != tc.verdict || r.reply.Status != tc.status || string(r.reply.Body) != tc.body ||
			strings.Join(fs, " ") != tc.fields || r.reply.ErrorPage != tc.page {
			t.Errorf("%s: %v %d %q [%s] page=%v; want %v %d %q [%s] page=%v", tc.path, r.verdict, r.reply.Status,
				r.reply.Body, strings.Join(fs, " "), r.reply.ErrorPage, tc.verdict, tc.status, tc.body, tc.fields, tc.page)
		}
	}
}

// allow ends the section's http-request rules, not the backend's
// (http_ana.c: HTTP_RULE_RES_STOP then the next analyser).
func TestAllowStopsOnlyItsSection(t *testing.T) {
	p := prog(t, `
    use_backend: [{backend: static}]
    http_request:
      - allow if { src 192.0.2.0/24 }
      - deny
`, `
    http_request:
      - deny if { path /admin }
`)
	if r := p.serve(t, newReq("GET", "/x"), plainConn, nil); r.verdict == Respond {
		t.Errorf("allowed client denied by the frontend's next rule")
	}
	if r := p.serve(t, newReq("GET", "/admin"), plainConn, nil); r.verdict != Respond || r.reply.Status != 403 {
		t.Errorf("backend deny after frontend allow: %v %d", r.verdict, r.reply.Status)
	}
	other := plainConn
	other.src = netip.MustParseAddrPort("203.0.113.1:1")
	if r := p.serve(t, newReq("GET", "/x"), other, nil); r.verdict != Respond {
		t.Errorf("other client not denied")
	}
}
