package runtimeapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

// run executes one request line at a level and returns the answer.
func run(t *testing.T, m *memCluster, level Level, line string) string {
	t.Helper()
	s := &session{cluster: m, level: level, socketLevel: level, timeout: time.Second}
	words, _ := splitWords(line)
	return s.execute(context.Background(), Parse(words))
}

// TestAnswersAsHAProxy checks answers that HAProxy 2.6 gives word for word
// (captured from Debian's haproxy 2.6.12 with the same backend and servers;
// testenv/runtimeapi compares them against a running HAProxy).
func TestAnswersAsHAProxy(t *testing.T) {
	srv := key("servers", "server1")
	tests := []struct {
		line   string
		level  Level
		want   string
		change *Change
	}{
		{"set server servers/server1 state drain", LevelAdmin, "", &Change{Kind: ChangeAdmin, Key: srv, Admin: config.AdminDrain}},
		{"set server servers/server1 state maint", LevelAdmin, "", &Change{Kind: ChangeAdmin, Key: srv, Admin: config.AdminMaint}},
		{"set server servers/nope state drain", LevelAdmin, "No such server.\n", nil},
		{"set server nope/server1 state drain", LevelAdmin, "No such backend.\n", nil},
		{"set server servers state drain", LevelAdmin, "Require 'backend/server'.\n", nil},
		{"set server servers/server1", LevelAdmin, "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n", nil},
		{"set server servers/server1 state foo", LevelAdmin, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n", nil},
		{"set server servers/server1 weight 50%", LevelAdmin, "", &Change{Kind: ChangeWeight, Key: key("servers", "server2"), Weight: 0}},
		{"set server servers/server1 weight 300", LevelAdmin, "Absolute weight can only be between 0 and 256 inclusive.\n", nil},
		{"set server servers/server1 weight abc", LevelAdmin, "Empty weight string empty or preceded by garbage", nil},
		{"set server servers/server1 weight 3x", LevelAdmin, "Trailing garbage in weight string", nil},
		{"set server servers/server1 weight -5%", LevelAdmin, "Relative weight must be positive.\n", nil},
		{"set server servers/server1 weight", LevelAdmin, "Require <weight> or <weight%>.\n", nil},
		{"set weight servers/server2 3", LevelAdmin, "", &Change{Kind: ChangeWeight, Key: key("servers", "server2"), Weight: 3}},
		{"get weight servers/server2", LevelUser, "5 (initial 5)\n", nil},
		{"get weight servers", LevelUser, "Require 'backend/server'.\n", nil},
		{"get weight /server1", LevelUser, "No such backend.\n", nil},
		{"set server servers/server1 addr 127.0.0.2 port 37003", LevelAdmin,
			"IP changed from '127.0.0.1' to '127.0.0.2', port changed from '8001' to '37003' by 'stats socket command'\n",
			&Change{Kind: ChangeAddr, Key: srv, Addr: "127.0.0.2:37003"}},
		{"set server servers/server1 addr 127.0.0.1", LevelAdmin, "no need to change the addr by 'stats socket command'\n", nil},
		{"set server servers/server1 addr 127.0.0.1 port 8001", LevelAdmin, "no need to change the addr, no need to change the port by 'stats socket command'\n", nil},
		{"set server servers/server1 addr bad", LevelAdmin, "Invalid addr 'bad' by 'stats socket command'\n", nil},
		{"set server servers/server1 addr 127.0.0.1 port x", LevelAdmin, "no need to change the addr, problem converting port 'x' to an int by 'stats socket command'\n", nil},
		{"set server servers/server1 addr", LevelAdmin, "set server <b>/<s> addr requires an address and optionally a port.\n", nil},
		{"enable server servers/server1", LevelAdmin, "", &Change{Kind: ChangeAdmin, Key: srv, Admin: config.AdminReady}},
		{"disable server servers/server1", LevelAdmin, "", &Change{Kind: ChangeAdmin, Key: srv, Admin: config.AdminMaint}},
		{"disable health servers/server1", LevelAdmin, "", &Change{Kind: ChangeCheck, Key: srv, Check: false}},
		{"enable health servers/server1", LevelAdmin, "", &Change{Kind: ChangeCheck, Key: srv, Check: true}},
		{"enable health servers/server2", LevelAdmin, "Health check was not configured on this server, cannot enable.\n", nil},
		{"set maxconn server servers/server1 10", LevelAdmin, "", &Change{Kind: ChangeMaxConn, Key: srv, MaxConn: 10}},
		{"set maxconn server servers/server1 x", LevelAdmin, "maxconn string empty or preceded by garbage", nil},
		{"set maxconn server servers/server1 5y", LevelAdmin, "Trailing garbage in maxconn string", nil},
		{"set maxconn server servers/server1", LevelAdmin, "Require <maxconn>.\n", nil},
		{"clear counters", LevelOperator, "", nil},
		{"clear counters all", LevelAdmin, "", &Change{Kind: ChangeClear, All: true}},
		{"show servers state nope", LevelUser, "Can't find backend.\n", nil},
		{"show stat nope -1 -1", LevelUser, "No such proxy.\n", nil},
		{"show stat domain foo", LevelUser, "Invalid statistics domain.\n", nil},
		{"show backend", LevelUser, "# name\nservers\n", nil},
		{"show cli level", LevelOperator, "operator\n", nil},
		{"set timeout cli 60", LevelUser, "", nil},
		{"set timeout cli", LevelUser, "Expects an integer value.\n", nil},
		{"set timeout cli 0", LevelUser, "Invalid timeout value.\n", nil},
		{"set timeout server 5", LevelUser, "'set timeout' only supports 'cli'.\n", nil},
		{"set server servers/server1 agent up", LevelAdmin, "agent checks are not enabled on this server.\n", nil},
		{"set server servers/server1 fqdn example.com", LevelAdmin, "set server <b>/<s> fqdn failed because no resolution is configured.\n", nil},
		// A user-level socket may read but never write: HAProxy answers
		// "Permission denied" before looking at the arguments.
		{"set server servers/server1 state drain", LevelUser, "Permission denied\n", nil},
		{"set server servers/nope state drain", LevelOperator, "Permission denied\n", nil},
		{"set server servers/server1", LevelUser, "Permission denied\n", nil},
		{"disable server servers/server1", LevelUser, "Permission denied\n", nil},
		{"set weight servers/server1 3", LevelUser, "Permission denied\n", nil},
		{"clear counters", LevelUser, "Permission denied\n", nil},
		{"clear counters all", LevelOperator, "Permission denied\n", nil},
		{"disable health servers/server1", LevelUser, "Permission denied\n", nil},
		{"set maxconn server servers/server1 10", LevelUser, "Permission denied\n", nil},
		{"operator", LevelUser, "Permission denied\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.level.String()+"/"+tt.line, func(t *testing.T) {
			m := &memCluster{view: articleView()}
			if strings.Contains(tt.line, "weight 50%") {
				// 50% of server1's initial weight 1 is 0 (integer division).
				tt.change.Key = srv
			}
			got := run(t, m, tt.level, tt.line)
			if got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
			var want []Change
			if tt.change != nil {
				want = []Change{*tt.change}
			}
			if d := cmp.Diff(want, m.recorded()); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
		})
	}
}

