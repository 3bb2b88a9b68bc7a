package vip

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mem builds a member whose meta for VIP "web" is described by flags:
// e eligible, h holding, r releasing, d dead, w witness, f fault, x no
// entry for the VIP at all.
func mem(name string, prio int, flags string) Member {
	m := Member{Name: name, Alive: !strings.Contains(flags, "d"), Role: roleVoter}
	if strings.Contains(flags, "w") {
		m.Role = roleWitness
	}
	m.Meta.Fault = strings.Contains(flags, "f")
	if !strings.Contains(flags, "x") {
		m.Meta.VIPs = map[string]VIPMeta{"web": {
			Priority:  prio,
			Eligible:  strings.Contains(flags, "e"),
			Holding:   strings.Contains(flags, "h"),
			Releasing: strings.Contains(flags, "r"),
		}}
	}
	return m
}

// selfOf is the local candidate of node a as the Manager computes it.
func selfOf(members []Member, name string) candidate {
	for _, m := range members {
		if m.Name == name {
			vm := m.Meta.VIPs["web"]
			return candidate{name: name, priority: vm.Priority, alive: true,
				eligible: vm.Eligible && !vm.Releasing, holding: vm.Holding}
		}
	}
	return candidate{name: name, priority: 1, alive: true}
}

type electResult struct {
	Holder, Best, Current string
	PreemptAt             time.Time
	WaitBest, WaitCurrent string
	WaitSince             time.Time
}

