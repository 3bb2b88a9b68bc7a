package haproxy

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

const tm = "timeout connect 1s\n  timeout server 1s"

func ptrInt(n int) *int { return &n }

// TestCheckImport covers each check directive: what it becomes and what
// it refuses (configuration.txt 4.2 "option *-check", "tcp-check *",
// "http-check *"; tcpcheck.c's rulesets and merge rules).
func TestCheckImport(t *testing.T) {
	redisSteps := []config.CheckStep{
		{Connect: &config.CheckConnect{}},
		{Send: &config.CheckSend{Text: "PING\r\n"}},
		{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "+PONG"}},
		{Send: &config.CheckSend{Text: "info replication\r\n"}},
		{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "role:master"}},
	}
	redis := []string{"option tcp-check", "tcp-check connect", `tcp-check send PING\r\n`, "tcp-check expect string +PONG",
		`tcp-check send info\ replication\r\n`, "tcp-check expect string role:master"}
	httpSend := func(m, u, v string, h ...config.CheckHeader) config.CheckStep {
		return config.CheckStep{Send: &config.CheckSend{Method: m, URI: u, Version: v, Headers: h}}
	}
	status := func(p string) config.CheckStep {
		return config.CheckStep{Expect: &config.CheckExpect{Match: config.MatchStatus, Pattern: p}}
	}
	tests := []directiveCase{
		{name: "redis primary by tcp-check", cfg: backendCfg(append(redis, tm)...), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckTCP, CheckRules: config.CheckRules{Steps: redisSteps}}},
		{name: "tcp-check rules in defaults are inherited", cfg: "defaults\n  " + joinLines(redis) + "\n" + backendCfg(tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckTCP, CheckRules: config.CheckRules{Steps: redisSteps}}},
		{name: "own tcp-check rules replace the defaults' rules", cfg: "defaults\n  " + joinLines(redis) + "\n" + backendCfg("tcp-check expect string hello", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckTCP, CheckRules: config.CheckRules{Steps: []config.CheckStep{{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "hello"}}}}}},
		{name: "tcp-check everything", cfg: backendCfg("option tcp-check",
			"tcp-check connect port 8443 addr 10.0.0.9 ssl sni a.example alpn h2 send-proxy linger comment tls",
			"tcp-check comment greeting", "tcp-check expect min-recv 4 ok-status L7OKC error-status L7STS tout-status L4TOUT on-success fine on-error bad ! rstring ^5",
			"tcp-check send-binary 50494e47 comment ping", "tcp-check send-lf %[srv_name]", "tcp-check expect binary 2b504f4e47", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckTCP, CheckRules: config.CheckRules{Steps: []config.CheckStep{
				{Connect: &config.CheckConnect{Port: 8443, Addr: "10.0.0.9", TLS: true, SNI: "a.example", ALPN: "h2", SendProxy: true}, Comment: "tls"},
				{Expect: &config.CheckExpect{Match: config.MatchRString, Pattern: "^5", Not: true, MinRecv: ptrInt(4), OKStatus: "L7OKC",
					ErrorStatus: "L7STS", TimeoutStatus: "L4TOUT", OnSuccess: "fine", OnError: "bad"}, Comment: "greeting"},
				{Send: &config.CheckSend{Hex: "50494e47"}, Comment: "ping"},
				{Send: &config.CheckSend{Format: "%[srv_name]"}},
				{Expect: &config.CheckExpect{Match: config.MatchBinary, Pattern: "2b504f4e47"}},
			}}}},
		{name: "tcp-check without option tcp-check", cfg: backendCfg("tcp-check expect string x", tm), got: gotCheck, want: (*config.HealthCheck)(nil),
			warns: []string{"2: 'tcp-check' ignored: backend 'b' has no 'option tcp-check'"}},
		{name: "mysql-check post-41", cfg: backendCfg("option mysql-check user haproxy", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckMySQL, CheckRules: config.CheckRules{User: "haproxy"}}},
		{name: "mysql-check pre-41", cfg: backendCfg("option mysql-check user haproxy pre-41", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckMySQL, CheckRules: config.CheckRules{User: "haproxy", MySQLPre41: true}}},
		{name: "mysql-check without user", cfg: backendCfg("option mysql-check", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckMySQL}, warns: []string{"2: 'option mysql-check' without a user only reads"}},
		{name: "mysql-check bad version", cfg: backendCfg("option mysql-check user u post-50", tm), got: gotCheck, want: (*config.HealthCheck)(nil),
			errs: []string{"2: 'option mysql-check user u': want post-41 or pre-41"}},
		{name: "pgsql-check", cfg: backendCfg("option pgsql-check user postgres", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckPgSQL, CheckRules: config.CheckRules{User: "postgres"}}},
		{name: "pgsql-check needs a user", cfg: backendCfg("option pgsql-check", tm), got: gotCheck, want: (*config.HealthCheck)(nil),
			errs: []string{"2: 'option pgsql-check' wants 'user <username>'"}},
		{name: "smtpchk EHLO", cfg: backendCfg("option smtpchk EHLO mx.example.com", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckSMTP, CheckRules: config.CheckRules{Hello: "EHLO mx.example.com"}}},
		{name: "smtpchk other verb is HELO localhost", cfg: backendCfg("option smtpchk BONJOUR x", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckSMTP}, warns: []string{"2: 'option smtpchk BONJOUR x' sends 'HELO localhost'"}},
		{name: "redis-check", cfg: backendCfg("option redis-check", tm), got: gotCheck, want: &config.HealthCheck{Type: config.CheckRedis}},
		{name: "ldap-check", cfg: backendCfg("option ldap-check", tm), got: gotCheck, want: &config.HealthCheck{Type: config.CheckLDAP}},
		{name: "ssl-hello-chk", cfg: backendCfg("option ssl-hello-chk", tm), got: gotCheck, want: &config.HealthCheck{Type: config.CheckSSLHello}},
		{name: "the last check option wins", cfg: backendCfg("option httpchk GET /", "option redis-check", tm), got: gotCheck, want: &config.HealthCheck{Type: config.CheckRedis}},
		{name: "http-check sequence", cfg: backendCfg("option httpchk", "http-check connect", "http-check send meth GET uri / ver HTTP/1.1 hdr host haproxy.1wt.eu",
			"http-check expect status 200-399", "http-check connect port 443 ssl sni haproxy.1wt.eu", "http-check send meth GET uri /x ver HTTP/1.1 hdr host a body hi",
			"http-check expect string ok", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckHTTP, CheckRules: config.CheckRules{Steps: []config.CheckStep{
				{Connect: &config.CheckConnect{}},
				httpSend("GET", "/", "HTTP/1.1", config.CheckHeader{Name: "host", Value: "haproxy.1wt.eu"}),
				status("200-399"),
				{Connect: &config.CheckConnect{Port: 443, TLS: true, SNI: "haproxy.1wt.eu"}},
				{Send: &config.CheckSend{Method: "GET", URI: "/x", Version: "HTTP/1.1", Headers: []config.CheckHeader{{Name: "host", Value: "a"}}, Body: "hi"}},
				{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "ok"}},
			}}}},
		{name: "option httpchk after http-check send overrides what it writes", cfg: backendCfg("http-check send meth GET uri /a hdr Host x", "option httpchk HEAD /b", "http-check expect rstatus ^2", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckHTTP, CheckRules: config.CheckRules{Steps: []config.CheckStep{
				httpSend("HEAD", "/b", "HTTP/1.0"), {Expect: &config.CheckExpect{Match: config.MatchRStatus, Pattern: "^2"}}}}}},
		{name: "defaults' option httpchk does not reach the section's own http-check rules", cfg: "defaults\n  option httpchk GET /d\n" + backendCfg("http-check expect rstatus ^2", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckHTTP, CheckRules: config.CheckRules{Steps: []config.CheckStep{
				{Expect: &config.CheckExpect{Match: config.MatchRStatus, Pattern: "^2"}}}}}},
		{name: "own option httpchk drops the defaults' http-check rules", cfg: "defaults\n  option httpchk GET /d\n  http-check expect status 201\n" + backendCfg("option httpchk GET /b", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckHTTP, Method: "GET", Path: "/b", Version: "HTTP/1.0"}},
		{name: "HTTP/1.1 without Host is sent without Host", cfg: backendCfg("option httpchk GET /h HTTP/1.1", tm), got: gotCheck,
			want: &config.HealthCheck{Type: config.CheckHTTP, CheckRules: config.CheckRules{Steps: []config.CheckStep{httpSend("GET", "/h", "HTTP/1.1")}}}},
		{name: "tcp-check set-var", cfg: backendCfg("option tcp-check", "tcp-check set-var(check.port) int(1)", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"3: 'tcp-check set-var(check.port) int(1)': HAProxy sets variables during checks"}},
		{name: "unknown tcp-check rule", cfg: backendCfg("option tcp-check", "tcp-check frobnicate", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"3: unknown 'tcp-check frobnicate'"}},
		{name: "bad expect regex", cfg: backendCfg("option tcp-check", "tcp-check expect rstring (a", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"3: 'tcp-check expect rstring (a': the regular expression does not compile"}},
		{name: "PCRE-only regex", cfg: backendCfg("option tcp-check", "tcp-check expect rstring (?=x)", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"3: 'tcp-check expect rstring (?=x)': the regular expression does not compile in Go's RE2 syntax"}},
		{name: "odd hex digits", cfg: backendCfg("option tcp-check", "tcp-check send-binary 50494e4", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"3: 'tcp-check send-binary': hex string \"50494e4\" has an odd number of digits (7)"}},
		{name: "odd hex digits in expect", cfg: backendCfg("option tcp-check", "tcp-check expect binary 2b5", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"3: 'tcp-check expect binary 2b5': hex string \"2b5\" has an odd number of digits"}},
		{name: "not hex", cfg: backendCfg("option tcp-check", "tcp-check send-binary 5x", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"3: 'tcp-check send-binary': hex string \"5x\": 'x' is not a hex digit"}},
		{name: "send-lf with a fetch tandem lacks", cfg: backendCfg("option tcp-check", "tcp-check send-lf %[date]", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"3: 'tcp-check send-lf': format \"%[date]\": %[date] is not supported"}},
		{name: "connect port expression", cfg: backendCfg("option tcp-check", "tcp-check connect port var(check.port)", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"3: 'tcp-check connect port var(check.port)': HAProxy takes the port from this expression"}},
		{name: "second connect without a first", cfg: backendCfg("option tcp-check", "tcp-check send x", "tcp-check connect port 81", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"4: 'tcp-check connect': the first step must be a 'connect' too"}},
	}
	runDirectiveCases(t, tests)
}

