package rules

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testEnv is a cluster around the section under test.
type testEnv struct {
	files     map[string]string
	backends  map[string][]string
	userlists map[string][]string
}

func (e testEnv) File(n string) (string, bool) { c, ok := e.files[n]; return c, ok }
func (e testEnv) HasBackend(n string) bool     { _, ok := e.backends[n]; return ok }
func (e testEnv) HasServer(b, s string) bool {
	for _, x := range e.backends[b] {
		if x == s {
			return true
		}
	}
	return false
}
func (e testEnv) UserlistGroups(n string) ([]string, bool) { g, ok := e.userlists[n]; return g, ok }

var env = testEnv{
	files: map[string]string{
		"hosts.map":  "# comment\nexample.com web\n  api.example.com   api  \nstatic.example.com static\n",
		"ports.map":  "80 1\n443 2\n",
		"nets.map":   "10.0.0.0/8 a\n192.168.1.0/24 b\n",
		"bad.lst":    "10.1.2.3\n  192.168.0.0/16\n#comment\n\n",
		"regex.map":  "^/a(.*) x\n",
		"badre.map":  "^/a(? x\n",
		"badint.map": "a notanint\n",
		"403.http":   "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nno\n",
		"body.txt":   "hello\n",
	},
	backends:  map[string][]string{"web": {"s1", "s2"}, "api": {"a1"}, "static": {"st1"}},
	userlists: map[string][]string{"admins": {"ops", "dev"}},
}

var cmpRule = cmp.Options{cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{}), cmp.Comparer(func(a, b *ConvDef) bool { return a == b })}

// parseRT parses a rule, prints it, parses the print, and checks both ASTs
// are equal: the invariant every parser here keeps.
func parseRT(t *testing.T, set RuleSet, stage Stage, line string, acls map[string][]string) *Rule {
	t.Helper()
	// tcp-request rules are parsed as in a mode tcp proxy (where payload
	// fetches are), the others as in mode http.
	http := set != SetTCPContent && set != SetTCPConnection && set != SetTCPSession
	r, err := ParseRule(set, stage, http, line, acls, env)
	if err != nil {
		t.Fatalf("ParseRule(%q): %v", line, err)
	}
	printed := r.String()
	r2, err := ParseRule(set, stage, http, printed, acls, env)
	if err != nil {
		t.Fatalf("reparse of %q (from %q): %v", printed, line, err)
	}
	if d := cmp.Diff(r, r2, cmpRule); d != "" {
		t.Fatalf("round trip of %q via %q differs (-first +second):\n%s", line, printed, d)
	}
	return r
}

func TestSplitFollowsHAProxyQuoting(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{`set-header X-Forwarded-Proto https if { ssl_fc }`, []string{"set-header", "X-Forwarded-Proto", "https", "if", "{", "ssl_fc", "}"}},
		{`a\ b "c d" 'e f'`, []string{"a b", "c d", "e f"}},
		{`"a"'b'c`, []string{"abc"}},
		{`x # comment`, []string{"x"}},
		{`x \# y`, []string{"x", "#", "y"}},
		{`'%[path,regsub("^/(here)(/|$)","my/\1",g)]'`, []string{`%[path,regsub("^/(here)(/|$)","my/\1",g)]`}},
		{`%[path,regsub(\"(foo|bar)\",blah,g)]`, []string{`%[path,regsub("(foo|bar)",blah,g)]`}},
		{`a\tb \x41 \1`, []string{"a\tb", "A", `\1`}},
		{`"it's"`, []string{"it's"}},
		{`  lead  trail  `, []string{"lead", "trail"}},
		{`a ""`, []string{"a"}},
		{`"\$x" \$y`, []string{"$x", `\$y`}},
	} {
		ws, err := Split(tc.line)
		if err != nil {
			t.Errorf("Split(%q): %v", tc.line, err)
			continue
		}
		var got []string
		for _, w := range ws {
			got = append(got, w.Text)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("Split(%q) (-want +got):\n%s", tc.line, d)
		}
		// Quote round trip.
		ws2, err := Split(JoinWords(got...))
		if err != nil || len(ws2) != len(got) {
			t.Errorf("JoinWords(%q) does not split back: %v", got, err)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`a "b`, "unmatched quote"},
		{`a 'b`, "unmatched quote"},
		{`"${HOME}"`, "environment variables are not expanded"},
		{`a \x4`, "two hex digits"},
		{`a "" b`, "empty word"},
	} {
		_, err := Split(tc.line)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Split(%q) = %v, want error containing %q", tc.line, err, tc.want)
		}
	}
}