func key(b, s string) config.ServerKey { return config.ServerKey{Backend: b, Server: s} }

func TestStaticAlgorithmTakesOnlyZeroAndInitialWeight(t *testing.T) {
	m := &memCluster{view: articleView()}
	m.view.Backends[0].Algo = config.AlgoStaticRR
	if got := run(t, m, LevelAdmin, "set server servers/server2 weight 3"); got != "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n" {
		t.Errorf("weight 3 on static-rr: %q", got)
	}
	for _, w := range []string{"0%", "100%", "5", "0"} {
		if got := run(t, m, LevelAdmin, "set server servers/server2 weight "+w); got != "" {
			t.Errorf("weight %s on static-rr: %q", w, got)
		}
	}
}

func TestLevelCanOnlyBeLowered(t *testing.T) {
	m := &memCluster{view: articleView()}
	s := &session{cluster: m, level: LevelAdmin, socketLevel: LevelAdmin, timeout: time.Second}
	ctx := context.Background()
	for _, step := range []struct{ line, want string }{
		{"show cli level", "admin\n"},
		{"operator", ""},
		{"show cli level", "operator\n"},
		{"set server servers/server1 state drain", "Permission denied\n"},
		{"user", ""},
		{"operator", "Permission denied\n"},
		{"show cli level", "user\n"},
	} {
		words, _ := splitWords(step.line)
		if got := s.execute(ctx, Parse(words)); got != step.want {
			t.Errorf("%q: %q, want %q", step.line, got, step.want)
		}
	}
	if len(m.recorded()) != 0 {
		t.Errorf("a lowered session changed state: %v", m.recorded())
	}
}

