package haproxy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-lb/tandem/config"
)

func gotServer(c *config.Cluster) any { return srv0(c) }
func gotCheck(c *config.Cluster) any  { return be0(c).HealthCheck }

type directiveCase struct {
	name  string
	cfg   string
	opts  Options
	got   func(*config.Cluster) any
	want  any
	warns []string // each warning of the case, as "line: message prefix"
	errs  []string // each error, likewise
}

// directiveCases cover each mapped directive: what it becomes in the
// cluster config and what it warns or refuses.
var directiveCases = []directiveCase{
	{name: "global maxconn", cfg: "global\n maxconn 100\n",
		got: func(c *config.Cluster) any { return c.Global.MaxConn }, want: 100},
	{name: "frontend maxconn", cfg: "frontend f\n bind :80\n maxconn 70\n timeout client 1s\n",
		got: func(c *config.Cluster) any { return fe0(c).MaxConn }, want: 70},
	{name: "listen maxconn goes to the frontend", cfg: listenCfg("maxconn 70", "timeout client 1s", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return fe0(c).MaxConn }, want: 70},
	{name: "backend maxconn is ignored", cfg: backendCfg("maxconn 70", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return len(c.Backends) }, want: 1,
		warns: []string{"2: 'maxconn' ignored: backend 'b' has no frontend side (HAProxy ignores it too)"}},
	{name: "mode in listen sets both sides", cfg: listenCfg("mode http", "timeout client 1s", "timeout connect 1s", "timeout server 1s"),
		got:  func(c *config.Cluster) any { return []config.Mode{fe0(c).Mode, be0(c).Mode} },
		want: []config.Mode{config.ModeHTTP, config.ModeHTTP}},
	{name: "mode health was removed", cfg: backendCfg("mode health"), got: func(*config.Cluster) any { return nil },
		warns: []string{"1: backend 'b' has no timeout"}, errs: []string{"2: 'mode health' is refused by HAProxy 2.6"}},
	{name: "balance random(3)", cfg: backendCfg("balance random(3)", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return be0(c).Balance }, want: config.AlgoRandom,
		warns: []string{"2: 'balance random(3)' read as 'balance random'"}},
	{name: "balance in frontend is ignored", cfg: "frontend f\n bind :80\n balance roundrobin\n timeout client 1s\n",
		got: func(c *config.Cluster) any { return len(c.Backends) }, want: 0,
		warns: []string{"3: 'balance' ignored: frontend 'f' has no backend side"}},
	{name: "balance source is refused", cfg: backendCfg("balance source"), got: func(*config.Cluster) any { return nil },
		warns: []string{"1: backend 'b' has no timeout"}, errs: []string{"2: 'balance source': HAProxy maps each client to a server with its own hash"}},
	{name: "balance uri options", cfg: backendCfg("balance uri whole"), got: func(*config.Cluster) any { return nil },
		warns: []string{"1: backend 'b' has no timeout"}, errs: []string{"2: 'balance uri whole': HAProxy maps each client"}},
	{name: "balance url_param", cfg: backendCfg("balance url_param userid"), got: func(*config.Cluster) any { return nil },
		warns: []string{"1: backend 'b' has no timeout"}, errs: []string{"2: 'balance url_param userid': HAProxy hashes this part of the request"}},
	{name: "balance of a defaults section overridden", cfg: "defaults\n balance source\n" + backendCfg("balance leastconn"),
		got: func(c *config.Cluster) any { return be0(c).Balance }, want: config.AlgoLeastConn, warns: []string{"3: backend 'b' has no timeout"}},
	{name: "retries", cfg: backendCfg("retries 5"), got: func(c *config.Cluster) any { return be0(c).Retries }, want: ptr(5),
		warns: []string{"1: backend 'b' has no timeout"}},
	{name: "option redispatch", cfg: backendCfg("option redispatch"),
		got: func(c *config.Cluster) any { return be0(c).Redispatch }, want: ptr(true), warns: []string{"1: backend 'b' has no timeout"}},
	{name: "no option redispatch", cfg: "defaults\n option redispatch\nbackend b\n no option redispatch\n",
		got:  func(c *config.Cluster) any { return []*bool{c.Defaults.Redispatch, be0(c).Redispatch} },
		want: []*bool{ptr(true), ptr(false)}, warns: []string{"3: backend 'b' has no timeout"}},
	{name: "option redispatch interval", cfg: backendCfg("option redispatch 2"), got: func(*config.Cluster) any { return nil },
		warns: []string{"1: backend 'b' has no timeout"}, errs: []string{"2: 'option redispatch 2': HAProxy redispatches on the retry this interval names"}},
	{name: "option forwardfor in listen sets both sides", cfg: "defaults\n mode http\n" + listenCfg("option forwardfor"),
		got:  func(c *config.Cluster) any { return []*bool{fe0(c).ForwardFor, be0(c).ForwardFor} },
		want: []*bool{ptr(true), ptr(true)}, warns: []string{"3: listen 'l' has no timeout"}},
	{name: "option forwardfor except", cfg: "defaults\n mode http\n option forwardfor except 127.0.0.0/8\n" + backendCfg(),
		got: func(*config.Cluster) any { return nil }, warns: []string{"4: backend 'b' has no timeout"},
		errs: []string{"3: 'option forwardfor except 127.0.0.0/8': HAProxy adds X-Forwarded-For as these options say"}},
	{name: "option forwardfor in mode tcp is ignored", cfg: listenCfg("option forwardfor"),
		got: func(c *config.Cluster) any {
			return []*bool{fe0(c).ForwardFor, be0(c).ForwardFor, be0(c).RetryIdempotent}
		}, want: []*bool{nil, nil, nil},
		warns: []string{"1: listen 'l' has no timeout", "3: 'option forwardfor' ignored: listen 'l' is in mode tcp"}},
	{name: "option http-keep-alive is tandem's way", cfg: "defaults\n mode http\n option http-keep-alive\n option http-server-close\n" + backendCfg("option http-keep-alive"),
		got: func(c *config.Cluster) any { return len(c.Backends) }, want: 1, warns: []string{"5: backend 'b' has no timeout"}},
	{name: "http-reuse", cfg: "defaults\n mode http\n" + backendCfg("http-reuse always", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return len(c.Backends) }, want: 1, warns: []string{"4: 'http-reuse always' read as tandem's connection reuse"}},
	{name: "http-reuse never", cfg: "defaults\n mode http\n" + backendCfg("http-reuse never", "timeout connect 1s", "timeout server 1s"),
		got: func(*config.Cluster) any { return nil }, errs: []string{"4: 'http-reuse never': HAProxy never shares"}},
	{name: "retry-on conn-failure and HAProxy's default", cfg: "defaults\n mode http\n timeout connect 1s\n timeout server 1s\nbackend a\n retry-on conn-failure\nbackend b\n",
		got: func(c *config.Cluster) any {
			return []*bool{c.Backends[0].RetryIdempotent, c.Backends[1].RetryIdempotent}
		},
		want: []*bool{ptr(false), ptr(false)}},
	{name: "retry-on none", cfg: "defaults\n mode http\n" + backendCfg("retry-on none", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return []any{be0(c).Retries, be0(c).RetryIdempotent} }, want: []any{ptr(0), ptr(false)}},
	{name: "retry-on more", cfg: "defaults\n mode http\n" + backendCfg("retry-on all-retryable-errors", "timeout connect 1s", "timeout server 1s"),
		got: func(*config.Cluster) any { return nil }, errs: []string{"4: 'retry-on all-retryable-errors': HAProxy re-sends any request"}},

	// Timeouts: each goes to the side HAProxy's docs give it.
	{name: "timeouts in listen",
		cfg: listenCfg("timeout client 1s", "timeout server 2s", "timeout connect 3s",
			"timeout http-request 4s", "timeout http-keep-alive 5s", "timeout queue 6s",
			"timeout check 7s", "timeout tunnel 8s"),
		got: func(c *config.Cluster) any { return []config.Timeouts{fe0(c).Timeouts, be0(c).Timeouts} },
		want: []config.Timeouts{
			{Client: dur(time.Second), HTTPRequest: dur(4 * time.Second), HTTPKeepAlive: dur(5 * time.Second)},
			{Server: dur(2 * time.Second), Connect: dur(3 * time.Second), Queue: dur(6 * time.Second),
				Check: dur(7 * time.Second), Tunnel: dur(8 * time.Second)},
		}},
	{name: "timeout client in a frontend (issue 11's panic)", cfg: "frontend f\n bind :80\n timeout client 30s\n timeout http-request 5s\n timeout http-keep-alive 2s\n default_backend b\nbackend b\n server s1 127.0.0.1:1\n",
		got: func(c *config.Cluster) any { return fe0(c).Timeouts }, want: config.Timeouts{Client: dur(30 * time.Second), HTTPRequest: dur(5 * time.Second), HTTPKeepAlive: dur(2 * time.Second)},
		warns: []string{"7: backend 'b' has no timeout connect, server"}},
	{name: "http-request timeout in a backend", cfg: backendCfg("timeout http-request 4s", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return be0(c).Timeouts.HTTPRequest }, want: dur(4 * time.Second)},
	{name: "timeout client in backend is ignored", cfg: backendCfg("timeout client 4s", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return be0(c).Timeouts.Client }, want: config.Duration(0),
		warns: []string{"2: 'timeout client' ignored: backend 'b' has no frontend side"}},
	{name: "time units", cfg: "defaults\n timeout connect 2000\n timeout client 100us\n timeout server 2m\n timeout queue 1h\n timeout tunnel 1d\n timeout check 1500ms\nbackend b\n",
		got: func(c *config.Cluster) any { return c.Defaults.Timeouts },
		want: config.Timeouts{Connect: dur(2 * time.Second), Client: dur(100 * time.Microsecond),
			Server: dur(2 * time.Minute), Queue: dur(time.Hour), Tunnel: dur(24 * time.Hour),
			Check: dur(1500 * time.Millisecond)}},
	{name: "old timeout keywords with --lenient", cfg: "defaults\n contimeout 5000\n clitimeout 50000\n srvtimeout 50000\nbackend b\n",
		opts:  Options{Lenient: true},
		got:   func(c *config.Cluster) any { return c.Defaults.Timeouts },
		want:  config.Timeouts{Connect: dur(5 * time.Second), Client: dur(50 * time.Second), Server: dur(50 * time.Second)},
		warns: []string{"2: --lenient: 'contimeout' read anyway", "3: --lenient: 'clitimeout' read anyway", "4: --lenient: 'srvtimeout' read anyway"}},
	{name: "timeout 0", cfg: "defaults\n timeout client 0\nfrontend f\n bind :80\n",
		got: func(c *config.Cluster) any { return c.Defaults.Timeouts }, want: config.Timeouts{},
		warns: []string{"2: 'timeout client 0' means no timeout in HAProxy", "3: frontend 'f' has no timeout client"}},

	// Servers.
	{name: "server options",
		cfg: backendCfg("server s 10.0.0.1:80 weight 7 backup maxconn 30 disabled cookie c7 check inter 1s fastinter 500ms downinter 5s rise 3 fall 4 slowstart 1m", "timeout connect 1s", "timeout server 1s"),
		got: gotServer,
		want: config.Server{Name: "s", Address: "10.0.0.1:80", Weight: ptr(7), Backup: true, MaxConn: 30,
			Disabled: true, Cookie: "c7", Check: true, SlowStart: dur(time.Minute),
			CheckTiming: config.CheckTiming{Inter: dur(time.Second), FastInter: dur(500 * time.Millisecond),
				DownInter: dur(5 * time.Second), Rise: 3, Fall: 4}}},
	{name: "server options that change traffic",
		cfg:  backendCfg("server s 10.0.0.1:80 check ssl verify none send-proxy-v2-ssl observe layer7 proxy-v2-options cert-cn", "timeout connect 1s", "timeout server 1s"),
		got:  func(*config.Cluster) any { return nil },
		errs: []string{"2: server option 'ssl': HAProxy connects to this server over TLS", "2: server option 'send-proxy-v2-ssl'", "2: server option 'proxy-v2-options cert-cn'"}},
	{name: "server options that change nothing",
		cfg: backendCfg("server s 10.0.0.1:80 check id 3 resolvers dns init-addr last,libc,none tfo", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return srv0(c).Check }, want: true,
		warns: []string{"2: server option 'id 3' ignored", "2: server option 'resolvers dns' ignored", "2: server option 'init-addr last,libc,none' ignored", "2: server option 'tfo' ignored"}},
	{name: "server IPv6 without brackets", cfg: backendCfg("server s ::1:8080", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return srv0(c).Address }, want: "[::1]:8080"},
	{name: "server IPv6 with brackets", cfg: backendCfg("server s [fd00::1]:80", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return srv0(c).Address }, want: "[fd00::1]:80"},
	{name: "server host name", cfg: backendCfg("server s ipv4@web.local:80", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return srv0(c).Address }, want: "web.local:80"},
	{name: "default-server applies to the servers after it",
		cfg: backendCfg("server a 10.0.0.1:80", "default-server inter 3s weight 5", "server b 10.0.0.2:80 weight 6", "server c 10.0.0.3:80", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return be0(c).Servers },
		want: []config.Server{
			{Name: "a", Address: "10.0.0.1:80"},
			{Name: "b", Address: "10.0.0.2:80", Weight: ptr(6), CheckTiming: config.CheckTiming{Inter: dur(3 * time.Second)}},
			{Name: "c", Address: "10.0.0.3:80", Weight: ptr(5), CheckTiming: config.CheckTiming{Inter: dur(3 * time.Second)}},
		}},
	{name: "default-server in defaults", cfg: "defaults\n default-server rise 5\n" + backendCfg("server a 10.0.0.1:80"),
		got: func(c *config.Cluster) any { return srv0(c).Rise }, want: 5, warns: []string{"3: backend 'b' has no timeout"}},
	{name: "several backup servers need allbackups",
		cfg: backendCfg("server a 10.0.0.1:80", "server b1 10.0.0.2:80 backup", "server b2 10.0.0.3:80 backup", "timeout connect 1s", "timeout server 1s"),
		got: func(*config.Cluster) any { return nil }, errs: []string{"4: second backup server 'b2' in backend 'b': HAProxy sends traffic to the first usable backup server only"}},
	{name: "allbackups", cfg: backendCfg("option allbackups", "server a 10.0.0.1:80", "server b1 10.0.0.2:80 backup", "server b2 10.0.0.3:80 backup", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return len(be0(c).Servers) }, want: 3},
	{name: "disabled backend: every server in maint", cfg: backendCfg("disabled", "server a 10.0.0.1:80", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return srv0(c).Disabled }, want: true, warns: []string{"2: backend 'b' is disabled: HAProxy answers 503 for it"}},
	{name: "disabled frontend is left out", cfg: "frontend f\n bind :80\n disabled\nfrontend g\n bind :81\n timeout client 1s\n enabled\n",
		got: func(c *config.Cluster) any { return c.Frontends[0].Name }, want: "g", warns: []string{"1: frontend 'f' is disabled (line 3): HAProxy does not start it, so it is left out"}},

	// Cookie persistence.
	{name: "cookie insert indirect nocache", cfg: "defaults\n mode http\n" + backendCfg("cookie SRV insert indirect nocache", "server s 10.0.0.1:80 cookie s"),
		got: func(c *config.Cluster) any { return be0(c).Cookie }, want: &config.Cookie{Name: "SRV", Insert: true, Indirect: true, NoCache: true},
		warns: []string{"3: backend 'b' has no timeout"}},
	{name: "cookie insert and a server without a value", cfg: "defaults\n mode http\n" + backendCfg("cookie SRV insert", "server s 10.0.0.1:80"),
		got: func(*config.Cluster) any { return nil }, warns: []string{"3: backend 'b' has no timeout"},
		errs: []string{"5: server 's' has no 'cookie VALUE': HAProxy inserts no persistence cookie for it"}},
	{name: "cookie attributes tandem does not set", cfg: "defaults\n mode http\n" + backendCfg("cookie SRV insert domain .example.com httponly secure"),
		got: func(*config.Cluster) any { return nil }, warns: []string{"3: backend 'b' has no timeout"},
		errs: []string{"4: 'cookie SRV ... domain': HAProxy sets the cookie for that domain", "4: 'cookie SRV ... httponly'", "4: 'cookie SRV ... secure'"}},
	{name: "cookie in mode tcp is ignored", cfg: listenCfg("cookie SRV insert"),
		got: func(c *config.Cluster) any { return be0(c).Cookie }, want: (*config.Cookie)(nil),
		warns: []string{"1: listen 'l' has no timeout", "3: 'cookie' ignored: listen 'l' is in mode tcp"}},
	{name: "cookie in defaults", cfg: "defaults\n mode http\n cookie S insert\n" + backendCfg("server a 10.0.0.1:80 cookie a"),
		got: func(c *config.Cluster) any { return be0(c).Cookie }, want: &config.Cookie{Name: "S", Insert: true},
		warns: []string{"4: backend 'b' has no timeout"}},

	// Stick tables.
	{name: "stick on src", cfg: backendCfg("stick-table type ip size 200k expire 30m", "stick on src", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return []any{be0(c).StickSource, be0(c).StickExpire} }, want: []any{true, dur(30 * time.Minute)}},
	{name: "stick match and store-request src", cfg: backendCfg("stick-table type ipv6 size 1m expire 1h peers lbs", "stick match src", "stick store-request src", "timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return []any{be0(c).StickSource, be0(c).StickExpire} }, want: []any{true, dur(time.Hour)},
		warns: []string{"2: 'stick-table peers lbs' ignored"}},
	{name: "stick on something else", cfg: backendCfg("stick-table type string size 1m", "stick on req.cook(JSESSIONID)", "timeout connect 1s", "timeout server 1s"),
		got: func(*config.Cluster) any { return nil }, errs: []string{"3: 'stick on req.cook(JSESSIONID)': HAProxy keeps clients on servers by this stick rule"}},
	{name: "stick without a table", cfg: backendCfg("stick on src", "timeout connect 1s", "timeout server 1s"),
		got: func(*config.Cluster) any { return nil }, errs: []string{"2: 'stick' in backend 'b': the section has no stick-table"}},

	// Health checks.
	{name: "option httpchk", cfg: backendCfg("option httpchk"), got: gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "OPTIONS", Path: "/", Version: "HTTP/1.0"}, warns: []string{"1: backend 'b' has no timeout"}},
	{name: "option httpchk uri", cfg: backendCfg("option httpchk /up"), got: gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "OPTIONS", Path: "/up", Version: "HTTP/1.0"}, warns: []string{"1: backend 'b' has no timeout"}},
	{name: "option httpchk method uri", cfg: backendCfg("option httpchk GET /up"), got: gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "GET", Path: "/up", Version: "HTTP/1.0"}, warns: []string{"1: backend 'b' has no timeout"}},
	{name: "option httpchk with the old Host trick",
		cfg: backendCfg(`option httpchk GET /up HTTP/1.1\r\nHost:\ www.example.com`), got: gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "GET", Path: "/up", Version: "HTTP/1.1", Host: "www.example.com"}, warns: []string{"1: backend 'b' has no timeout"}},
	{name: "option httpchk with other headers",
		cfg: backendCfg(`option httpchk GET /up "HTTP/1.1\r\nHost: a\r\nUser-Agent: x"`), got: func(*config.Cluster) any { return nil },
		warns: []string{"1: backend 'b' has no timeout"}, errs: []string{"2: 'option httpchk': HAProxy sends header 'User-Agent' with each check"}},
	{name: "http-check send", cfg: backendCfg("option httpchk", "http-check send meth GET uri /h ver HTTP/1.1 hdr Host example.com"),
		got: gotCheck, warns: []string{"1: backend 'b' has no timeout"},
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "GET", Path: "/h", Version: "HTTP/1.1", Host: "example.com"}},
	{name: "http-check expect status list and range",
		cfg: backendCfg("http-check expect status 200,301-303", "option httpchk HEAD /"), got: gotCheck, warns: []string{"1: backend 'b' has no timeout"},
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "HEAD", Path: "/", Version: "HTTP/1.0", ExpectStatus: []int{200, 301, 302, 303}}},
	{name: "http-check expect what tandem does not check",
		cfg: backendCfg("option httpchk", "http-check expect hdr name x", "http-check expect string-lf %[srv_name]", "http-check expect status-code 1 status 200", "http-check send uri-lf /%[srv_name]"), got: func(*config.Cluster) any { return nil },
		warns: []string{"1: backend 'b' has no timeout"},
		errs:  []string{"3: 'http-check expect hdr'", "4: 'http-check expect string-lf'", "5: 'http-check expect status-code 1'", "6: 'http-check send uri-lf'"}},
	{name: "http-check disable-on-404", cfg: backendCfg("option httpchk", "http-check disable-on-404"), got: gotCheck, warns: []string{"1: backend 'b' has no timeout"},
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "OPTIONS", Path: "/", Version: "HTTP/1.0", DisableOn404: true}},
	{name: "http-check without option httpchk", cfg: backendCfg("http-check expect status 200"),
		got: func(c *config.Cluster) any { return be0(c).HealthCheck == nil }, want: true,
		warns: []string{"1: backend 'b' has no timeout", "2: 'http-check' ignored: backend 'b' has no 'option httpchk'"}},
	{name: "option httpchk in defaults", cfg: "defaults\n option httpchk HEAD /d\n" + backendCfg("server a 10.0.0.1:80 check"),
		got: gotCheck, warns: []string{"3: backend 'b' has no timeout"},
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "HEAD", Path: "/d", Version: "HTTP/1.0"}},

	// Frontends.
	{name: "default_backend in defaults", cfg: "defaults\n default_backend b\n timeout client 1s\n timeout connect 1s\n timeout server 1s\nfrontend f\n bind :80\nbackend b\n",
		got: func(c *config.Cluster) any { return fe0(c).DefaultBackend }, want: "b"},
	{name: "listen with an address", cfg: "listen x 127.0.0.1:8080\n server s 10.0.0.1:80\n timeout client 1s\n timeout connect 1s\n timeout server 1s\n",
		got: func(c *config.Cluster) any { return fe0(c).Bind }, want: []string{"127.0.0.1:8080"}},
	{name: "bind addresses", cfg: "frontend f\n bind :80,[::]:81\n bind :::82\n bind ipv4@0.0.0.0:83\n timeout client 1s\n",
		got: func(c *config.Cluster) any { return fe0(c).Bind }, want: []string{":80", "[::]:81", "[::]:82", "0.0.0.0:83"}},
	{name: "bind options that change nothing", cfg: "frontend f\n bind :80 name web defer-accept maxconn 100 v4v6\n timeout client 1s\n",
		got: func(c *config.Cluster) any { return fe0(c).Bind }, want: []string{":80"},
		warns: []string{"2: bind option 'name web' ignored", "2: bind option 'defer-accept' ignored", "2: bind option 'maxconn 100' ignored", "2: bind option 'v4v6' ignored"}},
	{name: "bind options that change traffic", cfg: "frontend f\n bind :443 ssl crt /etc/haproxy/certs/one/a.pem accept-proxy ca-ignore-err all alpn h2,http/1.1\n timeout client 1s\n",
		opts: fileOpts(), got: func(*config.Cluster) any { return nil },
		errs: []string{"2: bind option 'ca-ignore-err all'"}},
	{name: "use_backend and acl", cfg: httpCfg("acl api path_beg /api", "use_backend api if api", "use_backend old unless { path_beg /new }") +
		"backend api\n server a 10.0.0.2:80\nbackend old\n server o 10.0.0.3:80\n",
		got: func(c *config.Cluster) any { return []any{fe0(c).UseBackend, fe0(c).ACLs} },
		want: []any{[]config.UseBackend{{Backend: "api", If: "api"}, {Backend: "old", Unless: "{ path_beg /new }"}},
			map[string]config.StringList{"api": {"path_beg /api"}}},
		warns: []string{"3: frontend 'f' has no timeout", "9: backend 'b' has no timeout", "11: backend 'api' has no timeout", "13: backend 'old' has no timeout"}},

	// Syntax.
	{name: "comments and quotes", cfg: "defaults\n mode http\nbackend b # the pool\n  cookie \"SRV\" insert # persist\n  server 'web 1' 10.0.0.1:80 cookie w1\n",
		got: func(c *config.Cluster) any { return []string{be0(c).Cookie.Name, srv0(c).Name} }, want: []string{"SRV", "web 1"},
		warns: []string{"3: backend 'b' has no timeout"}},
	{name: "environment variables", cfg: backendCfg(`server s "${HOST}:80"`, `server t "${NOPE-10.0.0.9}:${PORT}"`), opts: Options{Env: func(n string) (string, bool) {
		return map[string]string{"HOST": "10.0.0.7", "PORT": "81"}[n], n == "HOST" || n == "PORT"
	}},
		got: func(c *config.Cluster) any {
			return []string{c.Backends[0].Servers[0].Address, c.Backends[0].Servers[1].Address}
		},
		want: []string{"10.0.0.7:80", "10.0.0.9:81"}, warns: []string{"1: backend 'b' has no timeout"}},
	{name: "an unset environment variable", cfg: "frontend f\n bind \"${ADDR}:80\"\n timeout client 1s\n",
		got: func(c *config.Cluster) any { return fe0(c).Bind }, want: []string{":80"},
		warns: []string{"2: environment variable ADDR is not set: it expands to nothing, as in HAProxy"}},
	{name: "setenv applies to the lines below", cfg: "global\n setenv P 8080\nfrontend f\n bind \":$P\"\n timeout client 1s\n",
		got: func(c *config.Cluster) any { return fe0(c).Bind }, want: []string{":8080"}},
	{name: "ignored sections", cfg: "peers lbs\n peer lb1 10.0.0.1:1024\nresolvers dns\n nameserver ns 10.0.0.53:53\n" + backendCfg("timeout connect 1s", "timeout server 1s"),
		got: func(c *config.Cluster) any { return len(c.Backends) }, want: 1,
		warns: []string{"1: section 'peers lbs' ignored with all its lines", "3: section 'resolvers dns' ignored with all its lines"}},
	{name: "unused defaults section", cfg: "defaults\n mode http\ndefaults\n timeout connect 1s\n timeout server 1s\nbackend b\n",
		got: func(c *config.Cluster) any { return c.Resolve().Backends[0].Mode }, want: config.ModeTCP,
		warns: []string{"1: defaults section ignored: no section takes its settings"}},
}

func init() {
	// One case per balance algorithm tandem has the same as HAProxy.
	for _, a := range []config.Algorithm{config.AlgoRoundRobin, config.AlgoStaticRR, config.AlgoLeastConn,
		config.AlgoRandom, config.AlgoFirst} {
		directiveCases = append(directiveCases, directiveCase{
			name: "balance " + a.String(), cfg: backendCfg("balance "+a.String(), "timeout connect 1s", "timeout server 1s"),
			got: func(c *config.Cluster) any { return be0(c).Balance }, want: a,
		})
	}
}

func TestDirectives(t *testing.T) {
	for _, tc := range directiveCases {
		t.Run(tc.name, func(t *testing.T) {
			c, warns, errs := translateCfg(tc.cfg, tc.opts)
			checkPrefixes(t, "warnings", warnStrings(warns), tc.warns, true)
			checkPrefixes(t, "errors", errStrings(errs), tc.errs, false)
			if len(errs) > 0 || tc.want == nil {
				return
			}
			if diff := cmp.Diff(tc.want, tc.got(c)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
