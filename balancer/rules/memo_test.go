package rules

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// The memo, the criterion groups and the field index (memo.go, group.go,
// hdrindex.go) keep results between rules; these tests change what a
// result read between two rules that read it, and expect the second rule
// to see the change, as HAProxy's rules do (each reads the message as the
// rules before it left it).

// memoYAML is one frontend with the given http-request rules.
func memoYAML(rules ...string) string {
	var b strings.Builder
	b.WriteString("frontends:\n  - name: web\n    bind: [\"127.0.0.1:8080\"]\n    mode: http\n    default_backend: b\n    http_request:\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "      - %q\n", r)
	}
	b.WriteString("backends:\n  - {name: b, mode: http, servers: [{name: s, address: \"127.0.0.1:1\"}]}\n")
	return b.String()
}

func TestRulesSeeEarlierEdits(t *testing.T) {
	c := &conn{src: netip.MustParseAddrPort("10.0.0.1:5000"), dst: netip.MustParseAddrPort("127.0.0.1:8080")}
	for _, tc := range []struct {
		name   string
		rules  []string
		req    *head
		want   map[string]string // field → value(s) joined by "|"
		target string
	}{
		{name: "set-header then an ACL and a sample of the same field",
			rules: []string{
				"set-header X-Before %[req.hdr(x-a)] if { req.hdr(x-a) -m found }",
				"set-header X-A new",
				"set-header X-Sees-New 1 if { req.hdr(x-a) new }",
				"set-header X-After %[req.hdr(x-a)]",
			},
			req:  newReq("GET", "/", "Host: h", "X-A: old"),
			want: map[string]string{"x-before": "old", "x-sees-new": "1", "x-after": "new"}},
		{name: "del-header then found and its absence",
			rules: []string{
				"set-header X-Had 1 if { req.hdr(x-gone) -m found }",
				"del-header X-Gone",
				"set-header X-Still 1 if { req.hdr(x-gone) -m found }",
				"set-header X-Now-Absent 1 unless { req.hdr(x-gone) -m found }",
			},
			req:  newReq("GET", "/", "X-Gone: 1", "Host: h"),
			want: map[string]string{"x-had": "1", "x-still": "", "x-now-absent": "1"}},
		{name: "add-header makes a field found and a second value",
			rules: []string{
				"set-header X-First 1 if { req.hdr(x-new) -m found }",
				"add-header X-New a",
				"set-header X-Found 1 if { req.hdr(x-new) -m found }",
				"add-header X-New b",
				"set-header X-Has-B 1 if { req.hdr(x-new) b }",
				"set-header X-Count %[req.hdr_cnt(x-new)]",
			},
			req:  newReq("GET", "/", "Host: h"),
			want: map[string]string{"x-first": "", "x-found": "1", "x-has-b": "1", "x-count": "2"}},
		{name: "a later value of a field after an earlier field is removed",
			rules: []string{
				"set-header X-Saw-C 1 if { req.hdr(x-m) c }",
				"del-header X-Early",
				"set-header X-Still-C 1 if { req.hdr(x-m) c }",
				"set-header X-Last %[req.hdr(x-m)]",
			},
			req:  newReq("GET", "/", "X-Early: 1", "X-M: a, b", "Host: h", "X-M: c"),
			want: map[string]string{"x-saw-c": "1", "x-still-c": "1", "x-last": "c"}},
		{name: "set-path then grouped path criteria",
			rules: []string{
				"set-header X-Api 1 if { path_beg /api }",
				"set-header X-V2 1 if { path_beg /v2 }",
				"set-path /v2%[path]",
				"set-header X-Api-After 1 if { path_beg /api }",
				"set-header X-V2-After 1 if { path_beg /v2 }",
				"set-header X-Css 1 if { path_end .css }",
			},
			req:    newReq("GET", "/api/x.css", "Host: h"),
			want:   map[string]string{"x-api": "1", "x-v2": "", "x-api-after": "", "x-v2-after": "1", "x-css": "1"},
			target: "/v2/api/x.css"},
		{name: "replace-header then grouped host criteria",
			rules: []string{
				"set-header X-Www 1 if { hdr(host) -i www.example.com }",
				"set-header X-Bare 1 if { hdr(host) -i example.com }",
				`replace-header Host ^www\.(.*)$ \1`,
				"set-header X-Www-After 1 if { hdr(host) -i www.example.com }",
				"set-header X-Bare-After 1 if { hdr(host) -i example.com }",
			},
			req:  newReq("GET", "/", "Host: www.example.com"),
			want: map[string]string{"x-www": "1", "x-bare": "", "x-www-after": "", "x-bare-after": "1"}},
		{name: "del-header by pattern then a named field",
			rules: []string{
				"set-header X-Saw 1 if { req.hdr(x-drop-a) -m found }",
				"del-header X-Drop- -m beg",
				"set-header X-Dropped 1 unless { req.hdr(x-drop-a) -m found }",
			},
			req:  newReq("GET", "/", "X-Drop-A: 1", "Host: h"),
			want: map[string]string{"x-saw": "1", "x-dropped": "1"}},
		{name: "set-uri rewrites Host for the rules after it",
			rules: []string{
				"set-header X-Old 1 if { hdr(host) -i a.example }",
				"set-uri http://b.example/x",
				"set-header X-New 1 if { hdr(host) -i b.example }",
				"set-header X-Path %[path]",
			},
			req:  newReq("GET", "/", "Host: a.example"),
			want: map[string]string{"x-old": "1", "x-new": "1", "x-path": "/x"}, target: "http://b.example/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := compileYAML(t, memoYAML(tc.rules...))
			r := p.serve(t, tc.req, c, nil)
			for name, want := range tc.want {
				if got := r.req.get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if tc.target != "" && string(r.req.target) != tc.target {
				t.Errorf("target %q, want %q", r.req.target, tc.target)
			}
		})
	}
}

