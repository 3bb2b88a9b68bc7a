package runtimeapi

import (
	"context"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzRuntimeCommand feeds untrusted bytes through the whole request path
// (cut into requests, split into words, parsed, run against an in-memory
// cluster) at every level, and checks invariants:
//   - no request cut is longer than its input or holds an unescaped
//     delimiter, and splitting never yields more than maxArgs words;
//   - parsing is deterministic;
//   - a session below a command's level answers exactly "Permission
//     denied" and changes nothing, so a user-level socket never changes
//     state whatever it is sent;
//   - every Change handed to the cluster is well-formed (a known kind,
//     weights 0-256, a host:port address, maxconn not negative).
func FuzzRuntimeCommand(f *testing.F) {
	for _, seed := range []string{
		"help\n", "help show\n", "prompt\nshow backend\nquit\n", "quit\n", "\n", "foo bar\n", "show\n", "set\n",
		"set timeout cli 60\n", "set timeout cli 5ms\n", "set timeout cli x\n", "set timeout server 1\n",
		"show cli level\n", "show version\n", "operator\n", "user\n",
		"show servers state\n", "show servers state servers\n", "show servers state nope\n", "show backend\n",
		"disable health servers/server1\n", "enable health servers/server2\n",
		"disable server servers/server1\n", "enable server servers/server1\n",
		"set maxconn server servers/server1 10\n", "set maxconn server servers/server1 -3\n", "set maxconn server servers/server1 9x\n",
		"set server servers/server1 state drain\n", "set server servers/server1 state bogus\n",
		"set server servers/server1 weight 50%\n", "set server servers/server1 weight 257\n", "set server servers/server1 weight 3 x\n",
		"set server servers/server1 addr 10.0.0.1 port 80\n", "set server servers/server1 addr ::1 port +1\n", "set server servers/server1 addr x\n",
		"set server servers/server1 health up\n", "set server servers/server1 agent-addr\n", "set server servers/server1 fqdn a\n",
		"set server servers/server1 ssl on\n", "set server servers/server1 check-port 1\n", "set server servers/server1 nothing\n",
		"set server servers\n", "set server /server1 state ready\n", "set server nope/server1 state ready\n",
		"get weight servers/server2\n", "get weight servers\n", "set weight servers/server2 0%\n",
		"clear counters\n", "clear counters all\n",
		"show info\n", "show info typed\n", "show stat\n", "show stat typed\n", "show stat -1 -1 -1\n", "show stat 3 4 1 typed\n",
		"show stat servers -1 -1 no-maint up\n", "show stat domain proxy\n", "show stat domain dns\n",
		"show\\ backend;get weight servers/server\\1;", "a\\", "x <<\npayload\n\n", "\r\n;;;\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		buf := []byte(data)
		ctx := context.Background()
		for len(buf) > 0 {
			req, n, ok := cutRequest(buf)
			if !ok {
				break
			}
			if n > len(buf) || n < len(req) {
				t.Fatalf("cutRequest(%q) consumed %d of %d for a %d-byte request", buf, n, len(buf), len(req))
			}
			buf = buf[n:]
			words, _ := splitWords(req)
			if len(words) > maxArgs {
				t.Fatalf("%d words", len(words))
			}
			cmd := Parse(words)
			if again := Parse(words); !reflect.DeepEqual(cmd, again) {
				t.Fatalf("Parse not deterministic for %q", words)
			}
			for _, level := range []Level{LevelUser, LevelOperator, LevelAdmin} {
				m := &memCluster{view: articleView()}
				s := &session{cluster: m, level: level, socketLevel: level, timeout: time.Second}
				answer := s.execute(ctx, cmd)
				changes := m.recorded()
				if cmd.Need() > level {
					if answer != permissionDenied || len(changes) != 0 {
						t.Fatalf("%q at %v: answer %q, changes %v; want Permission denied and nothing", req, level, answer, changes)
					}
				}
				if level == LevelUser && len(changes) != 0 {
					t.Fatalf("%q: a user-level session changed state: %v", req, changes)
				}
				for _, c := range changes {
					checkChange(t, req, c)
				}
				if _, unknown := cmd.(Unknown); unknown && !strings.HasSuffix(answer, alwaysListed) {
					t.Fatalf("%q: usage answer does not end with help/prompt/quit: %q", req, answer)
				}
			}
		}
	})
}

func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	_, herr := netip.ParseAddr(host)
	p, perr := strconv.Atoi(port)
	return herr == nil && perr == nil && p > 0 && p < 65536
}

func checkChange(t *testing.T, req string, c Change) {
	t.Helper()
	switch c.Kind {
	case ChangeAdmin, ChangeCheck, ChangeClear:
	case ChangeWeight:
		if c.Weight < 0 || c.Weight > 256 {
			t.Fatalf("%q: weight %d", req, c.Weight)
		}
	case ChangeAddr:
		if !validHostPort(c.Addr) {
			t.Fatalf("%q: address %q", req, c.Addr)
		}
	case ChangeMaxConn:
		if c.MaxConn < 0 {
			t.Fatalf("%q: maxconn %d", req, c.MaxConn)
		}
	default:
		t.Fatalf("%q: change of unknown kind %v", req, c.Kind)
	}
	if c.Kind != ChangeClear && (c.Key.Backend != "servers" || (c.Key.Server != "server1" && c.Key.Server != "server2")) {
		t.Fatalf("%q: change of an unknown server %v", req, c.Key)
	}
}
