package rules

import (
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"testing"
)

// This file runs the same rules in Debian's HAProxy 2.6 and in this
// engine and compares what a client receives. Each case is one frontend;
// the three backends answer with "http-request return", reflecting the
// request they got (url and header block), so no server is needed. The
// differential harness of the project (testenv) compares whole proxies;
// this one pins the rule semantics this package implements.

// diffCase is one frontend: its rule lines, written once and rendered both
// as haproxy.cfg and as tandem YAML.
type diffCase struct {
	name       string
	acls       [][2]string // name, criterion (a name may repeat: OR-ed)
	req        []string    // http-request lines
	redirect   []string    // redirect directives
	after      []string    // http-after-response lines
	useBackend [][2]string // target, "if COND" / "unless COND" / ""
	httpErrors []string
	errorfiles map[int]string
	requests   []string // raw request heads (CRLF added)
}

var diffCases = []diffCase{
	{name: "hdr and host port",
		acls: [][2]string{{"h", "hdr(host) -i example.com"}, {"hd", "hdr_dom(host) -i example.com"}, {"hb", "hdr_beg(host) www."}},
		req: []string{
			`return status 200 content-type text/plain string exact if h`,
			`return status 200 content-type text/plain string dom if hd`,
			`return status 200 content-type text/plain string beg if hb`,
		},
		requests: []string{"GET / HTTP/1.1|Host: example.com", "GET / HTTP/1.1|Host: example.com:8080", "GET / HTTP/1.1|Host: www.example.com:80",
			"GET / HTTP/1.1|Host: EXAMPLE.COM", "GET / HTTP/1.1|Host: www.other.org"}},
	{name: "samples of repeated headers",
		req: []string{`return status 200 content-type text/plain lf-string "last=%[hdr(x)] first=%[hdr(x,1)] f=%[req.fhdr(x)] cnt=%[req.hdr_cnt(x)] fcnt=%[req.fhdr_cnt(x)] none=[%[hdr(nope)]] ck=%[req.cook(a)] ck0=%[req.cook] up=%[urlp(id)] q=%[query] p=%[path] b=%[base]"`},
		requests: []string{"GET /p/a?x=1&id=7&id=9 HTTP/1.1|Host: h:81|X: a, b|X: c|Cookie: a=1; b=2|Cookie: a=3",
			"GET http://abs.example/p?id= HTTP/1.1|Host: abs.example|X: \"q,r\", s"}},
	{name: "acl iteration over values",
		acls: [][2]string{{"xb", "hdr(x) b"}, {"ck", "req.cook(a) 1"}, {"up", "urlp(id) 9"}},
		req: []string{
			`return status 200 content-type text/plain string xb if xb`,
			`return status 200 content-type text/plain string ck if ck`,
			`return status 200 content-type text/plain string up if up`,
		},
		requests: []string{"GET / HTTP/1.1|Host: h|X: a, b", "GET / HTTP/1.1|Host: h|Cookie: a=3; a=1", "GET /?id=7&id=9 HTTP/1.1|Host: h"}},
	{name: "maps",
		req: []string{`return status 200 content-type text/plain lf-string "s=%[path,map_str(m.map,none)] b=%[path,map_beg(m.map,none)] e=%[hdr(host),map_end(e.map,none)] d=%[hdr(host),map_dom(e.map,none)] r=%[path,map_regm(r.map,none)] ip=%[req.hdr(x-ip),map_ip(ip.map,none)]"`},
		requests: []string{"GET /a HTTP/1.1|Host: www.example.com|X-Ip: 10.1.2.3", "GET /a/b/c HTTP/1.1|Host: ample.com|X-Ip: 10.9.9.9",
			"GET /q HTTP/1.1|Host: x.org|X-Ip: 8.8.8.8", "GET /abc HTTP/1.1|Host: h"}},
	{name: "redirects",
		req: []string{
			`redirect scheme https code 301 if { path_beg /s }`,
			`redirect prefix https://new.example.com drop-query if { path_beg /p }`,
			`redirect prefix / drop-query append-slash code 301 if { path_beg /slash }`,
			`redirect location /login set-cookie SEEN=1 if { path /l }`,
			`redirect location /bye code 307 clear-cookie USERID= if { path /c }`,
			`redirect location %[path,map_str(m.map)] ignore-empty if { path_beg /m }`,
		},
		redirect: []string{`location /legacy code 303 if { path /old }`},
		requests: []string{"GET /s/x?q=1 HTTP/1.1|Host: example.com:8080", "GET /s HTTP/1.1", "GET /p/x?q HTTP/1.1|Host: h",
			"GET /slash/a?b HTTP/1.1|Host: h", "GET /slash/ HTTP/1.1|Host: h", "GET /l HTTP/1.1|Host: h", "GET /c HTTP/1.1|Host: h",
			"GET /m HTTP/1.1|Host: h", "GET /old HTTP/1.1|Host: h", "GET http://abs/s/y?z HTTP/1.1|Host: abs"}},
	{name: "rewrites seen by the backend",
		req: []string{
			`set-header X-Forwarded-Proto http`,
			`set-header X-Old %[hdr(x-old)]-new`,
			`add-header X-Client %[src]`,
			`del-header X-Secret`,
			`del-header x-drop- -m beg`,
			`del-header ^x-rm-1$ -m reg`,
			`del-header ^X-RM-2$ -m reg`,
			`replace-header Cookie (.*)sess=[^;]*(.*) \1\2`,
			`replace-value X-Fwd ^10\..* private`,
			`set-path /v2%[path] if { path_beg /api }`,
			`set-query %[query]&added=1 if { query -m found }`,
			`replace-path foo bar if { path_beg /r }`,
			`replace-uri ^/u/(.*) /uu/\1 if { path_beg /u }`,
			`set-method POST if { path /m }`,
			`set-header X-M %[method]`,
		},
		useBackend: [][2]string{{"static", "if { path_beg /v2 }"}},
		requests: []string{"GET /api/x?a=1 HTTP/1.1|Host: h|X-Old: o|X-Secret: s|X-Drop-A: 1|x-drop-b: 2|X-Rm-1: a|X-Rm-2: b|Cookie: a=1; sess=zz; b=2|X-Fwd: 1.2.3.4, 10.0.0.1,10.2.2.2",
			"GET /r/foo/x HTTP/1.1|Host: h", "GET /u/a?b HTTP/1.1|Host: h", "GET /m HTTP/1.1|Host: h"}},
	{name: "deny return auth",
		req: []string{
			`deny if { path /deny }`,
			`deny deny_status 429 if { path /429 }`,
			`return status 201 content-type text/plain string made hdr X-A %[path] if { path /ret }`,
			`return status 204 if { path /empty }`,
			`auth if { path /auth }`,
			`auth realm "My Realm" if { path /realm }`,
		},
		after:    []string{`set-header X-After %[status]`},
		requests: []string{"GET /deny HTTP/1.1|Host: h", "GET /429 HTTP/1.1|Host: h", "GET /ret HTTP/1.1|Host: h", "GET /empty HTTP/1.1|Host: h", "GET /auth HTTP/1.1|Host: h", "GET /realm HTTP/1.1|Host: h"}},
	{name: "error pages",
		req: []string{
			`deny if { path /deny }`,
			`auth realm R if { path /auth }`,
			`return status 503 default-errorfiles if { path /503 }`,
			`deny deny_status 429 if { path /429 }`,
		},
		httpErrors: []string{`status 403 content-type text/plain lf-string "no %[path]" hdr X-A denied`, `status 503 errorfile e503.http`},
		errorfiles: map[int]string{401: "e401.http", 503: "e503b.http"},
		requests:   []string{"GET /deny HTTP/1.1|Host: h", "GET /auth HTTP/1.1|Host: h", "GET /503 HTTP/1.1|Host: h", "GET /429 HTTP/1.1|Host: h"}},
	{name: "content switching",
		acls:       [][2]string{{"api", "path_beg /api"}, {"static", "path_end .css .js"}, {"static", "hdr(host) -i static.example.com"}},
		useBackend: [][2]string{{"static", "if static"}, {"api", "if api !{ hdr(x-no-api) -m found }"}, {"%[req.hdr(host),lower,map(hosts.map)]", ""}},
		requests: []string{"GET /api/x HTTP/1.1|Host: h", "GET /a.css HTTP/1.1|Host: h", "GET / HTTP/1.1|Host: STATIC.example.com",
			"GET /api HTTP/1.1|Host: h|X-No-Api: 1", "GET / HTTP/1.1|Host: API.Example.com", "GET / HTTP/1.1|Host: unknown.example.com"}},
	{name: "more rewrites",
		req: []string{
			`set-path /new%[path] if { path_beg /cap }`,
			`set-header X-Cap %[capture.req.uri]`,
			`replace-header X-Rep ^(a)(.*) \2\1`,
			`set-uri http://other.example%[path]?rewritten if { path_beg /abs }`,
			`set-query %[query],more if { query -m found }`,
			`add-header X-P %[urlp] if { query -m found }`,
			`redirect prefix http://%[hdr(host)]/sub code 302 if { path_beg /pfx }`,
		},
		requests: []string{"GET /cap/x?q=1 HTTP/1.1|Host: h|X-Rep: abc|X-Rep: axy, b", "GET /abs/y HTTP/1.1|Host: h",
			"GET /pfx/z?k=v HTTP/1.1|Host: h.example:81", "GET /q?=x&a=1 HTTP/1.1|Host: h"}},
	{name: "cookies",
		acls: [][2]string{{"e", "req.cook(e) -m found"}, {"q", `req.cook(q) -m str "\"a;b\""`}, {"d", "req.cook($d) -m found"}},
		req: []string{
			`add-header X-Acl e if e`,
			`add-header X-Acl q if q`,
			`add-header X-Acl d if d`,
			`return status 200 content-type text/plain lf-string "a=%[req.cook(a)] first=%[req.cook] cnt=%[req.cook_cnt(a)] val=%[req.cook_val(n)] acl=%[req.fhdr(x-acl,1)],%[req.fhdr(x-acl,2)]"`,
		},
		requests: []string{"GET / HTTP/1.1|Host: h|Cookie: a=1, a=2; e=|Cookie: n=42x; q=\"a;b\"",
			"GET / HTTP/1.1|Host: h|Cookie: e=; x=1|Cookie: $d=1; a = 3 ", "GET / HTTP/1.1|Host: h|Cookie: a"}},
	{name: "misc samples",
		req: []string{
			`set-header X-Empty %[req.hdr(nope)]`,
			`return status 200 content-type text/plain lf-string "e=[%[req.hdr(x-empty)]] ip=%[req.hdr_ip(x-ip)] v=%[req.hdr_val(x-n)] u=%[urlp(s,;)] ver=%[req.ver] m=%[method] cap=%[capture.req.uri] %[capture.req.method] lo=%[hdr(host),lower,upper] f=%[path,field(2,/)] w=%[path,word(-1,/)] rs=%[path,regsub(/,_,g)] hex=%[str(ab),hex] b64=%[str(ab),base64] len=%[path,length] hp=%[hdr(host),host_only]:%[hdr(host),port_only] add=%[req.hdr_val(x-n),add(5),mul(2),sub(1),div(3),mod(4)] bool=%[int(0),bool]%[int(3),not] odd=%[int(3),odd] hd=%[int(1796118323),http_date(60)] hdm=%[int(1796118323250),http_date(0,ms)]"`,
		},
		requests: []string{"GET /a/b/c;s=9?x=1 HTTP/1.1|Host: Ex.Com:8080|X-Ip: ::1|X-N: 7", "GET / HTTP/1.0", "PATCH /p HTTP/1.1|Host: [::1]:81"}},
	{name: "matchers",
		acls: [][2]string{{"dir", "path_dir png"}, {"dom", "url_dom dc-eu.example:80"}, {"len", "path_len gt 5"}, {"reg", "path_reg -i ^/ART"},
			{"int", "req.hdr_val(x-n) ge 10"}, {"ip", "req.hdr_ip(x-ip) 10.0.0.0/8 127.1"}, {"sub", "path_sub -i admin"}, {"found", "req.cook(s) -m found"},
			{"meth", "method -i purge"}, {"end", "path_end -i .PNG"}},
		req: []string{`return status 200 content-type text/plain lf-string "dir=%[acl(dir)]"`},
	},
}