func TestElect(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	preempt := electRules{preempt: true}
	delayed := electRules{preempt: true, delay: 2 * time.Second}
	nopreempt := electRules{preempt: false}
	tests := []struct {
		name    string
		members []Member
		rules   electRules
		wait    preemptWait
		now     time.Time
		want    electResult
	}{
		{"single eligible node holds", []Member{mem("a", 100, "e")}, preempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a"}},
		{"highest priority holds", []Member{mem("a", 100, "e"), mem("b", 150, "e"), mem("c", 120, "e")}, preempt, preemptWait{}, t0,
			electResult{Holder: "b", Best: "b"}},
		{"tie goes to the lowest name", []Member{mem("c", 100, "e"), mem("a", 100, "e"), mem("b", 100, "e")}, preempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a"}},
		{"ineligible highest priority is skipped", []Member{mem("a", 100, "e"), mem("b", 200, "")}, preempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a"}},
		{"dead node is skipped", []Member{mem("a", 100, "e"), mem("b", 200, "ed")}, preempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a"}},
		{"dead node's claim is ignored", []Member{mem("a", 100, "e"), mem("b", 200, "ehd")}, nopreempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a"}},
		{"witness never holds", []Member{mem("a", 100, "e"), mem("w", 255, "ew")}, preempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a"}},
		{"node in fault that the link fenced never holds", []Member{mem("a", 100, "e"), mem("b", 200, "f")}, preempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a"}},
		{"node in fault that the link allowed competes", []Member{mem("a", 100, "e"), mem("b", 200, "ef")}, preempt, preemptWait{}, t0,
			electResult{Holder: "b", Best: "b"}},
		{"releasing node never holds", []Member{mem("a", 100, "e"), mem("b", 200, "ehr")}, preempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a"}},
		{"node without meta for the vip never holds", []Member{mem("a", 100, "e"), mem("b", 200, "x")}, preempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a"}},
		{"no eligible node", []Member{mem("a", 100, ""), mem("b", 200, "d")}, preempt, preemptWait{}, t0,
			electResult{}},
		{"preempt without delay takes over at once", []Member{mem("a", 150, "e"), mem("b", 100, "eh")}, preempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a", Current: "b", WaitBest: "a", WaitCurrent: "b", WaitSince: t0}},
		{"preempt_delay starts a wait", []Member{mem("a", 150, "e"), mem("b", 100, "eh")}, delayed, preemptWait{}, t0,
			electResult{Holder: "b", Best: "a", Current: "b", PreemptAt: t0.Add(2 * time.Second), WaitBest: "a", WaitCurrent: "b", WaitSince: t0}},
		{"preempt_delay not yet over", []Member{mem("a", 150, "e"), mem("b", 100, "eh")}, delayed,
			preemptWait{best: "a", current: "b", since: t0}, t0.Add(1999 * time.Millisecond),
			electResult{Holder: "b", Best: "a", Current: "b", PreemptAt: t0.Add(2 * time.Second), WaitBest: "a", WaitCurrent: "b", WaitSince: t0}},
		{"preempt_delay over", []Member{mem("a", 150, "e"), mem("b", 100, "eh")}, delayed,
			preemptWait{best: "a", current: "b", since: t0}, t0.Add(2 * time.Second),
			electResult{Holder: "a", Best: "a", Current: "b", WaitBest: "a", WaitCurrent: "b", WaitSince: t0}},
		{"preempt_delay restarts when the holder changed", []Member{mem("a", 150, "e"), mem("c", 100, "eh")}, delayed,
			preemptWait{best: "a", current: "b", since: t0}, t0.Add(5 * time.Second),
			electResult{Holder: "c", Best: "a", Current: "c", PreemptAt: t0.Add(7 * time.Second), WaitBest: "a", WaitCurrent: "c", WaitSince: t0.Add(5 * time.Second)}},
		{"no delay when the holder died", []Member{mem("a", 150, "e"), mem("b", 100, "ehd")}, delayed,
			preemptWait{best: "a", current: "b", since: t0}, t0.Add(time.Second),
			electResult{Holder: "a", Best: "a"}},
		{"nopreempt keeps a healthy holder", []Member{mem("a", 150, "e"), mem("b", 100, "eh")}, nopreempt, preemptWait{}, t0,
			electResult{Holder: "b", Best: "a", Current: "b"}},
		{"nopreempt: ineligible holder loses it", []Member{mem("a", 150, "e"), mem("b", 100, "h")}, nopreempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a"}},
		{"nopreempt: dead holder loses it", []Member{mem("a", 150, "e"), mem("b", 100, "ehd"), mem("c", 120, "e")}, nopreempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a"}},
		{"dual claim: higher priority keeps it", []Member{mem("a", 100, "eh"), mem("b", 150, "eh")}, nopreempt, preemptWait{}, t0,
			electResult{Holder: "b", Best: "b", Current: "b"}},
		{"dual claim tie: lower name keeps it", []Member{mem("b", 100, "eh"), mem("a", 100, "eh")}, nopreempt, preemptWait{}, t0,
			electResult{Holder: "a", Best: "a", Current: "a"}},
		{"dual claim under preempt: the better claimer, not the best node", []Member{mem("a", 100, "eh"), mem("b", 120, "eh"), mem("c", 200, "e")}, delayed, preemptWait{}, t0,
			electResult{Holder: "b", Best: "c", Current: "b", PreemptAt: t0.Add(2 * time.Second), WaitBest: "c", WaitCurrent: "b", WaitSince: t0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every live LB node computes the same result (a dead node
			// or a witness would see itself differently).
			for _, m := range tt.members {
				if !m.Alive || m.Role == roleWitness {
					continue
				}
				self := m.Name
				cands := candidates(View{Members: tt.members}, "web", selfOf(tt.members, self))
				d, w := elect(cands, tt.rules, tt.wait, tt.now)
				got := electResult{Holder: d.holder, Best: d.best, Current: d.current, PreemptAt: d.preemptAt,
					WaitBest: w.best, WaitCurrent: w.current, WaitSince: w.since}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("seen from %s: elect (-want +got):\n%s", self, diff)
				}
				if d.reason == "" {
					t.Errorf("seen from %s: decision has no reason", self)
				}
			}
		})
	}
}

// Every node that sees the same view computes the same holder, whatever
// the order of the members.
func TestElectIsIndependentOfMemberOrder(t *testing.T) {
	members := []Member{mem("d", 120, "e"), mem("b", 150, "e"), mem("a", 150, "eh"), mem("c", 90, "e")}
	var holders []string
	for i := range members {
		rot := append(append([]Member(nil), members[i:]...), members[:i]...)
		cands := candidates(View{Members: rot}, "web", selfOf(rot, rot[0].Name))
		d, _ := elect(cands, electRules{preempt: true}, preemptWait{}, time.Time{})
		holders = append(holders, d.holder)
	}
	if diff := cmp.Diff([]string{"a", "a", "a", "a"}, holders); diff != "" {
		t.Errorf("holders (-want +got):\n%s", diff)
	}
}

func TestQuorum(t *testing.T) {
	tests := []struct {
		name      string
		members   []Member
		voters    int
		wantAlive int
		wantOK    bool
	}{
		{"unknown voters: no fencing", []Member{mem("a", 1, "")}, 0, 1, true},
		{"two voters, peer dead: no fencing (cannot tell)", []Member{mem("a", 1, ""), mem("b", 1, "d")}, 2, 1, true},
		{"three voters, two alive", []Member{mem("a", 1, ""), mem("b", 1, ""), mem("c", 1, "d")}, 3, 2, true},
		{"three voters, alone", []Member{mem("a", 1, ""), mem("b", 1, "d"), mem("c", 1, "d")}, 3, 1, false},
		{"three voters, witness counts", []Member{mem("a", 1, ""), mem("b", 1, "d"), mem("w", 1, "w")}, 3, 2, true},
		{"three voters, self missing from the view still counts", []Member{mem("b", 1, ""), mem("c", 1, "d")}, 3, 2, true},
		{"self counts although gossip says it is dead", []Member{mem("a", 1, "d"), mem("b", 1, ""), mem("c", 1, "d")}, 3, 2, true},
		{"five voters, three alive", []Member{mem("a", 1, ""), mem("b", 1, ""), mem("c", 1, ""), mem("d", 1, "d"), mem("e", 1, "d")}, 5, 3, true},
		{"five voters, two alive", []Member{mem("a", 1, ""), mem("b", 1, ""), mem("c", 1, "d"), mem("d", 1, "d"), mem("e", 1, "d")}, 5, 2, false},
		{"five voters, two known", []Member{mem("a", 1, ""), mem("b", 1, "")}, 5, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alive, _, ok := quorum(View{Members: tt.members, Voters: tt.voters}, "a")
			if alive != tt.wantAlive || ok != tt.wantOK {
				t.Errorf("quorum = alive %d ok %v, want alive %d ok %v", alive, ok, tt.wantAlive, tt.wantOK)
			}
		})
	}
}

func TestStale(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 200 * time.Millisecond
	tests := []struct {
		name string
		last time.Time
		now  time.Time
		want bool
	}{
		{"first step", time.Time{}, t0, false},
		{"on time", t0, t0.Add(step), false},
		{"late but within twice the interval", t0, t0.Add(2 * step), false},
		{"gap longer than twice the interval", t0, t0.Add(2*step + time.Millisecond), true},
		{"frozen for seconds", t0, t0.Add(10 * time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stale(tt.last, tt.now, stallLimit(step)); got != tt.want {
				t.Errorf("stale = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStallLimit(t *testing.T) {
	// The default step: a 300 ms freeze plus the loop's lag (one step)
	// is no stall; gossip cannot have declared the node dead yet.
	if got := stallLimit(DefaultStepInterval); got != 350*time.Millisecond {
		t.Errorf("stallLimit(%v) = %v, want 350ms", DefaultStepInterval, got)
	}
	if got := stallLimit(time.Second); got != 2*time.Second {
		t.Errorf("stallLimit(1s) = %v, want 2s", got)
	}
}

func TestStaleHold(t *testing.T) {
	for _, tt := range []struct{ gap, want time.Duration }{
		{100 * time.Millisecond, 500 * time.Millisecond},
		{333 * time.Millisecond, 666 * time.Millisecond},
		{time.Second, 2 * time.Second},
		{5 * time.Second, 2 * time.Second},
	} {
		if got := staleHold(tt.gap, 2*time.Second); got != tt.want {
			t.Errorf("staleHold(%v) = %v, want %v", tt.gap, got, tt.want)
		}
	}
}
