package haproxy

import (
	"errors"
	"strings"
	"testing"

	"github.com/tandem-lb/tandem/config"
)

type badCase struct {
	name string
	cfg  string
	want []string // every error, in order, as "LINE: message prefix"
}

// badCases are inputs Parse refuses, each error with its line: syntax and
// value errors of the importer, and config.Validate's errors mapped back
// to the line that produced the value.
var badCases = []badCase{
	{"directive outside any section", "maxconn 10\nglobal\n", []string{"1: 'maxconn' is outside any section"}},
	{"unknown section keyword", "frontnd web\n  bind :80\n  whatever\n", []string{"1: unknown section keyword 'frontnd' (did you mean 'frontend'?)"}},
	{"unknown section keyword inside a section", "backend a\n  server s 10.0.0.1:80\nbakend b\n",
		[]string{"3: unknown section keyword 'bakend' (did you mean 'backend'?)"}},
	{"section without a name", "frontend\n  bind :80\n", []string{"1: 'frontend' needs a name"}},
	{"backend with an address", "backend b 10.0.0.1:80\n", []string{"1: 'backend' takes only a name"}},
	{"unknown keyword", backendCfg("frobnicate 3"), []string{"2: unknown keyword 'frobnicate': HAProxy 2.6 has no such keyword"}},
	{"unknown option", backendCfg("option nosuch"), []string{"2: unknown 'option nosuch'"}},
	{"option without name", backendCfg("option"), []string{"2: 'option' wants a name after it"}},
	{"unknown global keyword", "global\n  frobnicate\n", []string{"2: unknown global keyword 'frobnicate'"}},
	{"server without address", backendCfg("server s1"), []string{"2: 'server' wants a name and an address"}},
	{"server without port", backendCfg("server s1 10.0.0.1"), []string{`2: server 's1': address "10.0.0.1" has no port`}},
	{"server port out of range", backendCfg("server s1 10.0.0.1:99999"), []string{`2: server 's1': address "10.0.0.1:99999": port "99999": want 1-65535`}},
	{"server port range", backendCfg("server s1 10.0.0.1:80-90"), []string{`2: server 's1': address "10.0.0.1:80-90": port ranges are not supported`}},
	{"server without host", backendCfg("server s1 *:80"), []string{`2: server 's1': address "*:80" has no host`}},
	{"server unix socket", backendCfg("server s1 unix@/run/app.sock"), []string{`2: server 's1': address "unix@/run/app.sock": only TCP host:port addresses are supported`}},
	{"server bad IPv6", backendCfg("server s1 fe80::zz:80"), []string{`2: server 's1': address "fe80::zz:80": want host:port`}},
	{"unknown server option", backendCfg("server s1 10.0.0.1:80 chek"), []string{"2: unknown server option 'chek'"}},
	{"weight not a number", backendCfg("server s1 10.0.0.1:80 weight abc"), []string{`2: 'weight' wants a whole number, got "abc"`}},
	{"weight out of range", backendCfg("server s1 10.0.0.1:80 weight 300"), []string{"2: 'weight' wants a number from 0 to 256, got 300"}},
	{"rise 0", backendCfg("server s1 10.0.0.1:80 check rise 0"), []string{"2: 'rise' wants a number from 1"}},
	{"inter 0", backendCfg("server s1 10.0.0.1:80 check inter 0"), []string{"2: 'inter' must be greater than 0"}},
	{"inter bad unit", backendCfg("server s1 10.0.0.1:80 check inter 2x"), []string{`2: 'inter': invalid duration "2x"`}},
	{"option without value", backendCfg("server s1 10.0.0.1:80 check fall"), []string{"2: server option 'fall' wants a value"}},
	{"unknown option without value", backendCfg("server s1 10.0.0.1:80 check maxqueue"), []string{"2: server option 'maxqueue' wants a value"}},
	{"duplicate server", backendCfg("server s1 10.0.0.1:80", "server s1 10.0.0.2:80"), []string{"3: duplicate server name 's1' in backend 'b' (first at line 2)"}},
	{"global maxconn not a number", "global\n  maxconn lots\n", []string{`2: 'maxconn' wants a whole number, got "lots"`}},
	{"maxconn two values", "frontend f\n  bind :80\n  maxconn 1 2\n", []string{"3: 'maxconn' wants one value (got 2)"}},
	{"retries negative", backendCfg("retries -1"), []string{"2: 'retries' wants a number from 0"}},
	{"unknown balance", backendCfg("balance fastest"), []string{"2: unknown balance algorithm 'fastest'"}},
	{"balance without algorithm", backendCfg("balance"), []string{"2: 'balance' wants an algorithm"}},
	{"unknown mode", "defaults\n  mode health2\n", []string{"2: unknown mode 'health2' (HAProxy 2.6 proxies take http or tcp)"}},
	{"timeout without value", "defaults\n  timeout connect\n", []string{"2: 'timeout connect' wants one value"}},
	{"unknown timeout", "defaults\n  timeout forever 5s\n", []string{"2: unknown 'timeout forever'"}},
	{"timeout bad value", "defaults\n  timeout server 5 minutes\n  timeout client 5x\n",
		[]string{"2: 'timeout server' wants one value", `3: 'timeout client': invalid duration "5x"`}},
	{"removed keyword", listenCfg("reqadd X-A:\\ 1", "srvtimeout 5s", "option http-tunnel"),
		[]string{"3: 'reqadd' is refused by HAProxy 2.6: removed in HAProxy 2.1: write 'http-request add-header'",
			"4: 'srvtimeout' is refused by HAProxy 2.6", "5: 'option http-tunnel' is refused by HAProxy 2.6"}},
	{"option httpchk too many arguments", backendCfg("option httpchk GET / HTTP/1.1 extra"), []string{"2: 'option httpchk' wants at most a method, a uri and a version"}},
	{"http-check expect bad status", backendCfg("option httpchk", "http-check expect status abc"), []string{"3: 'http-check expect status abc': want HTTP status codes 100-599"}},
	{"http-check expect nothing", backendCfg("option httpchk", "http-check expect"), []string{"3: 'http-check expect' wants a match"}},
	{"http-check send without value", backendCfg("option httpchk", "http-check send meth"), []string{"3: 'http-check send meth' wants 1 value(s)"}},
	{"http-check send unknown", backendCfg("option httpchk", "http-check send path /x"), []string{"3: unknown 'http-check send' argument 'path'"}},
	{"unterminated quote", backendCfg(`option httpchk GET "/x`), []string{`2: unterminated " quote`}},
	{"bad hex escape", backendCfg(`option httpchk GET /\xZZ`), []string{`2: invalid \x escape "\\xZZ"`}},
	{"bad variable name", backendCfg(`server s "${1}:80"`), []string{"2: forbidden first char in environment variable name"}},
	{"duplicate backend", "listen a\n  bind :80\nbackend a\n", []string{"3: duplicate backend name 'a' (first at line 1)"}},
	{"duplicate frontend", "frontend a\n  bind :80\nfrontend a\n  bind :81\n", []string{"3: duplicate frontend name 'a' (first at line 1)"}},
	{"bind without port", "frontend f\n  bind 10.0.0.1\n", []string{`2: bind: address "10.0.0.1" has no port`}},
	{"bind on QUIC", "frontend f\n  bind quic4@:443\n", []string{"2: bind: address quic4@:443: tandem listens on TCP only"}},
	{"bind ssl without crt", "frontend f\n  bind :443 ssl\n", []string{"2: bind: 'ssl' wants 'crt <pem file or directory>'"}},
	{"crt directory without file access", "frontend f\n  bind :443 ssl crt /etc/ssl/sites/\n", []string{"2: bind: crt directory /etc/ssl/sites/: cannot list it"}},
	{"no on a keyword that has no negation", backendCfg("no balance roundrobin"), []string{"2: 'no' does not apply to 'balance'"}},
	{"server in a frontend", "frontend f\n  bind :80\n  server s 10.0.0.1:80\n", []string{"3: 'server' is not allowed: frontend 'f' has no backend side"}},
	{"every error is reported",
		"global\n  maxconn x\nbackend b\n  server s\n  balance nope\n  timeout server 5q\n",
		[]string{"2: 'maxconn' wants a whole number", "4: 'server' wants", "5: unknown balance", "6: 'timeout server'"}},

	// config.Validate's errors, at the line of what they are about.
	{"nothing to serve", "global\n  maxconn 10\n\n", []string{"4: frontends: at least one frontend is required", "4: backends: at least one backend is required"}},
	{"frontend without default_backend", "frontend f\n  bind :80\n  timeout client 1s\nbackend b\n  server s 10.0.0.1:80\n",
		[]string{"1: frontends[f].default_backend: required"}},
	{"address bound twice", timeoutsHTTP + "frontend f\n  bind :80\n  default_backend b\nfrontend g\n  bind 127.0.0.1:9000\n  bind *:80\n  default_backend b\nbackend b\n  server s 10.0.0.1:80\n",
		[]string{"11: frontends[g].bind[1]: address *:80 is already bound by frontend \"f\""}},
	{"frontend and backend modes differ", "defaults\n  timeout client 1s\n  timeout connect 1s\n  timeout server 1s\nfrontend f\n  bind :80\n  default_backend b\nbackend b\n  mode http\n  server s 10.0.0.1:80\n",
		[]string{"7: frontends[f].default_backend: frontend mode tcp cannot use backend \"b\" in mode http"}},
	{"check path", timeoutsHTTP + "frontend f\n  bind :80\n  default_backend b\nbackend b\n  option httpchk GET health\n  server s 10.0.0.1:80 check\n",
		[]string{`10: backends[b].health_check.path: want a path starting with / and without spaces (got "health")`}},
	{"check path inherited from a defaults section", timeoutsHTTP + "  option httpchk GET health\nfrontend f\n  bind :80\n  default_backend b\nbackend b\n  server s 10.0.0.1:80 check\n",
		[]string{`6: backends[b].health_check.path: want a path starting with / and without spaces (got "health")`}},
	{"section name tandem does not take", timeoutsHTTP + "frontend f:web\n  bind :80\n  default_backend b:x\nbackend b:x\n  server s 10.0.0.1:80\n",
		[]string{`6: frontends[0].name: "f:web": use letters, digits`, `9: backends[0].name: "b:x": use letters, digits`}},
}

