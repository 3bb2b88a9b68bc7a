package haproxy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-lb/tandem/config"
)

// listenCfg is a listen section whose given lines start at line 3.
func listenCfg(lines ...string) string {
	return "listen l\n  bind :80\n  " + strings.Join(lines, "\n  ") + "\n"
}

// backendCfg is a backend section whose given lines start at line 2.
func backendCfg(lines ...string) string {
	return "backend b\n  " + strings.Join(lines, "\n  ") + "\n"
}

func fe0(c *config.Cluster) *config.Frontend { return &c.Frontends[0] }
func be0(c *config.Cluster) *config.Backend  { return &c.Backends[0] }
func srv0(c *config.Cluster) config.Server   { return c.Backends[0].Servers[0] }
func gotServer(c *config.Cluster) any        { return srv0(c) }
func gotCheck(c *config.Cluster) any         { return be0(c).HealthCheck }

type directiveCase struct {
	name  string
	cfg   string
	got   func(*config.Cluster) any
	want  any
	warns []string // each warning, as "line: message prefix"
}

var directiveCases = []directiveCase{
	{name: "global maxconn", cfg: "global\n maxconn 100\n",
		got: func(c *config.Cluster) any { return c.Global.MaxConn }, want: 100},
	{name: "defaults maxconn", cfg: "defaults\n maxconn 50\n",
		got: func(c *config.Cluster) any { return c.Defaults.MaxConn }, want: 50},
	{name: "frontend maxconn", cfg: "frontend f\n bind :80\n maxconn 70\n",
		got: func(c *config.Cluster) any { return fe0(c).MaxConn }, want: 70},
	{name: "listen maxconn goes to the frontend", cfg: listenCfg("maxconn 70"),
		got: func(c *config.Cluster) any { return fe0(c).MaxConn }, want: 70},
	{name: "backend maxconn is ignored", cfg: backendCfg("maxconn 70"),
		got: func(c *config.Cluster) any { return len(c.Backends) }, want: 1,
		warns: []string{"2: 'maxconn' ignored: backend 'b' has no frontend side"}},
	{name: "mode in listen sets both sides", cfg: listenCfg("mode tcp"),
		got:  func(c *config.Cluster) any { return []config.Mode{fe0(c).Mode, be0(c).Mode} },
		want: []config.Mode{config.ModeTCP, config.ModeTCP}},
	{name: "defaults mode", cfg: "defaults\n mode tcp\n",
		got: func(c *config.Cluster) any { return c.Defaults.Mode }, want: config.ModeTCP},
	{name: "balance random(3)", cfg: backendCfg("balance random(3)"),
		got: func(c *config.Cluster) any { return be0(c).Balance }, want: config.AlgoRandom,
		warns: []string{"2: 'balance random(3)' read as 'balance random'"}},
	{name: "balance uri options", cfg: backendCfg("balance uri whole"),
		got: func(c *config.Cluster) any { return be0(c).Balance }, want: config.AlgoURI,
		warns: []string{"2: 'balance uri' options whole are not supported"}},
	{name: "balance in frontend is ignored", cfg: "frontend f\n bind :80\n balance roundrobin\n",
		got: func(c *config.Cluster) any { return len(c.Backends) }, want: 0,
		warns: []string{"3: 'balance' ignored: frontend 'f' has no backend side"}},
	{name: "retries", cfg: backendCfg("retries 5"),
		got: func(c *config.Cluster) any { return be0(c).Retries }, want: ptr(5)},
	{name: "option redispatch", cfg: backendCfg("option redispatch"),
		got: func(c *config.Cluster) any { return be0(c).Redispatch }, want: ptr(true)},
	{name: "no option redispatch", cfg: "defaults\n option redispatch\nbackend b\n no option redispatch\n",
		got:  func(c *config.Cluster) any { return []*bool{c.Defaults.Redispatch, be0(c).Redispatch} },
		want: []*bool{ptr(true), ptr(false)}},
	{name: "option redispatch interval", cfg: backendCfg("option redispatch -1"),
		got: func(c *config.Cluster) any { return be0(c).Redispatch }, want: ptr(true),
		warns: []string{"2: 'option redispatch -1': the interval is not supported"}},
	{name: "option forwardfor in listen sets both sides", cfg: listenCfg("option forwardfor"),
		got:  func(c *config.Cluster) any { return []*bool{fe0(c).ForwardFor, be0(c).ForwardFor} },
		want: []*bool{ptr(true), ptr(true)}},
	{name: "option forwardfor except", cfg: "defaults\n option forwardfor except 127.0.0.0/8\n",
		got: func(c *config.Cluster) any { return c.Defaults.ForwardFor }, want: ptr(true),
		warns: []string{"2: 'option forwardfor' arguments except 127.0.0.0/8 are not supported"}},
	{name: "ignored options and log",
		cfg: "defaults\n option http-keep-alive\n option httplog\n option dontlognull\n log global\n no option httpclose\n",
		got: func(c *config.Cluster) any { return c.Defaults }, want: config.Defaults{},
		warns: []string{
			"2: 'option http-keep-alive' is not supported by tandem (ignored)",
			"3: 'option httplog' is not supported by tandem (ignored; set access_log",
			"4: 'option dontlognull' is not supported by tandem (ignored)",
			"5: 'log' is not supported by tandem (ignored; tandem logs to its standard output)",
			"6: 'no option httpclose' is not supported by tandem (ignored)",
		}},

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
	{name: "http-request timeout in a backend", cfg: backendCfg("timeout http-request 4s"),
		got: func(c *config.Cluster) any { return be0(c).Timeouts.HTTPRequest }, want: dur(4 * time.Second)},
	{name: "timeout client in backend is ignored", cfg: backendCfg("timeout client 4s"),
		got: func(c *config.Cluster) any { return be0(c).Timeouts }, want: config.Timeouts{},
		warns: []string{"2: 'timeout client' ignored: backend 'b' has no frontend side"}},
	{name: "time units", cfg: "defaults\n timeout connect 2000\n timeout client 100us\n timeout server 2m\n timeout queue 1h\n timeout tunnel 1d\n timeout check 1500ms\n",
		got: func(c *config.Cluster) any { return c.Defaults.Timeouts },
		want: config.Timeouts{Connect: dur(2 * time.Second), Client: dur(100 * time.Microsecond),
			Server: dur(2 * time.Minute), Queue: dur(time.Hour), Tunnel: dur(24 * time.Hour),
			Check: dur(1500 * time.Millisecond)}},
	{name: "old timeout keywords", cfg: "defaults\n contimeout 5000\n clitimeout 50000\n srvtimeout 50000\n",
		got:  func(c *config.Cluster) any { return c.Defaults.Timeouts },
		want: config.Timeouts{Connect: dur(5 * time.Second), Client: dur(50 * time.Second), Server: dur(50 * time.Second)},
		warns: []string{
			"2: 'contimeout' is deprecated: read as 'timeout connect'",
			"3: 'clitimeout' is deprecated: read as 'timeout client'",
			"4: 'srvtimeout' is deprecated: read as 'timeout server'",
		}},
	{name: "timeout 0", cfg: "defaults\n timeout client 0\n",
		got: func(c *config.Cluster) any { return c.Defaults.Timeouts }, want: config.Timeouts{},
		warns: []string{"2: 'timeout client 0' means no timeout in HAProxy"}},
	{name: "timeout client-fin", cfg: "defaults\n timeout client-fin 1s\n",
		got: func(c *config.Cluster) any { return c.Defaults.Timeouts }, want: config.Timeouts{},
		warns: []string{"2: 'timeout client-fin' is not supported by tandem (ignored)"}},

	// Servers.
	{name: "server options",
		cfg: backendCfg("server s 10.0.0.1:80 weight 7 backup maxconn 30 disabled cookie c7 check inter 1s fastinter 500ms downinter 5s rise 3 fall 4 slowstart 1m"),
		got: gotServer,
		want: config.Server{Name: "s", Address: "10.0.0.1:80", Weight: ptr(7), Backup: true, MaxConn: 30,
			Disabled: true, Cookie: "c7", Check: true, SlowStart: dur(time.Minute),
			CheckTiming: config.CheckTiming{Inter: dur(time.Second), FastInter: dur(500 * time.Millisecond),
				DownInter: dur(5 * time.Second), Rise: 3, Fall: 4}}},
	{name: "server options tandem ignores",
		cfg:  backendCfg("server s 10.0.0.1:80 check port 8080 addr 10.0.0.9 ssl verify none send-proxy"),
		got:  gotServer,
		want: config.Server{Name: "s", Address: "10.0.0.1:80", Check: true},
		warns: []string{
			"2: server option 'port' is not supported by tandem (ignored): checks go to the server's own address",
			"2: server option 'addr' is not supported",
			"2: server option 'ssl' is not supported",
			"2: server option 'verify none' is not supported",
			"2: server option 'send-proxy' is not supported",
		}},
	{name: "server IPv6 without brackets", cfg: backendCfg("server s ::1:8080"),
		got: func(c *config.Cluster) any { return srv0(c).Address }, want: "[::1]:8080"},
	{name: "server IPv6 with brackets", cfg: backendCfg("server s [fd00::1]:80"),
		got: func(c *config.Cluster) any { return srv0(c).Address }, want: "[fd00::1]:80"},
	{name: "server host name", cfg: backendCfg("server s ipv4@web.local:80"),
		got: func(c *config.Cluster) any { return srv0(c).Address }, want: "web.local:80"},
	{name: "default-server applies to the servers after it",
		cfg: backendCfg("server a 10.0.0.1:80", "default-server inter 3s weight 5", "server b 10.0.0.2:80 weight 6", "server c 10.0.0.3:80"),
		got: func(c *config.Cluster) any { return be0(c).Servers },
		want: []config.Server{
			{Name: "a", Address: "10.0.0.1:80"},
			{Name: "b", Address: "10.0.0.2:80", Weight: ptr(6), CheckTiming: config.CheckTiming{Inter: dur(3 * time.Second)}},
			{Name: "c", Address: "10.0.0.3:80", Weight: ptr(5), CheckTiming: config.CheckTiming{Inter: dur(3 * time.Second)}},
		}},
	{name: "default-server in defaults", cfg: "defaults\n default-server rise 5\n" + backendCfg("server a 10.0.0.1:80"),
		got: func(c *config.Cluster) any { return srv0(c).Rise }, want: 5},

	// Cookie persistence.
	{name: "cookie insert indirect nocache", cfg: backendCfg("cookie SRV insert indirect nocache"),
		got: func(c *config.Cluster) any { return be0(c).Cookie }, want: &config.Cookie{Name: "SRV", Insert: true, Indirect: true, NoCache: true}},
	{name: "cookie rewrite", cfg: backendCfg("cookie SRV rewrite"),
		got: func(c *config.Cluster) any { return be0(c).Cookie }, want: &config.Cookie{Name: "SRV"},
		warns: []string{"2: cookie mode 'rewrite' is not supported by tandem"}},
	{name: "cookie options", cfg: backendCfg("cookie SRV insert domain .example.com httponly"),
		got: func(c *config.Cluster) any { return be0(c).Cookie }, want: &config.Cookie{Name: "SRV", Insert: true},
		warns: []string{"2: cookie option 'domain' is not supported", "2: cookie option 'httponly' is not supported"}},
	{name: "cookie in defaults", cfg: "defaults\n cookie S insert\n" + backendCfg("server a 10.0.0.1:80"),
		got: func(c *config.Cluster) any { return be0(c).Cookie }, want: &config.Cookie{Name: "S", Insert: true}},

	// Health checks.
	{name: "option httpchk", cfg: backendCfg("option httpchk"), got: gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "OPTIONS", Path: "/", Version: "HTTP/1.0"}},
	{name: "option httpchk uri", cfg: backendCfg("option httpchk /up"), got: gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "OPTIONS", Path: "/up", Version: "HTTP/1.0"}},
	{name: "option httpchk method uri", cfg: backendCfg("option httpchk GET /up"), got: gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "GET", Path: "/up", Version: "HTTP/1.0"}},
	{name: "option httpchk with the old Host trick",
		cfg: backendCfg(`option httpchk GET /up HTTP/1.1\r\nHost:\ www.example.com`), got: gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "GET", Path: "/up", Version: "HTTP/1.1", Host: "www.example.com"}},
	{name: "option httpchk with other headers",
		cfg: backendCfg(`option httpchk GET /up "HTTP/1.1\r\nHost: a\r\nUser-Agent: x"`), got: gotCheck,
		want:  &config.HealthCheck{Type: config.CheckHTTP, Method: "GET", Path: "/up", Version: "HTTP/1.1", Host: "a"},
		warns: []string{"2: check header 'User-Agent' is not supported"}},
	{name: "http-check send", cfg: backendCfg("option httpchk", "http-check send meth GET uri /h ver HTTP/1.1 hdr Host example.com"),
		got:  gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "GET", Path: "/h", Version: "HTTP/1.1", Host: "example.com"}},
	{name: "http-check send other header", cfg: backendCfg("option httpchk", "http-check send hdr X-A 1"),
		got:   gotCheck,
		want:  &config.HealthCheck{Type: config.CheckHTTP, Method: "OPTIONS", Path: "/", Version: "HTTP/1.0"},
		warns: []string{"3: check header 'X-A' is not supported"}},
	{name: "http-check expect status list and range",
		cfg: backendCfg("http-check expect status 200,301-303", "option httpchk HEAD /"), got: gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "HEAD", Path: "/", Version: "HTTP/1.0", ExpectStatus: []int{200, 301, 302, 303}}},
	{name: "http-check expect rstatus and string",
		cfg: backendCfg("option httpchk", "http-check expect rstatus ^2", "http-check expect string ok"), got: gotCheck,
		want:  &config.HealthCheck{Type: config.CheckHTTP, Method: "OPTIONS", Path: "/", Version: "HTTP/1.0"},
		warns: []string{"3: 'http-check expect rstatus' is not supported", "4: 'http-check expect string' is not supported"}},
	{name: "http-check disable-on-404", cfg: backendCfg("option httpchk", "http-check disable-on-404"), got: gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "OPTIONS", Path: "/", Version: "HTTP/1.0", DisableOn404: true}},
	{name: "http-check without option httpchk", cfg: backendCfg("http-check expect status 200"),
		got: func(c *config.Cluster) any { return be0(c).HealthCheck == nil }, want: true,
		warns: []string{"2: 'http-check' ignored: backend 'b' has no 'option httpchk'"}},
	{name: "option httpchk in defaults", cfg: "defaults\n option httpchk HEAD /d\n" + backendCfg("server a 10.0.0.1:80 check"),
		got:  gotCheck,
		want: &config.HealthCheck{Type: config.CheckHTTP, Method: "HEAD", Path: "/d", Version: "HTTP/1.0"}},

	// Frontends.
	{name: "default_backend in defaults", cfg: "defaults\n default_backend b\nfrontend f\n bind :80\nbackend b\n",
		got: func(c *config.Cluster) any { return fe0(c).DefaultBackend }, want: "b"},
	{name: "listen with an address", cfg: "listen x 127.0.0.1:8080\n server s 10.0.0.1:80\n",
		got: func(c *config.Cluster) any { return fe0(c).Bind }, want: []string{"127.0.0.1:8080"}},
	{name: "bind addresses", cfg: "frontend f\n bind :80,[::]:81\n bind :::82\n bind ipv4@0.0.0.0:83\n",
		got: func(c *config.Cluster) any { return fe0(c).Bind }, want: []string{":80", "[::]:81", "[::]:82", "0.0.0.0:83"}},
	{name: "bind ssl crt", cfg: "frontend f\n bind :443 ssl crt /etc/tandem/site.pem alpn h2,http/1.1\n",
		got: func(c *config.Cluster) any { return fe0(c).TLS }, want: &config.TLS{Cert: "/etc/tandem/site.pem", Key: "/etc/tandem/site.pem"},
		warns: []string{"2: bind option 'alpn h2,http/1.1' is not supported"}},
	{name: "use_backend and acl", cfg: "frontend f\n bind :80\n acl api path_beg /api\n use_backend api if api\n",
		got: func(c *config.Cluster) any { return fe0(c).DefaultBackend }, want: "",
		warns: []string{
			"3: 'acl' is not supported by tandem (ignored)",
			"4: 'use_backend' is not supported by tandem (ignored; every request goes to default_backend)",
		}},

	// Syntax.
	{name: "comments and quotes", cfg: "backend b # the pool\n  cookie \"SRV\" insert # persist\n  server 'web 1' 10.0.0.1:80\n",
		got: func(c *config.Cluster) any { return []string{be0(c).Cookie.Name, srv0(c).Name} }, want: []string{"SRV", "web 1"}},
	{name: "unknown keyword", cfg: backendCfg("frobnicate 3"),
		got: func(c *config.Cluster) any { return len(c.Backends) }, want: 1,
		warns: []string{"2: unknown keyword 'frobnicate' (ignored)"}},
	{name: "skipped section", cfg: "userlist admins\n user admin password x\nbackend b\n",
		got: func(c *config.Cluster) any { return len(c.Backends) }, want: 1,
		warns: []string{"1: section 'userlist admins' is not supported by tandem (ignored with all its lines)"}},
	{name: "environment variable", cfg: backendCfg(`server s "${HOST}:80"`),
		got: func(c *config.Cluster) any { return srv0(c).Address }, want: "${HOST}:80",
		warns: []string{"2: \"${...}\" is not expanded by tandem"}},
	{name: "unused defaults section", cfg: "backend b\ndefaults\n mode tcp\n",
		got: func(c *config.Cluster) any { return c.Defaults }, want: config.Defaults{},
		warns: []string{"2: defaults section ignored: no frontend, backend or listen section follows it"}},
}

