package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkCluster is a valid TCP cluster whose backend has hc and server s.
func checkCluster(hc *HealthCheck, s Server) *Cluster {
	s.Name = pickStr(s.Name, "s1")
	s.Address = pickStr(s.Address, "10.0.0.1:6379")
	return &Cluster{
		Frontends: []Frontend{{Name: "f", Mode: ModeTCP, Bind: []string{"*:6379"}, DefaultBackend: "b"}},
		Backends:  []Backend{{Name: "b", Mode: ModeTCP, HealthCheck: hc, Servers: []Server{s}}},
	}
}

func pickStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func tcpSteps(st ...CheckStep) *HealthCheck {
	return &HealthCheck{Type: CheckTCP, CheckRules: CheckRules{Steps: st}}
}

// TestValidateChecks: each rule of a check ruleset and of the check
// options, with the path of its error.
func TestValidateChecks(t *testing.T) {
	neg := -2
	tests := []struct {
		name string
		c    *Cluster
		want []string // "path: message prefix"; none: valid
	}{
		{"redis primary ruleset", checkCluster(tcpSteps(
			CheckStep{Connect: &CheckConnect{}}, CheckStep{Send: &CheckSend{Text: "PING\r\n"}},
			CheckStep{Expect: &CheckExpect{Match: MatchString, Pattern: "+PONG"}}), Server{Check: true}), nil},
		{"two actions in one step", checkCluster(tcpSteps(CheckStep{Send: &CheckSend{Text: "x"}, Expect: &CheckExpect{Match: MatchString, Pattern: "y"}}), Server{}),
			[]string{"backends[b].health_check.steps[0]: want exactly one of connect, send and expect (got 2)"}},
		{"bad regex", checkCluster(tcpSteps(CheckStep{Expect: &CheckExpect{Match: MatchRString, Pattern: "(a"}}), Server{}),
			[]string{`backends[b].health_check.steps[0].expect.pattern: regular expression "(a" does not compile (Go RE2 syntax): missing closing )`}},
		{"odd hex digits", checkCluster(tcpSteps(CheckStep{Send: &CheckSend{Hex: "abc"}}), Server{}),
			[]string{`backends[b].health_check.steps[0].send.hex: hex string "abc" has an odd number of digits (3)`}},
		{"not hex", checkCluster(tcpSteps(CheckStep{Expect: &CheckExpect{Match: MatchBinary, Pattern: "zz"}}), Server{}),
			[]string{`backends[b].health_check.steps[0].expect.pattern: hex string "zz": 'z' is not a hex digit`}},
		{"status match in a tcp check", checkCluster(tcpSteps(CheckStep{Expect: &CheckExpect{Match: MatchStatus, Pattern: "200"}}), Server{}),
			[]string{"backends[b].health_check.steps[0].expect.match: a tcp check matches string, rstring, binary or rbinary"}},
		{"no match", checkCluster(tcpSteps(CheckStep{Expect: &CheckExpect{Pattern: "x"}}), Server{}),
			[]string{"backends[b].health_check.steps[0].expect.match: required"}},
		{"bad statuses", checkCluster(tcpSteps(CheckStep{Expect: &CheckExpect{Match: MatchString, Pattern: "x", OKStatus: "L7STS", MinRecv: &neg}}), Server{}),
			[]string{"backends[b].health_check.steps[0].expect.min_recv: want -1 or more", "backends[b].health_check.steps[0].expect.ok_status: want one of L7OK"}},
		{"connect later but not first", checkCluster(tcpSteps(CheckStep{Send: &CheckSend{Text: "x"}}, CheckStep{Connect: &CheckConnect{Port: 8080}}), Server{}),
			[]string{"backends[b].health_check.steps[0]: a ruleset with connect steps must start with one"}},
		{"send format with a fetch", checkCluster(tcpSteps(CheckStep{Send: &CheckSend{Format: "%[date]"}}), Server{}),
			[]string{`backends[b].health_check.steps[0].send.format: format "%[date]": %[date] is not supported`}},
		{"sni without tls", checkCluster(tcpSteps(CheckStep{Connect: &CheckConnect{SNI: "a"}}), Server{}),
			[]string{"backends[b].health_check.steps[0].connect.tls: sni and alpn need tls: true"}},
		{"steps on a protocol check", checkCluster(&HealthCheck{Type: CheckRedis, CheckRules: CheckRules{Steps: []CheckStep{{Send: &CheckSend{Text: "x"}}}}}, Server{}),
			[]string{"backends[b].health_check.steps: only tcp and http checks take steps"}},
		{"pgsql without user", checkCluster(&HealthCheck{Type: CheckPgSQL}, Server{}),
			[]string{"backends[b].health_check.user: a pgsql check needs a user"}},
		{"smtp hello", checkCluster(&HealthCheck{Type: CheckSMTP, CheckRules: CheckRules{Hello: "HI there"}}, Server{}),
			[]string{`backends[b].health_check.hello: want "HELO domain" or "EHLO domain"`}},
		{"http sequence order", checkCluster(&HealthCheck{Type: CheckHTTP, CheckRules: CheckRules{Steps: []CheckStep{
			{Send: &CheckSend{URI: "/a"}}, {Send: &CheckSend{URI: "/b"}}, {Expect: &CheckExpect{Match: MatchBinary, Pattern: "00"}}}}}, Server{}),
			[]string{"backends[b].health_check.steps[1]: an http-check send must follow a connect or an expect",
				"backends[b].health_check.steps[2].expect.match: an http check matches status, rstatus, string or rstring"}},
		{"agent without port", checkCluster(nil, Server{ServerCheck: ServerCheck{Agent: &AgentCheck{}}}),
			[]string{"backends[b].servers[s1].agent.port: required, 1-65535"}},
		{"observe without check", checkCluster(nil, Server{ServerCheck: ServerCheck{Observe: &Observe{Layer: ObserveLayer4}}}),
			[]string{"backends[b].servers[s1].observe: observe needs check: true"}},
		{"check address", checkCluster(nil, Server{ServerCheck: ServerCheck{CheckAddr: "db.local", CheckPort: 70000}}),
			[]string{"backends[b].servers[s1].check_port: want 1-65535", `backends[b].servers[s1].check_addr: want an IP address (got "db.local")`}},
		{"v2 options without v2", checkCluster(nil, Server{ServerProxy: ServerProxy{SendProxy: ProxyV1, ProxyV2Authority: true}}),
			[]string{"backends[b].servers[s1].send_proxy: proxy_v2_authority and proxy_v2_crc32c need send_proxy: v2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			var got []string
			if es, ok := err.(Errors); ok {
				for _, e := range es {
					got = append(got, e.Error())
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d = %q, want prefix %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestValidateAcceptProxy(t *testing.T) {
	c := checkCluster(nil, Server{})
	c.Frontends[0].AcceptProxy = &AcceptProxy{Trusted: []string{"10.0.0.0/8", "192.0.2.7", "nope", "10.0.0.0/33"}}
	err := c.Validate()
	want := "frontends[f].accept_proxy.trusted[2]: want an address or a prefix like 10.0.0.0/8 (got \"nope\")"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "trusted[3]") {
		t.Fatalf("Validate = %v, want errors for trusted[2] and trusted[3]", err)
	}
	p, _ := (&AcceptProxy{Trusted: []string{"10.1.2.3/8", "::ffff:192.0.2.7"}}).TrustedPrefixes()
	if got := []string{p[0].String(), p[1].String()}; !cmp.Equal(got, []string{"10.0.0.0/8", "192.0.2.7/32"}) {
		t.Errorf("prefixes %v", got)
	}
}

func TestResolveCheckDefaults(t *testing.T) {
	c := checkCluster(nil, Server{Check: true, ServerCheck: ServerCheck{Agent: &AgentCheck{Port: 9999}, Observe: &Observe{Layer: ObserveLayer4}}})
	s := c.Resolve().Backends[0].Servers[0]
	if s.Agent.Inter != DefaultAgentInter || s.Observe.ErrorLimit != DefaultErrorLimit || s.Observe.OnError != OnErrorFailCheck {
		t.Errorf("resolved agent %+v observe %+v", s.Agent, s.Observe)
	}
	for code, ok := range map[int]bool{100: true, 404: true, 499: true, 500: false, 501: true, 502: false, 505: true, 599: false} {
		if ObservedStatusOK(code) != ok {
			t.Errorf("ObservedStatusOK(%d) = %v", code, !ok)
		}
	}
}

func TestChecksRoundTripYAML(t *testing.T) {
	c := checkCluster(tcpSteps(CheckStep{Connect: &CheckConnect{Port: 26379, TLS: true}, Comment: "c"},
		CheckStep{Send: &CheckSend{Text: "PING\r\n"}}, CheckStep{Expect: &CheckExpect{Match: MatchRBinary, Pattern: "^2b", Not: true}}),
		Server{Check: true, ServerCheck: ServerCheck{Agent: &AgentCheck{Port: 1}, Observe: &Observe{Layer: ObserveLayer7, OnError: OnErrorSuddenDeath}},
			ServerProxy: ServerProxy{SendProxy: ProxyV2}})
	c.Frontends[0].AcceptProxy = &AcceptProxy{Trusted: []string{"10.0.0.0/8"}}
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load("c.yaml", out)
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, out)
	}
	if diff := cmp.Diff(c, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\n%s", diff, out)
	}
}