// A response stage starts afresh: the fields of the server's response and
// then of the balancer's own answer are read as they are.
func TestResponseStagesDoNotShareResults(t *testing.T) {
	p, _ := compileYAML(t, `frontends:
  - name: web
    bind: ["127.0.0.1:8080"]
    mode: http
    default_backend: b
    http_response:
      - set-header X-R %[res.hdr(x-s)]
    http_after_response:
      - set-header X-A %[res.hdr(x-s)]
      - set-header X-Found 1 if { res.hdr(x-s) -m found }
backends:
  - {name: b, mode: http, servers: [{name: s, address: "127.0.0.1:1"}]}
`)
	s := p.Get()
	defer p.Put(s)
	fe := p.Frontend(0)
	req := newReq("GET", "/", "Host: h")
	s.Begin(fe, nil, Input{Req: req, Final: true})
	fe.HTTPRequest(s, req)
	s.In.Backend = 0
	server := newRes(200, "X-S: from-server")
	s.In.Res = server
	HTTPResponse(s, p.Backend(0), fe, server)
	own := newRes(502) // the server's answer was dropped: the balancer answers
	s.In.Res = own
	HTTPAfterResponse(s, p.Backend(0), fe, own)
	if got := server.get("x-r"); got != "from-server" {
		t.Errorf("server response X-R = %q", got)
	}
	if got, found := own.get("x-a"), own.get("x-found"); got != "" || found != "" {
		t.Errorf("own answer X-A = %q, X-Found = %q: the server's fields leaked into it", got, found)
	}
}

// Many criteria on one expression are answered by one lookup (group.go);
// each still gives its own answer, also with -i, files and networks.
func TestGroupedCriteriaAnswerEachOnItsOwn(t *testing.T) {
	var rules []string
	for i := 0; i < 70; i++ { // more than 64: results take two words
		rules = append(rules, fmt.Sprintf("add-header X-Beg %d if { path_beg /p%d/ }", i, i))
	}
	rules = append(rules,
		"add-header X-Str exact if { path /p3/x }",
		"add-header X-End css if { path_end .css .js }",
		"add-header X-Host www if { hdr(host) -i www.example.com }",
		"add-header X-Host any if { hdr(host) -m beg -i WWW. }",
		"add-header X-Host case if { hdr(host) www.example.com }",
		"add-header X-Net ten if { src 10.0.0.0/8 }",
		"add-header X-Net host if { src 10.0.0.1 }",
		"add-header X-Net other if { src 192.168.0.0/16 ::1 }",
		"add-header X-Dom ex if { hdr_dom(host) -i example.com }",
		"add-header X-Dom www if { hdr_dom(host) .www. }",
		"add-header X-Dom none if { hdr_dom(host) ... }",
		"add-header X-Dir p3 if { path_dir p3 }",
		"add-header X-Dir x if { path_dir -i /X/ }",
	)
	p, _ := compileYAML(t, memoYAML(rules...))
	c := &conn{src: netip.MustParseAddrPort("10.0.0.1:5000"), dst: netip.MustParseAddrPort("127.0.0.1:8080")}
	for _, tc := range []struct {
		target, host string
		want         map[string]string
	}{
		{"/p3/x", "WWW.example.com", map[string]string{"x-beg": "3", "x-str": "exact", "x-end": "", "x-host": "www|any", "x-net": "ten|host", "x-dom": "ex", "x-dir": "p3|x"}},
		{"/p65/a.css", "www.example.com", map[string]string{"x-beg": "65", "x-str": "", "x-end": "css", "x-host": "www|any|case", "x-dom": "ex|www", "x-dir": ""}},
		{"/p7", "example.com:80", map[string]string{"x-beg": "", "x-end": "", "x-host": "", "x-dom": "ex"}},
	} {
		r := p.serve(t, newReq("GET", tc.target, "Host: "+tc.host), c, nil)
		for name, want := range tc.want {
			if got := r.req.get(name); got != want {
				t.Errorf("%s %s: %s = %q, want %q", tc.target, tc.host, name, got, want)
			}
		}
	}
}
