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
	want []string // every error, in order, as "t.cfg:LINE: message substring"
}

var badCases = []badCase{
	{"directive outside any section", "maxconn 10\nglobal\n",
		[]string{"t.cfg:1: 'maxconn' is outside any section"}},
	{"unknown section keyword", "frontnd web\n  bind :80\n  whatever\n",
		[]string{"t.cfg:1: unknown section keyword 'frontnd' (did you mean 'frontend'?)"}},
	{"unknown section keyword inside a section", "backend a\n  server s 10.0.0.1:80\nbakend b\n",
		[]string{"t.cfg:3: unknown section keyword 'bakend' (did you mean 'backend'?)"}},
	{"section without a name", "frontend\n  bind :80\n",
		[]string{"t.cfg:1: 'frontend' needs a name"}},
	{"backend with an address", "backend b 10.0.0.1:80\n",
		[]string{"t.cfg:1: 'backend' takes only a name"}},
	{"server without address", backendCfg("server s1"),
		[]string{"t.cfg:2: 'server' wants a name and an address"}},
	{"server without port", backendCfg("server s1 10.0.0.1"),
		[]string{`t.cfg:2: server 's1': address "10.0.0.1" has no port`}},
	{"server port out of range", backendCfg("server s1 10.0.0.1:99999"),
		[]string{`t.cfg:2: server 's1': address "10.0.0.1:99999": port "99999": want 1-65535`}},
	{"server port range", backendCfg("server s1 10.0.0.1:80-90"),
		[]string{"t.cfg:2: server 's1': address \"10.0.0.1:80-90\": port ranges are not supported"}},
	{"server without host", backendCfg("server s1 *:80"),
		[]string{`t.cfg:2: server 's1': address "*:80" has no host`}},
	{"server unix socket", backendCfg("server s1 unix@/run/app.sock"),
		[]string{"t.cfg:2: server 's1': address \"unix@/run/app.sock\": only TCP host:port addresses are supported"}},
	{"server bad IPv6", backendCfg("server s1 fe80::zz:80"),
		[]string{`t.cfg:2: server 's1': address "fe80::zz:80": want host:port`}},
	{"weight not a number", backendCfg("server s1 10.0.0.1:80 weight abc"),
		[]string{`t.cfg:2: 'weight' wants a whole number, got "abc"`}},
	{"weight out of range", backendCfg("server s1 10.0.0.1:80 weight 300"),
		[]string{"t.cfg:2: 'weight' wants a number from 0 to 256, got 300"}},
	{"rise 0", backendCfg("server s1 10.0.0.1:80 check rise 0"),
		[]string{"t.cfg:2: 'rise' wants a number from 1"}},
	{"inter 0", backendCfg("server s1 10.0.0.1:80 check inter 0"),
		[]string{"t.cfg:2: 'inter' must be greater than 0"}},
	{"inter bad unit", backendCfg("server s1 10.0.0.1:80 check inter 2x"),
		[]string{`t.cfg:2: 'inter': invalid duration "2x"`}},
	{"option without value", backendCfg("server s1 10.0.0.1:80 check fall"),
		[]string{"t.cfg:2: server option 'fall' wants a value"}},
	{"duplicate server", backendCfg("server s1 10.0.0.1:80", "server s1 10.0.0.2:80"),
		[]string{"t.cfg:3: duplicate server name 's1' in backend 'b'"}},
	{"global maxconn not a number", "global\n  maxconn lots\n",
		[]string{`t.cfg:2: 'maxconn' wants a whole number, got "lots"`}},
	{"maxconn two values", "frontend f\n  bind :80\n  maxconn 1 2\n",
		[]string{"t.cfg:3: 'maxconn' wants one value (got 2)"}},
	{"retries negative", backendCfg("retries -1"),
		[]string{"t.cfg:2: 'retries' wants a number from 0"}},
	{"unknown balance", backendCfg("balance fastest"),
		[]string{"t.cfg:2: unknown balance algorithm 'fastest' (tandem supports roundrobin, static-rr, leastconn, source, uri, random, first)"}},
	{"balance tandem does not support", backendCfg("balance url_param userid"),
		[]string{"t.cfg:2: unknown balance algorithm 'url_param'"}},
	{"balance without algorithm", backendCfg("balance"),
		[]string{"t.cfg:2: 'balance' wants an algorithm"}},
	{"unknown mode", "defaults\n  mode health\n",
		[]string{"t.cfg:2: unknown mode 'health' (tandem supports http and tcp)"}},
	{"timeout without value", "defaults\n  timeout connect\n",
		[]string{"t.cfg:2: 'timeout connect' wants one value"}},
	{"unknown timeout", "defaults\n  timeout forever 5s\n",
		[]string{"t.cfg:2: unknown timeout 'forever'"}},
	{"timeout bad value", "defaults\n  timeout server 5 minutes\n  timeout client 5x\n",
		[]string{"t.cfg:2: 'timeout server' wants one value", `t.cfg:3: 'timeout client': invalid duration "5x"`}},
	{"option without name", "defaults\n  option\n",
		[]string{"t.cfg:2: 'option' wants a name"}},
	{"option httpchk too many arguments", backendCfg("option httpchk GET / HTTP/1.1 extra"),
		[]string{"t.cfg:2: 'option httpchk' wants at most a method, a uri and a version"}},
	{"http-check expect bad status", backendCfg("option httpchk", "http-check expect status abc"),
		[]string{"t.cfg:3: 'http-check expect status abc': want HTTP status codes 100-599"}},
	{"http-check expect nothing", backendCfg("option httpchk", "http-check expect"),
		[]string{"t.cfg:3: 'http-check expect' wants a match"}},
	{"http-check send without value", backendCfg("option httpchk", "http-check send meth"),
		[]string{"t.cfg:3: 'http-check send meth' wants 1 value(s)"}},
	{"http-check send unknown", backendCfg("option httpchk", "http-check send path /x"),
		[]string{"t.cfg:3: unknown 'http-check send' argument 'path'"}},
	{"unterminated quote", backendCfg(`option httpchk GET "/x`),
		[]string{`t.cfg:2: unterminated " quote`}},
	{"bad hex escape", backendCfg(`option httpchk GET /\xZZ`),
		[]string{`t.cfg:2: invalid \x escape "\\xZZ"`}},
	{"duplicate backend", "listen a\n  bind :80\nbackend a\n",
		[]string{"t.cfg:3: duplicate backend name 'a' (first at line 1)"}},
	{"duplicate frontend", "frontend a\n  bind :80\nfrontend a\n  bind :81\n",
		[]string{"t.cfg:3: duplicate frontend name 'a' (first at line 1)"}},
	{"default_backend to nowhere", "frontend f\n  bind :80\n  default_backend nope\n",
		[]string{"t.cfg:3: default_backend 'nope' (used by frontend 'f'): no backend or listen section has that name"}},
	{"server in defaults", "defaults\n  server s 10.0.0.1:80\n",
		[]string{"t.cfg:2: 'server' is not allowed in a defaults section"}},
	{"bind in defaults", "defaults\n  bind :80\n",
		[]string{"t.cfg:2: 'bind' is not allowed in a defaults section"}},
	{"bind without port", "frontend f\n  bind 10.0.0.1\n",
		[]string{`t.cfg:2: bind: address "10.0.0.1" has no port`}},
	{"bind ssl without crt", "frontend f\n  bind :443 ssl\n",
		[]string{"t.cfg:2: bind: 'ssl' wants 'crt <pem file>'"}},
	{"ssl and plain binds", "frontend f\n  bind :80\n  bind :443 ssl crt /x.pem\n",
		[]string{"t.cfg:3: frontend 'f' mixes 'ssl' and plain binds (line 2)"}},
	{"no on a keyword that has no negation", backendCfg("no balance roundrobin"),
		[]string{"t.cfg:2: 'no' does not apply to 'balance'"}},
	{"every error is reported",
		"global\n  maxconn x\nbackend b\n  server s\n  balance nope\n  timeout server 5q\n",
		[]string{"t.cfg:2: 'maxconn' wants a whole number", "t.cfg:4: 'server' wants", "t.cfg:5: unknown balance", "t.cfg:6: 'timeout server'"}},
}

func TestParseBadInput(t *testing.T) {
	for _, tc := range badCases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := Parse("t.cfg", []byte(tc.cfg))
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
			ok := len(es) == len(tc.want)
			for i := 0; ok && i < len(es); i++ {
				ok = strings.Contains(es[i].Error(), tc.want[i]) && es[i].File == "t.cfg" && es[i].Line > 0
			}
			if !ok {
				t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(errStrings(es), "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func errStrings(es config.Errors) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}
