package health

import (
	"slices"
	"strings"
	"testing"

	"github.com/tandem-lb/tandem/config"
)

// knownStatuses are the check statuses a failing step may report.
var knownStatuses = []string{"L7OKC", "L7RSP", "L7STS", "L6RSP", "L4CON", "L7TOUT", "L6TOUT", "L4TOUT"}

// FuzzServerReplies feeds any bytes, as what a server answered, to every
// expect step of the built-in rulesets and of the HTTP check: none may
// panic, a failure names a known status, and once no more data can come
// no step asks to wait.
func FuzzServerReplies(f *testing.F) {
	for _, s := range []string{
		"+PONG\r\n", "-ERR\r\n", "220 mx ESMTP\r\n", "250-a\r\n250 OK\r\n", "554 no\r\n",
		"R\x00\x00\x00\x08\x00\x00\x00\x00", "E\x00\x00\x00\x10SFATAL\x00Mno\x00\x00",
		"\x0a\x00\x00\x00\x0a5.7\x00", "\x07\x00\x00\x02\xff\x15\x04#28000no",
		"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00", "\x30\x84\x00\x00\x00\x0c\x02", "\x30\x82\xff",
		"\x15\x03\x01\x00\x02\x02\x46", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\nx", "HTTP/1.0 404\n\nbody", "up 50%\n", "drain",
	} {
		f.Add([]byte(s))
	}
	var rulesets []*ruleset
	for _, typ := range []config.CheckType{config.CheckRedis, config.CheckSMTP, config.CheckLDAP, config.CheckSSLHello} {
		rs, _ := protocolRuleset(&config.HealthCheck{Type: typ})
		rulesets = append(rulesets, rs)
	}
	rulesets = append(rulesets, mysqlCheck("u", false), mysqlCheck("", false), pgsqlCheck("u"),
		agentRuleset(&config.AgentCheck{Port: 1}),
		simpleHTTP(&config.HealthCheck{Method: "GET", Path: "/", Version: "HTTP/1.0", DisableOn404: true}, "a:1"))
	body := &expectStep{match: config.MatchString, lit: []byte("ok"), http: true, minRecv: -1, errStatus: "L7RSP"}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, rs := range rulesets {
			steps := append(slices.Clone(rs.steps), step{kind: stepExpect, expect: body})
			for i, st := range steps {
				if st.kind != stepExpect {
					continue
				}
				for _, last := range []bool{false, true} {
					code := 0
					var ag agentReply
					x := &evalCtx{buf: b, last: last, isLast: i == len(steps)-1, code: &code, agent: &ag}
					out := st.expect.eval(x)
					switch {
					case out.r == evalStop && !slices.Contains(knownStatuses, out.status):
						t.Fatalf("%s step %d: status %q", rs.proto, i, out.status)
					case out.r == evalWait && last && st.expect.custom != nil:
						t.Fatalf("%s step %d waits after the last byte", rs.proto, i)
					}
				}
			}
		}
	})
}

// FuzzAgentReply checks the agent parser: values stay in range, only the
// first line counts, and String never panics.
func FuzzAgentReply(f *testing.F) {
	for _, s := range []string{"up", "down#why", "drain,50%", "ready 100% maxconn:10", "12x%", "99999999999999999999%", "fail\tmaint # x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := parseAgentReply(s)
		if a.weight < -1 || a.weight > 100*config.MaxWeight {
			t.Fatalf("weight %d", a.weight)
		}
		if !slices.Contains([]string{"", "up", "down", "fail", "stopped"}, a.health) || !slices.Contains([]string{"", "ready", "drain", "maint"}, a.admin) {
			t.Fatalf("health %q admin %q", a.health, a.admin)
		}
		if !strings.ContainsAny(s, "\r\n") {
			if b := parseAgentReply(s + "\nup 1%"); b != a {
				t.Fatalf("a second line changed the answer: %+v vs %+v", b, a)
			}
		}
		_ = a.String()
	})
}
