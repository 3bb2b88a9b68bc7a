package haproxy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-lb/tandem/config"
)

type rulesCase struct {
	name  string
	cfg   string
	opts  *Options
	got   func(*config.Cluster) any
	want  any
	warns []string
	errs  []string
}

const timeoutsHTTP = "defaults\n mode http\n timeout client 1s\n timeout connect 1s\n timeout server 1s\n"

// feCfg is a frontend f whose lines start at line 8, routing to backend b.
func feCfg(lines ...string) string {
	cfg := timeoutsHTTP + "frontend f\n bind :80\n"
	for _, l := range lines {
		cfg += " " + l + "\n"
	}
	return cfg + " default_backend b\nbackend b\n server s 10.0.0.1:80\n"
}

func feRules(c *config.Cluster) any { return fe0(c).Rules }

var rulesCases = []rulesCase{
	{name: "acl lines with the same name are OR-ed in order",
		cfg: feCfg("acl static path_beg /static/ /img/", "acl static path_end .css .js", "http-request set-header X-Static 1 if static"),
		got: feRules, want: config.Rules{ACLs: map[string]config.StringList{"static": {"path_beg /static/ /img/", "path_end .css .js"}},
			HTTPRequest: []string{"set-header X-Static 1 if static"}}},
	{name: "rules keep HAProxy's words, quoted where needed",
		cfg: feCfg(`http-request set-header X-Msg "hello world"`, `http-request replace-path '^/api/(.*)' '/\1'`,
			`http-response set-header Content-Security-Policy "default-src 'self'"`, `http-after-response set-header X-Served-By "%[env(HOSTNAME)]"`,
			`http-request redirect scheme https code 301 if !{ ssl_fc }`),
		got: feRules, want: config.Rules{
			HTTPRequest:       []string{"set-header X-Msg 'hello world'", `replace-path ^/api/(.*) '/\1'`, "redirect scheme https code 301 if !{ ssl_fc }"},
			HTTPResponse:      []string{`set-header Content-Security-Policy "default-src 'self'"`},
			HTTPAfterResponse: []string{"set-header X-Served-By %[env(HOSTNAME)]"}}},
	{name: "legacy redirect: a list of its own, run after the http-request rules, its target literal",
		cfg: feCfg("redirect location /100%25 if { path /old }", "http-request set-header X-A 1", "redirect scheme https code 302 if !{ ssl_fc }"),
		got: feRules, want: config.Rules{HTTPRequest: []string{"set-header X-A 1"},
			Redirect: []string{"location /100%25 if { path /old }", "scheme https code 302 if !{ ssl_fc }"}}},
	{name: "legacy redirect after http-request allow",
		cfg: feCfg("http-request allow if { src 10.0.0.0/8 }", "redirect scheme https"),
		got: feRules, want: config.Rules{HTTPRequest: []string{"allow if { src 10.0.0.0/8 }"}, Redirect: []string{"scheme https"}}},
	{name: "tcp-request rules",
		cfg: "defaults\n timeout client 1s\n timeout connect 1s\n timeout server 1s\nfrontend f\n bind :443\n tcp-request inspect-delay 5s\n" +
			" tcp-request content accept if { req_ssl_hello_type 1 }\n use_backend b if { req_ssl_sni -i a.example.com }\n default_backend b\nbackend b\n server s 10.0.0.1:443\n",
		got: func(c *config.Cluster) any { return []any{fe0(c).TCPRequest, fe0(c).UseBackend} },
		want: []any{[]string{"inspect-delay 5s", "content accept if { req_ssl_hello_type 1 }"},
			[]config.UseBackend{{Backend: "b", If: "{ req_ssl_sni -i a.example.com }"}}}},
	{name: "http rules in mode tcp are ignored, as HAProxy does",
		cfg: "defaults\n timeout client 1s\n timeout connect 1s\n timeout server 1s\nlisten l\n bind :3306\n http-request deny\n server s 10.0.0.1:3306\n",
		got: feRules, want: config.Rules{},
		warns: []string{"7: 'http-request' ignored: listen 'l' is in mode tcp"}},
	{name: "a listen's rules stay on its frontend",
		cfg: timeoutsHTTP + "listen l\n bind :80\n acl a path /a\n http-request deny if a\n use-server s if a\n server s 10.0.0.1:80\n",
		got: func(c *config.Cluster) any {
			return []any{fe0(c).Rules, be0(c).ACLs, be0(c).HTTPRequest, be0(c).UseServer}
		},
		want: []any{config.Rules{ACLs: map[string]config.StringList{"a": {"path /a"}}, HTTPRequest: []string{"deny if a"}},
			map[string]config.StringList{"a": {"path /a"}}, []string(nil), []config.UseServer{{Server: "s", If: "a"}}}},
	{name: "a listen other frontends route to runs its rules as backend rules",
		cfg: timeoutsHTTP + "listen l\n bind :8080\n tcp-request connection reject if { src 192.0.2.1 }\n http-request set-header X-L 1\n server s 10.0.0.1:80\n" +
			"frontend f\n bind :80\n default_backend l\n",
		got: func(c *config.Cluster) any {
			return []any{c.Frontends[0].TCPRequest, c.Frontends[0].HTTPRequest, c.Backends[0].HTTPRequest, c.Backends[0].TCPRequest}
		},
		want: []any{[]string{"connection reject if { src 192.0.2.1 }"}, []string(nil), []string{"set-header X-L 1"}, []string(nil)}},
	{name: "a listen that routes elsewhere and is routed to",
		cfg: timeoutsHTTP + "listen l\n bind :8080\n http-request set-header X-L 1\n use_backend b if { path /b }\n server s 10.0.0.1:80\n" +
			"frontend f\n bind :80\n default_backend l\nbackend b\n server s 10.0.0.2:80\n",
		errs: []string{"6: listen 'l' routes with use_backend or default_backend and other frontends route to it"}},
	{name: "dynamic use_backend reads its map",
		cfg:  feCfg("use_backend %[req.hdr(host),lower,map(/etc/haproxy/hosts.map,b)]"),
		opts: ptr(fileOpts()),
		got:  func(c *config.Cluster) any { return []any{fe0(c).UseBackend, c.Files} },
		want: []any{[]config.UseBackend{{Backend: "%[req.hdr(host),lower,map(/etc/haproxy/hosts.map,b)]"}},
			map[string]string{"/etc/haproxy/hosts.map": "a.example.com be_a\n"}}},
	{name: "pattern files, map converters, relative paths and response files",
		cfg: feCfg("acl bad src -f bad.lst", "http-request deny if bad", "http-request set-var(txn.be) req.hdr(host),map_str(/etc/haproxy/hosts.map)",
			"http-request return status 503 content-type text/html file /etc/haproxy/503.http if { path /down }"),
		opts: ptr(fileOpts()),
		got:  func(c *config.Cluster) any { return c.Files },
		want: map[string]string{"bad.lst": "192.0.2.0/24\n", "/etc/haproxy/hosts.map": "a.example.com be_a\n",
			"/etc/haproxy/503.http": "HTTP/1.0 503 Service Unavailable\r\n\r\nsorry\n"}},
	{name: "a missing file", cfg: feCfg("acl bad src -f /etc/haproxy/nope.lst", "http-request deny if bad"), opts: ptr(fileOpts()),
		errs: []string{"8: pattern file '/etc/haproxy/nope.lst': cannot read it (open etc/haproxy/nope.lst: file does not exist)"}},
	{name: "no file access", cfg: feCfg("use_backend %[req.hdr(host),map(/etc/haproxy/hosts.map)]"),
		errs: []string{"8: map file '/etc/haproxy/hosts.map': cannot read it (no file access was given to the importer)"}},
	{name: "errorfile", cfg: feCfg("errorfile 503 /etc/haproxy/503.http"), opts: ptr(fileOpts()),
		got:  func(c *config.Cluster) any { return []any{fe0(c).ErrorFiles, be0(c).ErrorFiles, len(c.Files)} },
		want: []any{map[int]string{503: "/etc/haproxy/503.http"}, map[int]string(nil), 1}},
	{name: "errorfile of a status HAProxy does not generate", cfg: feCfg("errorfile 418 /etc/haproxy/503.http"),
		errs: []string{"8: 'errorfile 418': HAProxy generates only statuses 200, 400, 401"}},
	{name: "errorfiles from an http-errors section below",
		cfg:  timeoutsHTTP + "frontend f\n bind :80\n errorfiles site 503\n default_backend b\nbackend b\n server s 10.0.0.1:80\nhttp-errors site\n errorfile 503 /etc/haproxy/503.http\n errorfile 504 /etc/haproxy/503.http\n",
		opts: ptr(fileOpts()),
		got:  func(c *config.Cluster) any { return []any{fe0(c).ErrorFiles, len(c.Files)} },
		want: []any{map[int]string{503: "/etc/haproxy/503.http"}, 1}},
	{name: "http-error, and the later of errorfile and http-error for a status wins",
		cfg: feCfg("errorfile 503 /etc/haproxy/503.http", "http-error status 503 content-type text/html file /etc/haproxy/503.http",
			"http-error status 403 string no hdr X-A b", "errorfile 403 /etc/haproxy/503.http"),
		opts: ptr(fileOpts()),
		got:  func(c *config.Cluster) any { return []any{fe0(c).ErrorFiles, fe0(c).HTTPErrors, len(c.Files)} },
		want: []any{map[int]string{403: "/etc/haproxy/503.http"}, []string{"status 503 content-type text/html file /etc/haproxy/503.http"}, 1}},
	{name: "http-error of a status HAProxy does not generate", cfg: feCfg("http-error status 418 string x"),
		errs: []string{"8: 'http-error 418': HAProxy generates only statuses 200, 400, 401"}},
	{name: "http-error without status", cfg: feCfg("http-error 503 string x"),
		errs: []string{"8: 'http-error' wants 'status' and a status first"}},
	{name: "http-error with a missing file", cfg: feCfg("http-error status 503 file /etc/haproxy/nope.html"), opts: ptr(fileOpts()),
		errs: []string{"8: response file '/etc/haproxy/nope.html': cannot read it"}},
	{name: "errorfiles of an unknown section", cfg: feCfg("errorfiles nope"), errs: []string{"8: 'errorfiles nope': no http-errors section has that name"}},
	{name: "userlist",
		cfg: "userlist ops\n group admins users alice,bob\n user alice password $6$salt$hash groups admins\n user bob insecure-password pw\n" +
			feCfg("http-request auth realm Ops unless { http_auth(ops) }"),
		got: func(c *config.Cluster) any { return c.Userlists },
		want: []config.Userlist{{Name: "ops", Groups: []config.Group{{Name: "admins", Users: []string{"alice", "bob"}}},
			Users: []config.User{{Name: "alice", Password: "$6$salt$hash", Groups: []string{"admins"}}, {Name: "bob", InsecurePassword: "pw"}}}}},
	{name: "userlist errors", cfg: "userlist\nuserlist a\n user x secret y\n member z\nuserlist a\n",
		errs: []string{"1: 'userlist' wants one name", "3: unknown user option 'secret'", "4: a userlist holds 'user NAME ...' and 'group NAME ...' lines", "5: duplicate userlist 'a' (first at line 2)"}},
	{name: "predefined ACLs need no definition", cfg: feCfg("http-request deny if METH_POST !LOCALHOST", "http-request allow if TRUE"),
		got: func(c *config.Cluster) any { return fe0(c).HTTPRequest }, want: []string{"deny if METH_POST !LOCALHOST", "allow if TRUE"}},
	{name: "ACL used above its definition", cfg: feCfg("http-request deny if later", "acl later path /x"),
		errs: []string{"8: ACL 'later' is used above its definition at line 9"}},
	{name: "ACL never defined", cfg: feCfg("acl is_api path_beg /api", "use_backend b if is_ap || { path / }", "http-request deny unless !is_api or nope"),
		errs: []string{"9: no ACL named 'is_ap' in frontend 'f'", "10: no ACL named 'nope' in frontend 'f'"}},
	{name: "use_backend to no backend", cfg: feCfg("use_backend nope if { path /x }"),
		errs: []string{"8: use_backend 'nope' (in frontend 'f'): no backend or listen section has that name"}},
	{name: "default_backend to no backend", cfg: timeoutsHTTP + "frontend f\n bind :80\n default_backend nope\n",
		errs: []string{"8: default_backend 'nope' (in frontend 'f'): no backend or listen section has that name"}},
	{name: "use-server to no server", cfg: timeoutsHTTP + "backend b\n use-server x if { path /x }\n server s 10.0.0.1:80\n",
		errs: []string{"7: use-server 'x': backend 'b' has no server of that name"}},
	{name: "use_backend without a condition after if", cfg: feCfg("use_backend b if"),
		errs: []string{"8: 'use_backend b if' wants a condition after 'if'"}},
	{name: "rules without an action", cfg: feCfg("http-request", "tcp-request content", "acl x"),
		errs: []string{"8: 'http-request' wants an action", "9: 'tcp-request content' wants an action", "10: 'acl' wants a name and a criterion"}},
	{name: "a stats-only listen is left out",
		cfg: timeoutsHTTP + "listen stats\n bind :8404\n stats enable\n stats uri /\n stats auth admin:x\n stats admin if TRUE\n option nosuchthing\n" + "frontend f\n bind :80\n default_backend b\nbackend b\n server s 10.0.0.1:80\n",
		got: func(c *config.Cluster) any { return []int{len(c.Frontends), len(c.Backends)} }, want: []int{1, 1},
		warns: []string{"6: listen 'stats' only serves HAProxy's stats page: left out; tandem's dashboard is at http://NODE:8404/", "9: 'stats uri /': tandem's admin API (api_addr in the node settings) serves the stats page at /"}},
	{name: "a stats-only frontend and the Prometheus exporter are left out",
		cfg: timeoutsHTTP + "frontend stats\n bind :8404\n stats uri /stats\nfrontend prom\n bind :8405\n http-request use-service prometheus-exporter if { path /metrics }\n" + "frontend f\n bind :80\n default_backend b\nbackend b\n server s 10.0.0.1:80\n",
		got: func(c *config.Cluster) any { return fe0(c).Name }, want: "f",
		warns: []string{"6: frontend 'stats' only serves HAProxy's stats page", "8: 'stats uri /stats': tandem's admin API", "9: frontend 'prom' only serves HAProxy's Prometheus exporter"}},
	{name: "stats in a section that routes traffic", cfg: feCfg("stats enable", "stats uri /haproxy?stats"),
		errs: []string{"8: 'stats': HAProxy serves its stats page from frontend 'f', which also routes traffic", "9: 'stats': HAProxy serves its stats page"}},
	{name: "use_backend to a stats backend", cfg: feCfg("use_backend st if { path_beg /stats }") + "backend st\n stats enable\n",
		warns: []string{"12: backend 'st' only serves HAProxy's stats page: left out"},
		errs:  []string{"8: use_backend 'st': HAProxy serves its stats page from that backend, which tandem leaves out"}},
	{name: "stats socket belongs in global", cfg: feCfg("stats socket /run/haproxy.sock"), errs: []string{"8: 'stats socket' belongs in the global section"}},
}

func TestRules(t *testing.T) {
	for _, tc := range rulesCases {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{}
			if tc.opts != nil {
				opts = *tc.opts
			}
			c, warns, errs := translateCfg(tc.cfg, opts)
			checkPrefixes(t, "warnings", warnStrings(warns), tc.warns, true)
			checkPrefixes(t, "errors", errStrings(errs), tc.errs, false)
			if len(errs) > 0 || tc.got == nil {
				return
			}
			if diff := cmp.Diff(tc.want, tc.got(c)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