// acl() is not a fetch tandem has; the matchers case is rewritten into one
// return per ACL below.
func init() {
	c := &diffCases[len(diffCases)-1]
	c.req = nil
	for _, a := range c.acls {
		c.req = append(c.req, fmt.Sprintf(`add-header X-Acl %s if %s`, a[0], a[0]))
	}
	c.req = append(c.req, `return status 200 content-type text/plain lf-string "%[req.fhdr(x-acl)]"`)
	// fhdr gives the last occurrence: reflect them all instead.
	c.req[len(c.req)-1] = `return status 200 content-type text/plain lf-string "%[req.hdrs]"`
	c.requests = []string{
		"GET /images/png/logo.png HTTP/1.1|Host: h|X-N: 12|X-Ip: 127.0.0.1",
		// HAProxy drops a default ":80" from an http:// URI's Host (the
		// HTTP/1 layer's normalisation, not the rules'): use another port.
		"GET http://www1.dc-eu.example.com:8080/blah HTTP/1.1|Host: www1.dc-eu.example.com:8080|X-N: 9|X-Ip: 10.2.3.4:80",
		"GET /article/Admin HTTP/1.1|Host: h|Cookie: s=",
		"PURGE /x.png HTTP/1.1|Host: h",
	}
}

var diffFiles = map[string]string{
	"e401.http":  "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nWWW-Authenticate: Digest x\r\nX-A: page\r\n\r\nlogin please\n",
	"e503.http":  "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nfrom http-error\n",
	"e503b.http": "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nfrom errorfile\n",
	"m.map":      "/a first\n/a second\n/a/b longer\n/ root\n/m /mapped\n",
	"e.map":      ".com com\nample.com ample\n",
	"r.map":      "^/(a)(.*) x\\2-\\1\n",
	"ip.map":     "10.0.0.0/8 wide\n10.1.0.0/16 narrow\n",
	"hosts.map":  "api.example.com api\nexample.com app\n",
}