func joinLines(l []string) string {
	out := ""
	for i, s := range l {
		if i > 0 {
			out += "\n  "
		}
		out += s
	}
	return out
}

// TestServerCheckAndProxyOptions covers the server options of checks and
// the PROXY protocol (configuration.txt 5.2) and bind accept-proxy (5.1).
func TestServerCheckAndProxyOptions(t *testing.T) {
	tests := []directiveCase{
		{name: "port addr check-ssl", cfg: backendCfg("server s 10.0.0.1:5432 check port 8008 addr 10.0.0.9 check-ssl verify none check-sni p.example check-alpn h2", tm), got: gotServer,
			want: config.Server{Name: "s", Address: "10.0.0.1:5432", Check: true, ServerCheck: config.ServerCheck{CheckPort: 8008, CheckAddr: "10.0.0.9",
				CheckTLS: &config.CheckTLS{SNI: "p.example", ALPN: "h2"}}}},
		{name: "check-ssl with a CA", cfg: backendCfg("server s 10.0.0.1:443 check check-ssl ca-file /etc/ssl/ca.pem", tm), got: gotServer,
			want: config.Server{Name: "s", Address: "10.0.0.1:443", Check: true, ServerCheck: config.ServerCheck{CheckTLS: &config.CheckTLS{CAFile: "/etc/ssl/ca.pem"}}}},
		{name: "check-ssl verify required without CA", cfg: backendCfg("server s 10.0.0.1:443 check check-ssl verify required", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"2: server option 'verify required' with check-ssl wants a 'ca-file'"}},
		{name: "agent", cfg: backendCfg("server s 10.0.0.1:80 check agent-check agent-port 9999 agent-inter 5s agent-send hi\\n agent-addr 10.0.0.8", tm), got: gotServer,
			want: config.Server{Name: "s", Address: "10.0.0.1:80", Check: true, ServerCheck: config.ServerCheck{Agent: &config.AgentCheck{Port: 9999, Addr: "10.0.0.8", Inter: dur(5e9), Send: "hi\n"}}}},
		{name: "agent settings from default-server", cfg: backendCfg("default-server agent-port 9999 agent-inter 1s", "server a 10.0.0.1:80 check agent-check", "server b 10.0.0.2:80 check", tm),
			got: func(c *config.Cluster) any {
				return []*config.AgentCheck{be0(c).Servers[0].Agent, be0(c).Servers[1].Agent}
			},
			want: []*config.AgentCheck{{Port: 9999, Inter: dur(1e9)}, nil}},
		{name: "agent without port", cfg: backendCfg("server s 10.0.0.1:80 check agent-check", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"2: server option 'agent-check' wants 'agent-port <port>'"}},
		{name: "observe", cfg: backendCfg("server s 10.0.0.1:80 check observe layer4 error-limit 5 on-error mark-down on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions", tm), got: gotServer,
			want: config.Server{Name: "s", Address: "10.0.0.1:80", Check: true, ServerCheck: config.ServerCheck{ShutdownOnDown: true, ShutdownBackupsOnUp: true,
				Observe: &config.Observe{Layer: config.ObserveLayer4, ErrorLimit: 5, OnError: config.OnErrorMarkDown}}}},
		{name: "error-limit without observe", cfg: backendCfg("server s 10.0.0.1:80 check error-limit 5", tm), got: gotServer,
			want: config.Server{Name: "s", Address: "10.0.0.1:80", Check: true}},
		{name: "bad on-error", cfg: backendCfg("server s 10.0.0.1:80 check observe layer4 on-error explode", tm), got: func(*config.Cluster) any { return nil },
			errs: []string{"2: server option 'on-error explode': want fastinter"}},
		{name: "send-proxy-v2 with options", cfg: backendCfg("server s 10.0.0.1:80 send-proxy-v2 proxy-v2-options authority,crc32c check-send-proxy", tm), got: gotServer,
			want: config.Server{Name: "s", Address: "10.0.0.1:80", ServerCheck: config.ServerCheck{CheckSendProxy: true},
				ServerProxy: config.ServerProxy{SendProxy: config.ProxyV2, ProxyV2Authority: true, ProxyV2CRC32C: true}}},
		{name: "no-send-proxy undoes default-server", cfg: backendCfg("default-server send-proxy", "server s 10.0.0.1:80 no-send-proxy", tm), got: gotServer,
			want: config.Server{Name: "s", Address: "10.0.0.1:80"}},
		{name: "accept-proxy", cfg: "frontend f\n bind :80 accept-proxy\n bind :81 accept-proxy\n timeout client 1s\n",
			got: func(c *config.Cluster) any { return fe0(c).AcceptProxy }, want: &config.AcceptProxy{}},
		{name: "accept-proxy on some binds only", cfg: "frontend f\n bind :80 accept-proxy\n bind :81\n timeout client 1s\n",
			got: func(*config.Cluster) any { return nil }, errs: []string{"3: bind :81 has no accept-proxy while other binds of frontend 'f' do"}},
	}
	runDirectiveCases(t, tests)
}

func runDirectiveCases(t *testing.T, tests []directiveCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, warns, errs := translateCfg(tc.cfg, tc.opts)
			checkPrefixes(t, "warnings", warnStrings(warns), tc.warns, true)
			checkPrefixes(t, "errors", errStrings(errs), tc.errs, false)
			if len(tc.errs) == 0 && c != nil {
				if diff := cmp.Diff(tc.want, tc.got(c)); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}
