package rules

import (
	"net/netip"
	"testing"
)

// evalLine compiles "deny if { CRITERION }" and reports whether it denies.
func denies(t *testing.T, criterion string, req *head, c Conn, files string) bool {
	t.Helper()
	p := prog(t, "    http_request: ["+quoteYAML("deny if { "+criterion+" }")+"]\n", files)
	return p.serve(t, req, c, nil).verdict == Respond
}

func TestMatchMethods(t *testing.T) {
	files := `
files:
  ua.lst: |
    # exact user agents
    curl/8.0
      Wget
  nets.lst: |
    10.0.0.0/8
    192.168.1
`
	r := func(target string, fields ...string) *head { return newReq("GET", target, fields...) }
	for _, tc := range []struct {
		crit string
		req  *head
		want bool
	}{
		// str, -i, and every value of every field (7.3.6 "req.hdr").
		{"hdr(host) -i example.com", r("/", "Host: EXAMPLE.com"), true},
		{"hdr(host) example.com", r("/", "Host: EXAMPLE.com"), false},
		{"hdr(host) example.com", r("/", "Host: example.com:8080"), false},
		{"hdr(x) b", r("/", "X: a, b", "X: c"), true},
		{"hdr(x) c", r("/", "X: a, b", "X: c"), true},
		{"req.fhdr(x) b", r("/", "X: a, b"), false},
		{"req.fhdr(x) -m str \"a, b\"", r("/", "X: a, b"), true},
		{"hdr(x,1) a", r("/", "X: a, b", "X: c"), true},
		{"hdr(x,1) b", r("/", "X: a, b", "X: c"), false},
		{"hdr(x,-1) c", r("/", "X: a, b", "X: c"), true},
		{"hdr(x) \"q,r\"", r("/", `X: "q,r", s`), false},
		{"hdr(x) -m sub q,r", r("/", `X: "q,r", s`), true},
		// beg, end, sub, len.
		{"hdr_beg(host) -i www.", r("/", "Host: WWW.example.com"), true},
		{"hdr_end(host) .example.com", r("/", "Host: a.example.com"), true},
		{"hdr_end(host) .example.com", r("/", "Host: example.com"), false},
		{"path_sub admin", r("/x/administrator"), true},
		{"path_len gt 5", r("/abcdef"), true},
		{"path_len gt 5", r("/abc"), false},
		// dom: dot, colon, slash, question mark delimited (7.1.3).
		{"hdr_dom(host) example.com", r("/", "Host: www.example.com:80"), true},
		{"hdr_dom(host) ample.com", r("/", "Host: www.example.com"), false},
		{"url_dom dc-eu.example.com:80", r("http://www1.dc-eu.example.com:80/blah"), true},
		{"url_dom eu", r("http://www1.dc-eu.example.com:80/blah"), false},
		{"url_dom .www1.", r("http://www1.dc-eu.example.com:80/blah"), true},
		// dir: slash delimited (7.1.3 example).
		{"path_dir images/png", r("/images/png/logo/32x32.png"), true},
		{"path_dir 32x32.png", r("/images/png/logo/32x32.png"), true},
		{"path_dir png", r("/images/png/logo/32x32.png"), true},
		{"path_dir 32x32", r("/images/png/logo/32x32.png"), false},
		// reg.
		{"path_reg ^/article/[^/]*$", r("/article/x"), true},
		{"path_reg -i ^/ARTICLE", r("/article/x"), true},
		// found, int operators and ranges, cookies, url parameters.
		{"req.cook(sess) -m found", r("/", "Cookie: a=1; sess="), true},
		{"req.cook(sess) -m found", r("/", "Cookie: a=1"), false},
		{"cook(a) 2", r("/", "Cookie: a=1; a=2"), true},
		{"req.cook_cnt(a) eq 2", r("/", "Cookie: a=1", "Cookie: b=3; a=2"), true},
		{"url_param(id) 42", r("/p?x=1&id=42"), true},
		{"urlp(id) 42", r("/p?x=1&id=7&id=42"), true},
		{"url_param(id,;) s1", r("/p;id=s1"), true},
		{"query -m beg x=", r("/p?x=1"), true},
		{"query -m found", r("/p"), false},
		{"req.hdr_cnt(x) ge 3", r("/", "X: a, b", "X: c"), true},
		{"req.fhdr_cnt(x) lt 2", r("/", "X: a, b", "X: c"), false},
		{"req.hdr_val(content-length) gt 10", r("/", "Content-Length: 11"), true},
		{"req.hdr_ip(x-forwarded-for) 10.0.0.0/8", r("/", "X-Forwarded-For: 10.1.2.3:5555"), true},
		{"method GET HEAD", newReq("HEAD", "/"), true},
		{"method -i purge", newReq("PURGE", "/"), true},
		{"method -i get", newReq("GET", "/"), false},
		{"req.ver 1.1", r("/"), true},
		{"url_port 8080", r("http://h:8080/"), true},
		{"base -m beg example.com/a", r("/a/b?c", "Host: example.com"), true},
		// -f files: comments, leading blanks, -i for files named after it.
		{"req.hdr(user-agent) -f ua.lst", r("/", "User-Agent: curl/8.0"), true},
		{"req.hdr(user-agent) -f ua.lst", r("/", "User-Agent: wget"), false},
		{"req.hdr(user-agent) -i -f ua.lst", r("/", "User-Agent: wget"), true},
		// ip: networks, abbreviated IPv4 forms, IPv4 in IPv6 (7.1.6).
		{"src -f nets.lst", r("/"), false},
		{"src 192.0.2.0/24", r("/"), true},
		{"src 192.0.2.10", r("/"), true},
		{"src ::ffff:192.0.2.0/120", r("/"), true},
		{"dst_port 80", r("/"), true},
		{"dst_port 1:79 81:", r("/"), false},
		{"src_port ge 40000", r("/"), true},
		// converters in criteria.
		{"hdr(host),lower,map(hosts.map) api", r("/", "Host: API.example.com"), true},
		{"path,field(3,/) c", r("/a/b/c/d"), false},
		{"path,field(4,/) c", r("/a/b/c/d"), true},
		{"path,word(2,/) b", r("/a/b/c"), true},
		{"path,regsub(^/old,/new) /new/x", r("/old/x"), true},
		{"hdr(host),host_only example.com", r("/", "Host: example.com:8080"), true},
		{"hdr(host),port_only 8080", r("/", "Host: example.com:8080"), true},
		{"path,length 4", r("/abc"), true},
		{"int(5),add(3) 8", r("/"), true},
		{"always_true", r("/"), true},
		{"always_false", r("/"), false},
		{"ssl_fc", r("/"), false},
	} {
		files := files + "  hosts.map: |\n    api.example.com api\n"
		if got := denies(t, tc.crit, tc.req, plainConn, files); got != tc.want {
			t.Errorf("{ %s } on %s %q: %v, want %v", tc.crit, tc.req.target, tc.req.values, got, tc.want)
		}
	}
}