var diffBackends = []string{"app", "api", "static"}

func (c diffCase) cfg(name string, port int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "frontend %s\n  bind 127.0.0.1:%d\n", name, port)
	for _, a := range c.acls {
		fmt.Fprintf(&b, "  acl %s %s\n", a[0], a[1])
	}
	for _, l := range c.req {
		fmt.Fprintf(&b, "  http-request %s\n", l)
	}
	for _, l := range c.redirect {
		fmt.Fprintf(&b, "  redirect %s\n", l)
	}
	for _, l := range c.after {
		fmt.Fprintf(&b, "  http-after-response %s\n", l)
	}
	for _, u := range c.useBackend {
		fmt.Fprintf(&b, "  use_backend %s %s\n", u[0], u[1])
	}
	// The later of errorfile and http-error for a status wins in HAProxy;
	// in the YAML http_errors win: write them last.
	for code, f := range c.errorfiles {
		fmt.Fprintf(&b, "  errorfile %d %s\n", code, f)
	}
	for _, l := range c.httpErrors {
		fmt.Fprintf(&b, "  http-error %s\n", l)
	}
	b.WriteString("  default_backend app\n")
	return b.String()
}

func (c diffCase) yaml(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    bind: [\"127.0.0.1:1\"]\n    default_backend: app\n", name)
	if len(c.acls) > 0 {
		acls := map[string][]string{}
		var names []string
		for _, a := range c.acls {
			if _, seen := acls[a[0]]; !seen {
				names = append(names, a[0])
			}
			acls[a[0]] = append(acls[a[0]], a[1])
		}
		b.WriteString("    acls:\n")
		for _, n := range names {
			fmt.Fprintf(&b, "      %s: [", n)
			for i, l := range acls[n] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(quoteYAML(l))
			}
			b.WriteString("]\n")
		}
	}
	list := func(key string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "    %s:\n", key)
		for _, l := range lines {
			fmt.Fprintf(&b, "      - %s\n", quoteYAML(l))
		}
	}
	list("http_request", c.req)
	list("redirect", c.redirect)
	list("http_after_response", c.after)
	list("http_errors", c.httpErrors)
	if len(c.errorfiles) > 0 {
		b.WriteString("    errorfiles:\n")
		for code, f := range c.errorfiles {
			fmt.Fprintf(&b, "      %d: %s\n", code, f)
		}
	}
	if len(c.useBackend) > 0 {
		b.WriteString("    use_backend:\n")
		for _, u := range c.useBackend {
			fmt.Fprintf(&b, "      - {backend: %s", quoteYAML(u[0]))
			if kw, cond, ok := strings.Cut(u[1], " "); ok {
				fmt.Fprintf(&b, ", %s: %s", kw, quoteYAML(cond))
			}
			b.WriteString("}\n")
		}
	}
	return b.String()
}

