package runtimeapi

import (
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/testenv/proctest"
)

// TestSocatDrainOnOneNodeStopsTheOther is the proof: a drain sent
// with socat to node 1's socket makes node 2's balancer stop sending new
// requests to server1, because it goes through the replicated state.
func TestSocatDrainOnOneNodeStopsTheOther(t *testing.T) {
	p := startPair(t)
	load(t, p.front, 40)
	proctest.WaitFor(t, "lb2 serving requests to server1 before the drain", 20*time.Second, func() bool {
		if serverRequests(t, p.lb2, "server1") > 0 {
			return true
		}
		load(t, p.front, 10)
		return false
	})

	if out := socat(t, p.admin(p.lb1), "set server http-in/server1 state drain"); out != "\n" {
		t.Fatalf("drain on lb1's socket answered %q, want HAProxy's empty answer", out)
	}
	proctest.WaitFor(t, "lb2 to drain server1", 10*time.Second, func() bool {
		s := serverOn(t, p.lb2, "server1")
		return s.Admin == config.AdminDrain && !s.Routed
	})
	before1, before2 := serverRequests(t, p.lb2, "server1"), serverRequests(t, p.lb2, "server2")
	frontBefore := own(t, p.lb2).Stats.Frontends[0].Requests
	load(t, p.front, 60)
	after1, after2 := serverRequests(t, p.lb2, "server1"), serverRequests(t, p.lb2, "server2")
	frontAfter := own(t, p.lb2).Stats.Frontends[0].Requests
	if frontAfter == frontBefore {
		t.Fatalf("lb2 got none of the 60 requests: the kernel sent them all to lb1, the test proves nothing")
	}
	if after1 != before1 {
		t.Errorf("lb2 sent %d new requests to the drained server1", after1-before1)
	}
	if after2-before2 != frontAfter-frontBefore {
		t.Errorf("lb2 took %d requests but sent %d to server2", frontAfter-frontBefore, after2-before2)
	}
	t.Logf("after the drain lb2 took %d requests, all to server2", frontAfter-frontBefore)

	// The other node's socket shows it too, in HAProxy's terms.
	stat := socat(t, p.admin(p.lb2), "show stat")
	if !strings.Contains(stat, "\nhttp-in,server1,") || !strings.Contains(stat, ",DRAIN,") {
		t.Errorf("lb2's show stat does not show server1 draining:\n%s", stat)
	}
	socat(t, p.admin(p.lb2), "set server http-in/server1 state ready")
	proctest.WaitFor(t, "lb1 to see server1 ready again (set on lb2)", 10*time.Second, func() bool {
		s := serverOn(t, p.lb1, "server1")
		return s.Admin == config.AdminReady && s.Routed
	})
}

// TestUserSocketCannotWrite: a level user socket answers HAProxy's
// "Permission denied" and nothing changes on any node; bad input gets
// HAProxy's answers.
func TestUserSocketCannotWrite(t *testing.T) {
	p := startPair(t)
	for _, cmd := range []string{"set server http-in/server1 state maint", "disable server http-in/server1",
		"set weight http-in/server1 0", "disable health http-in/server1", "clear counters all"} {
		if out := socat(t, p.user(p.lb1), cmd); out != "Permission denied\n\n" {
			t.Errorf("%q on a user socket: %q", cmd, out)
		}
	}
	for _, n := range []*proctest.Node{p.lb1, p.lb2} {
		if s := serverOn(t, n, "server1"); s.Admin != config.AdminReady || !s.Routed {
			t.Errorf("%s: server1 %v routed=%v after refused writes", n.Name, s.Admin, s.Routed)
		}
	}
	if st, _ := p.lb1.Status(); st.Version != 1 {
		t.Errorf("config version %d after refused writes, want 1", st.Version)
	}
	for cmd, want := range map[string]string{
		"set server http-in/nope state drain":   "No such server.\n\n",
		"set server nope/server1 state drain":   "No such backend.\n\n",
		"set server http-in/server1 state half": "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n",
		"set server http-in/server1 weight 999": "Absolute weight can only be between 0 and 256 inclusive.\n\n",
	} {
		if out := socat(t, p.admin(p.lb1), cmd); out != want {
			t.Errorf("%q: %q, want %q", cmd, out, want)
		}
	}
	if out := socat(t, p.user(p.lb1), "show sess"); !strings.HasPrefix(out, "Unknown command, but maybe one of the following ones is a better match:\n") {
		t.Errorf("unknown command: %q", out)
	}
}

// TestSocketChangesAreConfigVersions: set server addr, set maxconn and
// disable health commit a new config version every node serves.
func TestSocketChangesAreConfigVersions(t *testing.T) {
	p := startPair(t)
	addr := serverOn(t, p.lb1, "server2").Address
	if out := socat(t, p.admin(p.lb1), "set maxconn server http-in/server2 7"); out != "\n" {
		t.Fatalf("set maxconn: %q", out)
	}
	if out := socat(t, p.admin(p.lb2), "disable health http-in/server2"); out != "\n" {
		t.Fatalf("disable health: %q", out)
	}
	proctest.WaitFor(t, "both nodes on version 3", 10*time.Second, func() bool {
		a, err1 := p.lb1.Status()
		b, err2 := p.lb2.Status()
		return err1 == nil && err2 == nil && a.Version == 3 && b.Version == 3
	})
	stat := socat(t, p.admin(p.lb2), "show stat")
	var row string
	for _, l := range strings.Split(stat, "\n") {
		if strings.HasPrefix(l, "http-in,server2,") {
			row = l
		}
	}
	f := strings.Split(row, ",")
	if len(f) < 74 || f[6] != "7" || f[17] != "no check" || f[73] != addr {
		t.Errorf("server2 on lb2: slim %q status %q addr %q; want 7, no check, %s\n%s", at(f, 6), at(f, 17), at(f, 73), addr, row)
	}
	h, err := p.lb1.Client().History(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if last := h[len(h)-1].Message; !strings.Contains(last, "runtime api on lb2: disable health http-in/server2") {
		t.Errorf("config history does not say where the change came from: %q", last)
	}
}

func at(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}
