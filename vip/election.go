package vip

import (
	"fmt"
	"sort"
	"time"
)

// View is the gossip membership view the agent gives the Manager.
type View struct {
	// Members is every member gossip knows, including this node.
	Members []Member
	// Voters is the number of LB voters plus witnesses known to Raft, for
	// the quorum rule; 0 means unknown (no quorum fencing).
	Voters int
}

// Member is one gossip member.
type Member struct {
	Name string
	// Alive is false for members gossip holds suspect-then-dead or left.
	Alive bool
	// Role is "voter" (an LB node, may hold VIPs) or "witness" (never
	// holds a VIP, counts for quorum). "" counts as voter.
	Role string
	// Meta is the member's decoded VIP meta (DecodeMeta).
	Meta Meta
}

const (
	roleVoter   = "voter"
	roleWitness = "witness"
)

// candidate is one node's standing for one VIP as the election sees it.
type candidate struct {
	name     string
	priority int
	alive    bool
	// eligible: alive, a voter, not in fault, ready, not releasing.
	eligible bool
	// holding: alive and gossips that it has the address.
	holding bool
}

// before orders candidates: higher priority first, ties to the lower name.
func (c candidate) before(o candidate) bool {
	if c.priority != o.priority {
		return c.priority > o.priority
	}
	return c.name < o.name
}

// electRules are a VIP's preempt settings (config.VIP, resolved).
type electRules struct {
	preempt bool
	delay   time.Duration
}

// preemptWait remembers since when best has been waiting to take the VIP
// over from current (preempt_delay). The zero value means no wait.
type preemptWait struct {
	best, current string
	since         time.Time
}

// decision is the outcome of one election for one VIP.
type decision struct {
	// holder is who should hold the VIP now; "" when no node is eligible.
	holder string
	// best is the eligible node with the highest priority (lowest name on
	// ties): the holder if preempt rules did not apply.
	best string
	// current is the eligible node that gossips it holds the VIP; when
	// several do (a healed split), the one ordered first.
	current string
	// preemptAt is when best takes over from current; zero unless it waits.
	preemptAt time.Time
	// reason says why holder holds, for the status timeline.
	reason string
}

// elect computes a VIP's holder from every node's standing. It is pure: the
// caller keeps the returned preemptWait and passes it to the next call.
//
//   - No eligible holder (the holder died, left, became ineligible or
//     releases): the best eligible node holds, at once.
//   - An eligible holder and nopreempt: it keeps the VIP.
//   - An eligible holder, preempt, and a better node: the better node takes
//     over once it has been best for preempt_delay.
func elect(cands []candidate, r electRules, w preemptWait, now time.Time) (decision, preemptWait) {
	var d decision
	best, okBest := first(cands, func(c candidate) bool { return c.eligible })
	cur, okCur := first(cands, func(c candidate) bool { return c.eligible && c.holding })
	if okBest {
		d.best = best.name
	}
	if okCur {
		d.current = cur.name
	}
	switch {
	case !okBest:
		d.reason = "no eligible node"
		return d, preemptWait{}
	case !okCur:
		d.holder = best.name
		d.reason = fmt.Sprintf("no eligible holder: %s has the highest priority (%d)", best.name, best.priority)
		return d, preemptWait{}
	case cur.name == best.name:
		d.holder = cur.name
		d.reason = fmt.Sprintf("%s holds it with the highest priority (%d)", cur.name, cur.priority)
		return d, preemptWait{}
	case !r.preempt:
		d.holder = cur.name
		d.reason = fmt.Sprintf("nopreempt: %s keeps it although %s has priority %d", cur.name, best.name, best.priority)
		return d, preemptWait{}
	}
	if w.best != best.name || w.current != cur.name || w.since.IsZero() {
		w = preemptWait{best: best.name, current: cur.name, since: now}
	}
	if at := w.since.Add(r.delay); now.Before(at) {
		d.holder = cur.name
		d.preemptAt = at
		d.reason = fmt.Sprintf("%s keeps it until %s preempts at %s (preempt_delay %s)",
			cur.name, best.name, at.Format(time.RFC3339Nano), r.delay)
		return d, w
	}
	d.holder = best.name
	d.reason = fmt.Sprintf("preempt: %s (priority %d) takes over from %s (priority %d)",
		best.name, best.priority, cur.name, cur.priority)
	return d, w
}

// first returns the candidate ordered first among those that pass keep.
func first(cands []candidate, keep func(candidate) bool) (candidate, bool) {
	var top candidate
	found := false
	for _, c := range cands {
		if keep(c) && (!found || c.before(top)) {
			top, found = c, true
		}
	}
	return top, found
}

// candidates builds the election input for VIP name from the view. self is
// this node's standing, computed locally: gossip's copy of this node's meta
// may lag behind, and this node is always alive to itself.
func candidates(v View, name string, self candidate) []candidate {
	out := []candidate{self}
	for _, m := range v.Members {
		if m.Name == self.name {
			continue
		}
		vm, ok := m.Meta.VIPs[name]
		c := candidate{name: m.Name, priority: vm.Priority, alive: m.Alive}
		if ok && m.Alive {
			c.holding = vm.Holding
			// vm.Eligible already says no for a node fenced by quorum;
			// Meta.Fault alone does not exclude a node that the link
			// allowed (see probeLink).
			c.eligible = isVoter(m.Role) && vm.Eligible && !vm.Releasing
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].before(out[j]) })
	return out
}

func isVoter(role string) bool { return role == roleVoter || role == "" }

// quorum tells whether self sees a majority of the configured voters alive
// (itself included). With fewer than 3 voters (or unknown) a minority cannot
// be told from a dead peer, so there is no fencing: ok is always true.
func quorum(v View, self string) (alive, need int, ok bool) {
	return Quorum(v.Voters, self, v.Members, func(m Member) (string, string, bool) { return m.Name, m.Role, m.Alive })
}

// Quorum is the fencing rule of quorum for any membership list (the BGP
// speaker's too): voters is the number of LB voters plus witnesses Raft
// knows, who gives a member's name, role ("voter", "witness" or "") and
// liveness. Members of another role do not count; self counts as alive
// whether or not it is listed.
func Quorum[M any](voters int, self string, members []M, who func(M) (name, role string, alive bool)) (alive, need int, ok bool) {
	selfSeen := false
	for _, m := range members {
		name, role, up := who(m)
		if role != roleVoter && role != roleWitness && role != "" {
			continue
		}
		if name == self {
			selfSeen = true
			alive++
			continue
		}
		if up {
			alive++
		}
	}
	if !selfSeen {
		alive++
	}
	if voters < 3 {
		return alive, 0, true
	}
	need = voters/2 + 1
	return alive, need, alive >= need
}

// minStallGap is the shortest gap between two loop steps that counts as a
// stall (Config.StepInterval).
const minStallGap = 350 * time.Millisecond

// stallLimit is the longest gap between two loop steps that is no stall.
func stallLimit(step time.Duration) time.Duration { return max(2*step, minStallGap) }

// stale tells whether the gap between two loop steps shows that the node
// was frozen or starved (SIGSTOP, a long stall): more than limit
// (stallLimit). Peers may have declared it dead and taken its VIPs
// meanwhile.
func stale(last, now time.Time, limit time.Duration) bool {
	return !last.IsZero() && now.Sub(last) > limit
}