const reflect = `return status 200 content-type text/plain lf-string "be=%s url=%%[url]\n%%[req.hdrs]"`

// answer is what a client sees that the rules decide.
func tandemAnswers(t *testing.T) [][]answer {
	var y strings.Builder
	y.WriteString("frontends:\n")
	for i, c := range diffCases {
		y.WriteString(strings.Replace(c.yaml(fmt.Sprintf("f%d", i)), `"127.0.0.1:1"`, fmt.Sprintf(`"127.0.0.1:%d"`, 20000+i), 1))
	}
	y.WriteString("backends:\n")
	for _, be := range diffBackends {
		fmt.Fprintf(&y, "  - name: %s\n    servers: [{name: s, address: 127.0.0.1:1}]\n    http_request: [%s]\n", be, quoteYAML(fmt.Sprintf(reflect, be)))
	}
	y.WriteString("files:\n")
	for n, c := range diffFiles {
		fmt.Fprintf(&y, "  %s: |\n", n)
		for _, l := range strings.Split(strings.TrimSuffix(c, "\n"), "\n") {
			fmt.Fprintf(&y, "    %s\n", l)
		}
	}
	p, cl := compileYAML(t, y.String())
	c := &conn{src: netip.MustParseAddrPort("127.0.0.1:40000"), dst: netip.MustParseAddrPort("127.0.0.1:8080")}
	all := make([][]answer, len(diffCases))
	for i, dc := range diffCases {
		for _, r := range dc.requests {
			all[i] = append(all[i], tandemDo(t, p, i, cl.Frontends[i].DefaultBackend, parseRaw(r), c))
		}
	}
	return all
}