func init() {
	// One case per balance algorithm tandem supports.
	for _, a := range []config.Algorithm{config.AlgoRoundRobin, config.AlgoStaticRR, config.AlgoLeastConn,
		config.AlgoSource, config.AlgoURI, config.AlgoRandom, config.AlgoFirst} {
		directiveCases = append(directiveCases, directiveCase{
			name: "balance " + a.String(), cfg: backendCfg("balance " + a.String()),
			got: func(c *config.Cluster) any { return be0(c).Balance }, want: a,
		})
	}
}

func TestParseDirectives(t *testing.T) {
	for _, tc := range directiveCases {
		t.Run(tc.name, func(t *testing.T) {
			c, warns, err := Parse("t.cfg", []byte(tc.cfg))
			if err != nil {
				t.Fatalf("Parse:\n%s\nerror: %v", tc.cfg, err)
			}
			if diff := cmp.Diff(tc.want, tc.got(c)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			checkWarnings(t, warns, tc.warns)
		})
	}
}

// checkWarnings wants exactly len(want) warnings, the i-th starting with
// "t.cfg:" + want[i] once "warning: " is put after the line number.
func checkWarnings(t *testing.T, got []Warning, want []string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		num, msg, _ := strings.Cut(want[i], ": ")
		ok = strings.HasPrefix(got[i].String(), fmt.Sprintf("t.cfg:%s: warning: %s", num, msg))
	}
	if !ok {
		t.Errorf("warnings:\n  %s\nwant (prefixes):\n  %s", strings.Join(warnStrings(got), "\n  "), strings.Join(want, "\n  "))
	}
}