func TestRulesRoundTrip(t *testing.T) {
	acls := map[string][]string{"is_api": {"path_beg /api"}, "host_www": {"hdr_beg(host) -i www", "hdr(host) -i example.com"}}
	for _, tc := range []struct {
		set   RuleSet
		stage Stage
		line  string
	}{
		{SetHTTPRequest, StageHTTPRequestFE, `redirect scheme https code 301 if !{ ssl_fc }`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-header X-Forwarded-Proto https if { ssl_fc }`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-header X-Client %[src]:%cp`},
		{SetHTTPRequest, StageHTTPRequestFE, `add-header X-Id "%{+Q}[req.hdr(host),lower] 100%%"`},
		{SetHTTPRequest, StageHTTPRequestFE, `del-header X-Secret -m beg`},
		{SetHTTPRequest, StageHTTPRequestFE, `replace-header Cookie (.*)sess=[^;]*(.*) \1\2`},
		{SetHTTPRequest, StageHTTPRequestFE, `replace-value X-Forwarded-For ^10\. private.`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-path /v2%[path] if is_api`},
		{SetHTTPRequest, StageHTTPRequestFE, `replace-path ^/api/(.*) /\1 if is_api host_www || METH_POST`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-query %[query]&x=1`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-uri /x unless is_api`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny deny_status 429 if { req.hdr_cnt(x-bad) gt 0 }`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny status 403 content-type text/plain string "go away" hdr X-Why %[path]`},
		{SetHTTPRequest, StageHTTPRequestFE, `return status 200 content-type text/plain lf-string "ip=%[src]" if { path /ip }`},
		{SetHTTPRequest, StageHTTPRequestFE, `return status 404 errorfile 403.http`},
		{SetHTTPRequest, StageHTTPRequestFE, `return content-type text/plain file body.txt`},
		{SetHTTPRequest, StageHTTPRequestFE, `return`},
		{SetHTTPRequest, StageHTTPRequestFE, `auth realm "Admin area" unless { http_auth(admins) }`},
		{SetHTTPRequest, StageHTTPRequestFE, `auth if !{ http_auth_group(admins) ops }`},
		{SetHTTPRequest, StageHTTPRequestFE, `redirect prefix https://example.com drop-query append-slash code 308 set-cookie SEEN=1`},
		{SetHTTPRequest, StageHTTPRequestFE, `redirect location %[path,map_str(hosts.map)] ignore-empty`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-var(txn.host) req.hdr(host),lower,map_dom(hosts.map,web)`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-var-fmt(req.x) %[src]-%[dst_port]`},
		{SetHTTPRequest, StageHTTPRequestFE, `unset-var(txn.host) if { var(txn.host) -m str web }`},
		{SetHTTPRequest, StageHTTPRequestFE, `allow if { src -f bad.lst } { src 10.0.0.0/8 127.1 ::1 2001:db8::/32 }`},
		{SetHTTPRequest, StageHTTPRequestFE, `reject if { path_len gt 1000 } or { url_param(id) -m reg ^[0-9]+$ }`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-method GET if METH_HEAD`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { req.cook(sess) -m found } !{ cook_cnt(x) eq 1 }`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { hdr(x) -i -- -i }`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { path,lower -m sub admin } { dst_port 80 8000:8080 :10 }`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { nbsrv(web) lt 1 } || { srv_is_up(web/s1) }`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { req.hdr(host),map_ip(nets.map) -m str a }`},
		{SetHTTPResponse, StageHTTPResponseFE, `set-header Strict-Transport-Security "max-age=31536000"`},
		{SetHTTPResponse, StageHTTPResponseFE, `deny if { status 500 } { res.hdr(server) -m sub apache }`},
		{SetHTTPResponse, StageHTTPResponseFE, `redirect location /moved code 301 if { status 404 }`},
		{SetHTTPResponse, StageHTTPResponseBE, `set-status 503 reason "Down for maintenance" if { srv_name s1 }`},
		{SetHTTPAfterResponse, StageHTTPResponseFE, `set-header X-Served-By %[be_name]/%s`},
		{SetHTTPAfterResponse, StageHTTPResponseFE, `del-header Server`},
		{SetTCPContent, StageTCPContentFE, `content accept if { req.ssl_hello_type 1 }`},
		{SetTCPContent, StageTCPContentFE, `content reject if { req.len lt 5 }`},
		{SetTCPContent, StageTCPContentFE, `content set-var(sess.sni) req.ssl_sni,lower`},
		{SetTCPConnection, StageTCPConnection, `connection reject if !{ src 10.0.0.0/8 }`},
		{SetRedirect, StageHTTPRequestFE, `scheme https if !{ ssl_fc }`},
		{SetRedirect, StageHTTPRequestFE, `prefix / drop-query append-slash code 301 if { path_reg ^/article/[^/]*$ }`},
	} {
		parseRT(t, tc.set, tc.stage, tc.line, acls)
	}
}

func TestRuleErrorsSayWhatAndWhere(t *testing.T) {
	acls := map[string][]string{"is_api": {"path_beg /api"}}
	for _, tc := range []struct {
		set   RuleSet
		stage Stage
		line  string
		want  string
	}{
		{SetHTTPRequest, StageHTTPRequestFE, `deny if is_ap`, `unknown ACL "is_ap" (column 9)`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { hdrx(host) foo }`, `unknown fetch method "hdrx" (column 11)`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { hdr(host),lowr foo }`, `unknown converter "lowr" (column 21)`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { path -m foo x }`, `unknown matching method "foo"`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { path_reg ^(a }`, `does not compile`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { path -f missing.lst }`, `pattern file "missing.lst" is not in the config's files`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-var(txn.x) path,map(missing.map)`, `file "missing.map" is not in the config's files`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-var(txn.x) path,map_reg(badre.map)`, `map "badre.map": line 1`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-var(txn.x) path,map_str_int(badint.map)`, `not an integer`},
		{SetHTTPRequest, StageHTTPRequestFE, `frobnicate`, `unknown http-request action "frobnicate"`},
		{SetHTTPRequest, StageHTTPRequestFE, `tarpit`, `tandem does not implement the http-request action "tarpit"`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-status 200`, `action "set-status" cannot be used in http-request rules`},
		{SetHTTPResponse, StageHTTPResponseFE, `set-path /x`, `action "set-path" cannot be used in http-response rules`},
		{SetHTTPAfterResponse, StageHTTPResponseFE, `deny`, `cannot be used in http-after-response rules`},
		{SetHTTPResponse, StageHTTPResponseFE, `set-header X %[path]`, `fetch "path" cannot be used in http-response rules`},
		{SetHTTPResponse, StageHTTPResponseFE, `deny if is_api`, `fetch "path" cannot be used in http-response rules`},
		{SetTCPConnection, StageTCPConnection, `connection reject if { ssl_fc }`, `cannot be used in tcp-request connection`},
		{SetTCPContent, StageTCPContentFE, `content reject if { status 200 }`, `cannot be used in tcp-request content`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { nbsrv(nope) lt 1 }`, `backend "nope" does not exist`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { srv_is_up(web/s9) }`, `server "s9" does not exist in backend "web"`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if !{ http_auth(nobody) }`, `userlist "nobody" does not exist`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if !{ http_auth_group(admins) root }`, `group "root" does not exist`},
		{SetHTTPRequest, StageHTTPRequestFE, `redirect scheme https code 304`, `want 301, 302, 303, 307 or 308`},
		{SetHTTPRequest, StageHTTPRequestFE, `redirect code 301`, `needs location, prefix or scheme`},
		{SetHTTPResponse, StageHTTPResponseFE, `redirect scheme https`, `only supports location`},
		{SetHTTPRequest, StageHTTPRequestFE, `return status 200 string hi`, `content-type is required`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny deny_status 418`, `status 418 has no error page`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if`, `missing condition after "if"`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { path /a`, `missing closing '}'`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny when x`, `unexpected "when"`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-header X %x`, `log-format variable %x is not supported`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-header X %[path`, `missing ']'`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-header X`, `expects a header name and a value`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-var(proc.x) path`, `proc-scoped variables are not supported`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { var(txn.x) foo }`, `name a matching method with -m`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { src 10.0.0.0/33 }`, `mask`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { src www.example.com }`, `host names are not resolved`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { path -x foo }`, `"-x" is not an ACL option`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { hdr(host,1,2) x }`, `at most 2 argument(s)`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { hdr(host,x) x }`, `"x" is not an integer`},
		{SetTCPContent, StageTCPContentFE, `content reject if { req.payload(0,1),add(1) x }`, `converter "add" takes int`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { path -m ip 1.2.3.4 }`, ``},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if RDP_COOKIE`, `not supported by tandem`},
		{SetHTTPRequest, StageHTTPRequestFE, `deny if { sc_http_req_rate(0) gt 100 }`, `tandem does not implement stick tables (fetch "sc_http_req_rate")`},
		{SetHTTPRequest, StageHTTPRequestFE, `track-sc0 src`, `tandem does not implement the http-request action "track-sc0"`},
		{SetHTTPRequest, StageHTTPRequestFE, `set-header X %[date(0,ns)]`, `unit "ns": want s, ms or us`},
	} {
		_, err := ParseRule(tc.set, tc.stage, true, tc.line, acls, env)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: unexpected error %v", tc.line, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.line, err, tc.want)
		}
	}
}

func TestHTTPFetchInTCPModeIsRefused(t *testing.T) {
	_, err := ParseRule(SetTCPContent, StageTCPContentFE, false, `content reject if { path /x }`, nil, env)
	if err == nil || !strings.Contains(err.Error(), "needs mode http") {
		t.Fatalf("got %v, want a mode http error", err)
	}
}

func TestCriterionSemantics(t *testing.T) {
	for _, tc := range []struct {
		line      string
		match     Match
		icase     bool
		keyword   string
		patterns  int
		firstMin  int64
		firstMax  int64
		fileIcase []bool
	}{
		// "hdr_beg" is req.hdr with -m beg (http_acl.c).
		{line: "hdr_beg(host) -i www.", match: MatchBeg, icase: true, keyword: "hdr_beg", patterns: 1},
		// A converter after an ACL keyword drops its match (7.1).
		{line: "hdr_beg(host),lower www.", match: MatchStr, keyword: "hdr_beg", patterns: 1},
		{line: "hdr_dom(host) -m beg www.", match: MatchBeg, keyword: "hdr_dom", patterns: 1},
		{line: "dst_port lt 1024", match: MatchInt, patterns: 1, firstMin: -1 << 63, firstMax: 1023},
		{line: "dst_port gt 1024", match: MatchInt, patterns: 1, firstMin: 1025, firstMax: 1<<63 - 1},
		{line: "dst_port 1024:65535", match: MatchInt, patterns: 1, firstMin: 1024, firstMax: 65535},
		{line: "dst_port 1024-", match: MatchInt, patterns: 1, firstMin: 1024, firstMax: 1<<63 - 1},
		{line: "path_len le 10", match: MatchLen, keyword: "path_len", patterns: 1, firstMin: -1 << 63, firstMax: 10},
		{line: "ssl_fc", match: MatchBool},
		{line: "method GET HEAD", match: MatchMeth, keyword: "method", patterns: 2},
		// -i applies to files named after it only (7.1).
		{line: "hdr(user-agent) -f bad.lst -i -f bad.lst test", match: MatchStr, icase: true, keyword: "hdr", patterns: 1, fileIcase: []bool{false, true}},
	} {
		ws, err := Split(tc.line)
		if err != nil {
			t.Fatal(err)
		}
		p := &parser{env: env, stage: StageHTTPRequestFE, http: true, aclCache: map[aclKey]*ACL{}, mapsChecked: map[string]error{}}
		c, err := p.parseCriterion(ws)
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if c.Match != tc.match || c.IgnoreCase != tc.icase || c.Keyword != tc.keyword || len(c.Patterns) != tc.patterns {
			t.Errorf("%q: match %v icase %v keyword %q patterns %d, want %v %v %q %d", tc.line, c.Match, c.IgnoreCase, c.Keyword, len(c.Patterns), tc.match, tc.icase, tc.keyword, tc.patterns)
		}
		if tc.firstMax != 0 && (c.Patterns[0].Min != tc.firstMin || c.Patterns[0].Max != tc.firstMax) {
			t.Errorf("%q: range %d:%d, want %d:%d", tc.line, c.Patterns[0].Min, c.Patterns[0].Max, tc.firstMin, tc.firstMax)
		}
		var fi []bool
		for _, f := range c.Files {
			fi = append(fi, f.IgnoreCase)
		}
		if d := cmp.Diff(tc.fileIcase, fi); d != "" {
			t.Errorf("%q: file -i flags (-want +got):\n%s", tc.line, d)
		}
	}
}

func TestIPPatternsAbbreviatedLikeInetAton(t *testing.T) {
	for in, want := range map[string]string{
		"127.1":              "127.0.0.1/32",
		"10.12/8":            "10.0.0.0/8",
		"192.168.1":          "192.168.0.1/32",
		"192.168.0.1/22":     "192.168.0.0/22",
		"10.0.0.0/255.0.0.0": "10.0.0.0/8",
		"::1":                "::1/128",
		"2001:db8::/32":      "2001:db8::/32",
	} {
		p, err := ParseIPPattern(in)
		if err != nil || p.String() != want {
			t.Errorf("ParseIPPattern(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"", "1.2.3.4.5", "256.1.1.1", "1.2.3.4/255.0.255.0", "host", "::1/129"} {
		if _, err := ParseIPPattern(bad); err == nil {
			t.Errorf("ParseIPPattern(%q): want an error", bad)
		}
	}
}

func TestMapAndPatternFilesReadAsHAProxy(t *testing.T) {
	entries, err := ParseMapFile("# c\n  key1   value with  spaces  \t\nkey2\n\n #notcomment v\r\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []MapEntry{{2, "key1", "value with  spaces"}, {3, "key2", ""}, {5, "#notcomment", "v"}}
	if d := cmp.Diff(want, entries); d != "" {
		t.Errorf("map file (-want +got):\n%s", d)
	}
	lines := ParsePatternFile("#c\n  a b  \n\n\t#x\r\n")
	wantL := []FileLine{{2, "a b  "}, {4, "#x"}}
	if d := cmp.Diff(wantL, lines); d != "" {
		t.Errorf("pattern file (-want +got):\n%s", d)
	}
}

func TestCheckSectionReportsFieldPaths(t *testing.T) {
	sec := Section{
		Name: "web", HTTP: true,
		ACLs:        map[string][]string{"is_api": {"path_beg /api"}, "bad": {"nosuch 1"}},
		HTTPRequest: []string{"deny if is_api", "deny if is_ap"},
		UseBackend:  []Switch{{Target: "api", If: "is_api"}, {Target: "x"}, {Target: "%[req.hdr(host),lower,map(hosts.map,web)]"}, {Target: "web", If: "!!"}},
		TCPRequest:  []string{"inspect-delay 5s", "content accept if { req.len gt 0 }", "nonsense"},
		// req.len in a mode http proxy: refused (tcp_request[1] below).
		ErrorFiles: map[int]string{503: "missing.http", 403: "403.http"},
	}
	prog, errs := Check(sec, env)
	if prog != nil {
		t.Fatal("want no program with errors")
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`acls[bad]: unknown fetch method "nosuch" (column 1)`,
		`errorfiles[503]: file "missing.http" is not in the config's files`,
		`http_request[1]: unknown ACL "is_ap" (column 9)`,
		`tcp_request[1]: fetch "req.len" reads the raw request bytes, which a mode http proxy does not have as the client sent them (HAProxy reads its internal HTTP form there): use it in mode tcp, or the HTTP fetches (hdr, path, method, ssl_fc_sni) (column 21)`,
		`tcp_request[2]: tcp-request takes connection, session, content or inspect-delay (got "nonsense") (column 1)`,
		`use_backend[1].backend: backend "x" does not exist`,
		`use_backend[3].if: missing condition after "if"`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	sec.ACLs = map[string][]string{"is_api": {"path_beg /api"}}
	sec.HTTPRequest = sec.HTTPRequest[:1]
	sec.UseBackend = sec.UseBackend[:1:1]
	sec.UseBackend = append(sec.UseBackend, Switch{Target: "%[req.hdr(host),lower,map(hosts.map,web)]"})
	sec.TCPRequest = []string{"inspect-delay 5s", "content accept if { src 10.0.0.0/8 }"}
	sec.ErrorFiles = map[int]string{403: "403.http"}
	prog, errs = Check(sec, env)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	if prog.InspectDelay.Seconds() != 5 || len(prog.TCPContent) != 1 || prog.UseBackend[0].Name != "api" || prog.UseBackend[1].Format == nil || prog.ErrorFiles[403].Status != 403 {
		t.Errorf("program: %+v", prog)
	}
}

func TestCheckRefusesRulesInTheWrongSection(t *testing.T) {
	_, errs := Check(Section{Name: "b", Backend: true, HTTP: false,
		HTTPRequest: []string{"deny"}, TCPRequest: []string{"connection reject"},
		UseBackend: []Switch{{Target: "web"}}}, env)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		"http_request: http-request rules need mode http (HAProxy ignores them in mode tcp)",
		`tcp_request[0]: tcp-request connection belongs in a frontend (column 1)`,
		"use_backend: use_backend belongs in a backend",
	}
	_ = want
	if len(got) != 3 || !strings.Contains(got[0], "need mode http") || !strings.Contains(got[1], "belongs in a frontend") || !strings.Contains(got[2], "use_backend belongs in a frontend") {
		t.Errorf("errors: %q", got)
	}
}