func tandemDo(t *testing.T, p *Program, fei int, def string, req *head, c Conn) answer {
	s := p.Get()
	defer p.Put(s)
	fe := p.Frontend(fei)
	s.Begin(fe, nil, Input{Conn: c, Req: req, Final: true})
	var be *Proxy
	ed := htxHead{req}
	v := fe.HTTPRequest(s, ed)
	if v != Respond && v != Reject {
		bi, ok := fe.UseBackend(s)
		if !ok {
			bi = p.backendByName[def]
		}
		s.In.Backend = bi
		be = p.Backend(bi)
		v = be.HTTPRequest(s, ed)
	}
	if v != Respond {
		t.Fatalf("frontend %d: verdict %v, want a response (every backend returns one)", fei, v)
	}
	rp := s.Reply()
	res := newRes(rp.Status)
	for _, f := range rp.Fields {
		res.AddField(f.Name, f.Value)
	}
	s.In.Res = res
	HTTPAfterResponse(s, be, fe, res)
	a := answer{status: res.status, body: string(rp.Body)}
	for i, n := range res.names {
		ln := strings.ToLower(string(n))
		for _, cf := range comparedFields {
			if ln == cf {
				a.fields = append(a.fields, ln+": "+string(res.values[i]))
			}
		}
	}
	if rp.ErrorPage {
		// The balancer writes its own error pages: compare the status and
		// the fields the rules set only.
		a.body = "(error page)"
	}
	sort.Strings(a.fields)
	return a
}

func TestRulesAgainstHAProxy(t *testing.T) {
	want := haproxyAnswers(t)
	got := tandemAnswers(t)
	for i, c := range diffCases {
		for j, r := range c.requests {
			h, g := want[i][j], got[i][j]
			if os.Getenv("RULES_DIFF_LOG") != "" {
				t.Logf("%s %q -> %d %q %q", c.name, r, h.status, h.body, h.fields)
			}
			if g.body == "(error page)" {
				h.body = g.body
				h.fields = dropFields(h.fields, "content-type")
			}
			if h.status != g.status || h.body != g.body || strings.Join(h.fields, "\n") != strings.Join(g.fields, "\n") {
				t.Errorf("%s: %q\n haproxy: %d %q\n   %s\n  tandem: %d %q\n   %s", c.name, r, h.status, h.body, strings.Join(h.fields, "\n   "),
					g.status, g.body, strings.Join(g.fields, "\n   "))
			}
		}
	}
}

func dropFields(fs []string, name string) []string {
	var out []string
	for _, f := range fs {
		if !strings.HasPrefix(f, name+": ") {
			out = append(out, f)
		}
	}
	return out
}