func TestParseBadInput(t *testing.T) {
	for _, tc := range badCases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := Parse("t.cfg", []byte(tc.cfg), Options{})
			if err == nil {
				t.Fatalf("Parse:\n%s\nno error, want %q", tc.cfg, tc.want)
			}
			if c != nil {
				t.Errorf("Parse returned a cluster with an error")
			}
			var es config.Errors
			if !errors.As(err, &es) {
				t.Fatalf("err is %T, want config.Errors: %v", err, err)
			}
			for _, e := range es {
				if e.File != "t.cfg" || e.Line <= 0 {
					t.Errorf("error without file:line: %#v", e)
				}
			}
			checkPrefixes(t, "errors", errStrings(es), tc.want, false)
		})
	}
}

// A validation error from the lines an error is about reads like any other
// error of the cfg: file:line, then the config path.
func TestValidationErrorReadsWithTheCfgLine(t *testing.T) {
	_, _, err := Parse("/etc/haproxy/haproxy.cfg", []byte(timeoutsHTTP+"frontend f\n  bind :80\n  default_backend b\nbackend b\n  option httpchk GET health\n"), Options{})
	want := `/etc/haproxy/haproxy.cfg:10: backends[b].health_check.path: want a path starting with / and without spaces (got "health")`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestParentPath(t *testing.T) {
	for in, want := range map[string]string{
		"frontends[web].http_request[3]":   "frontends[web].http_request",
		"frontends[web].http_request":      "frontends[web]",
		"frontends[web]":                   "frontends",
		"frontends":                        "",
		"backends[b].servers[s1].address":  "backends[b].servers[s1]",
		"frontends[web].acls.is_api":       "frontends[web].acls",
		"files[/etc/haproxy/a.map]":        "files",
		"backends[b].health_check.path":    "backends[b].health_check",
		"frontends[web].errorfiles[503]":   "frontends[web].errorfiles",
		"userlists[ops].users[alice].name": "userlists[ops].users[alice]",
	} {
		if got := parentPath(in); got != want {
			t.Errorf("parentPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMapsRuleErrorsToLines: each value of the result knows the line it
// came from, so that config.Validate's error on any path (the rule
// checker's included) reads as file:line. The paths are those
// config.Validate and config/rules write.
func TestMapsRuleErrorsToLines(t *testing.T) {
	cfg := timeoutsHTTP + // lines 1-5
		"userlist ops\n" + // 6
		" user bob insecure-password x\n" + // 7
		"frontend web\n" + // 8
		" bind :80\n" + // 9
		" bind :443 ssl crt /a.pem alpn h2,http/1.1\n" + // 10
		" acl is_api path_beg /api\n" + // 11
		" acl is_api path_beg /v1\n" + // 12
		" http-request set-header X-A 1\n" + // 13
		" http-request deny if is_api\n" + // 14
		" use_backend app if is_api\n" + // 15
		" default_backend app\n" + // 16
		"backend app\n" + // 17
		" use-server s2 if { path /s2 }\n" + // 18
		" server s1 10.0.0.1:80\n" + // 19
		" server s2 10.0.0.2:80\n" // 20
	p := newParser("haproxy.cfg", Options{})
	p.translate([]byte(cfg))
	if _, errs := p.results(); len(errs) > 0 {
		t.Fatal(errs)
	}
	for path, want := range map[string]int{
		"frontends[web].http_request[1]":         14,
		"frontends[web].http_request[0]":         13,
		"frontends[web-tls].http_request[1]":     14,
		"frontends[web].acls[is_api]":            11,
		"frontends[web].acls[is_api][1]":         12,
		"frontends[web].acls.is_api":             11,
		"frontends[web].use_backend[0].if":       15,
		"frontends[web].use_backend[0].backend":  15,
		"frontends[web].default_backend":         16,
		"frontends[web].bind[0]":                 9,
		"frontends[web-tls].bind[0]":             10,
		"frontends[web-tls].tls":                 10,
		"frontends[1].http_request[0]":           13,
		"backends[app].use_server[0].if":         18,
		"backends[app].servers[s2].address":      20,
		"backends[app].servers[1]":               20,
		"backends[app].retry_idempotent":         17,
		"defaults.timeouts.client":               3,
		"defaults.mode":                          2,
		"userlists[ops].users[bob].password":     7,
		"userlists[ops].groups[0].users":         6,
		"frontends[web].no_such_field[3].deeper": 8,
		"nothing.here":                           1,
	} {
		if got := p.lineOf(path); got != want {
			t.Errorf("lineOf(%s) = %d, want %d", path, got, want)
		}
	}
	es := p.mapErrors(config.Errors{{Path: "frontends[web].http_request[1]", Msg: `unknown ACL "is_ap"`}})
	if got := es.Error(); got != `haproxy.cfg:14: frontends[web].http_request[1]: unknown ACL "is_ap"` {
		t.Errorf("mapped error = %s", got)
	}
}