func TestIPv6ClientMatchesIPv4Networks(t *testing.T) {
	c := plainConn
	for _, tc := range []struct {
		src  string
		want bool
	}{{"[::ffff:10.1.2.3]:1", true}, {"[2002:a01:203::1]:1", true}, {"[2001:db8::1]:1", false}} {
		c.src = netip.MustParseAddrPort(tc.src)
		if got := denies(t, "src 10.0.0.0/8", newReq("GET", "/"), c, ""); got != tc.want {
			t.Errorf("src %s in 10.0.0.0/8: %v, want %v", tc.src, got, tc.want)
		}
	}
}

// Map precedence (7.3.1 "map"; pattern.c): str takes the first of
// duplicate keys, beg the longest prefix, ip the longest network, the
// list methods the first line that matches.
func TestMapPrecedence(t *testing.T) {
	files := `
files:
  m.map: |
    /a       first
    /a       second
    /a/b     longer
    /        root
  end.map: |
    .com     com
    ample.com ample
  ip.map: |
    10.0.0.0/8     wide
    10.1.0.0/16    narrow
    0.0.0.0/0      any
  reg.map: |
    ^/(a)(.*) x\2-\1
    ^/a       second
`
	for _, tc := range []struct {
		expr, target, want string
	}{
		{"path,map_str(m.map,none)", "/a", "first"},
		{"path,map_str(m.map,none)", "/zz", "none"},
		{"path,map_beg(m.map,none)", "/a/b/c", "longer"},
		{"path,map_beg(m.map,none)", "/a/x", "first"},
		{"path,map_beg(m.map,none)", "/q", "root"},
		{"hdr(host),map_end(end.map)", "/", "com"},
		{"hdr(host),map_dom(end.map,none)", "/", "com"},
		{"src,map_ip(ip.map)", "/", "any"},
		{"str(10.1.2.3),map_ip(ip.map)", "/", "narrow"},
		{"path,map_regm(reg.map)", "/abc", "xbc-a"},
		{"path,map_reg(reg.map)", "/abc", `x\2-\1`},
	} {
		p := prog(t, "    http_request: ["+quoteYAML("set-header X %["+tc.expr+"]")+"]\n", files)
		req := newReq("GET", tc.target, "Host: www.example.com")
		p.serve(t, req, plainConn, nil)
		if got := req.get("X"); got != tc.want {
			t.Errorf("%s on %s: %q, want %q", tc.expr, tc.target, got, tc.want)
		}
	}
}