func TestChangeErrorsAreAnswered(t *testing.T) {
	m := &memCluster{view: articleView(), err: errors.Join(errors.New("raft: no leader"), ErrNoQuorum)}
	if got := run(t, m, LevelAdmin, "set server servers/server1 state drain"); !strings.HasPrefix(got, "No quorum: the change was not applied") {
		t.Errorf("no quorum: %q", got)
	}
	m.err = ErrNoSuchServer // removed between the view and the change
	if got := run(t, m, LevelAdmin, "set server servers/server1 state drain"); got != "No such server.\n" {
		t.Errorf("server gone: %q", got)
	}
	m.err = errors.New("config version conflict")
	if got := run(t, m, LevelAdmin, "set maxconn server servers/server1 5"); got != "Change not applied: config version conflict.\n" {
		t.Errorf("other error: %q", got)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		line  string
		first string
		has   []string
		lacks []string
	}{
		{"", "Unknown command. Please enter one of the following commands only:", []string{"show stat [", "set server <bk>/<srv>", "quit"}, nil},
		{"foo", "Unknown command, but maybe one of the following ones is a better match:", []string{"help [<command>]"}, nil},
		{"show foo", "Unknown command, but maybe one of the following ones is a better match:", []string{"show info"}, []string{"set server"}},
		{"show servers", "Unknown command, but maybe one of the following ones is a better match:", []string{"show servers state [<backend>]"}, []string{"show info"}},
		{"show", "Unknown command, but maybe one of the following ones is a better match:", []string{"show backend", "show stat", "show servers state"}, []string{"set server"}},
		{"help", "The following commands are valid at this level:", []string{"clear counters [all]", "get weight"}, nil},
		{"help set server", "The following commands are valid at this level:", []string{"set server <bk>/<srv> [opts]"}, []string{"set weight"}},
		{"show stats", "Unknown command, but maybe one of the following ones is a better match:", []string{"show stat ["}, []string{"show backend"}},
	}
	for _, tt := range tests {
		m := &memCluster{view: articleView()}
		got := run(t, m, LevelUser, tt.line)
		if first, _, _ := strings.Cut(got, "\n"); first != tt.first {
			t.Errorf("%q: first line %q, want %q", tt.line, first, tt.first)
		}
		if !strings.HasSuffix(got, alwaysListed) {
			t.Errorf("%q: does not end with help, prompt and quit:\n%s", tt.line, got)
		}
		for _, h := range tt.has {
			if !strings.Contains(got, "  "+h) {
				t.Errorf("%q: lacks %q:\n%s", tt.line, h, got)
			}
		}
		for _, l := range tt.lacks {
			if strings.Contains(got, "  "+l) {
				t.Errorf("%q: lists %q:\n%s", tt.line, l, got)
			}
		}
	}
}
