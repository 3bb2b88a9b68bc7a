package bgp

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/vip"
)

// inputs is a snapshot of what the agent last gave the Speaker.
type inputs struct {
	vips      []config.VIP
	view      *View
	viewAt    time.Time
	ready     map[string]bool
	released  map[string]bool // "" = all
	stopping  bool            // a planned stop: graceful shutdown, then withdraw
	stoppedAt time.Time       // when the stop began
}

// decision is one BGP VIP's outcome of one step on this node.
type decision struct {
	name    string
	addr    netip.Addr
	mode    string
	claim   Claim  // what this node gossips
	route   *route // nil: not announced
	state   string // announcing, graceful-shutdown, withdrawn
	reason  string
	holder  string   // mode primary: the elected holder ("" if none)
	others  []string // peers that gossip they announce it
	bindErr string
}

// hostRoute is the VIP's address as a host route (/32 or /128).
func hostRoute(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// decideVIP computes v's decision from the node-wide block (or ""), the
// inputs and the time.
func (s *Speaker) decideVIP(now time.Time, v config.VIP, block string, in inputs) decision {
	p, _ := netip.ParsePrefix(v.Address) // validated
	d := decision{name: v.Name, addr: p.Addr(), mode: v.BGPMode()}
	prio := s.priority(v.Name)
	if block == "" {
		for _, f := range v.Frontends {
			if !in.ready[f] {
				block = fmt.Sprintf("frontend %s is not ready", f)
				break
			}
		}
	}
	gshut := ""
	if block == "" {
		switch {
		case in.stopping && now.Sub(in.stoppedAt) >= s.cfg.ShutdownWait:
			block = "stopping: withdrawn after the graceful shutdown period"
		case in.stopping:
			gshut = "stopping: announced with GRACEFUL_SHUTDOWN before the withdrawal"
		case in.released[""] || in.released[v.Name]:
			since := s.releasedAt(v.Name)
			if now.Sub(since) >= s.cfg.ShutdownWait {
				block = "released (drained): withdrawn"
			} else {
				gshut = "released (drained): announced with GRACEFUL_SHUTDOWN before the withdrawal"
			}
		}
	}
	d.claim = Claim{Priority: prio, Eligible: block == "" && gshut == ""}
	cands := []candidate{}
	if d.claim.Eligible {
		cands = append(cands, candidate{name: s.cfg.Node, priority: prio, primary: s.primary[v.Name]})
	}
	if in.view != nil {
		for _, m := range in.view.Members {
			if m.Name == s.cfg.Node || !m.Alive {
				continue
			}
			c, ok := m.Claims[v.Name]
			if !ok {
				continue
			}
			if c.Announcing {
				d.others = append(d.others, m.Name)
			}
			if c.Eligible {
				cands = append(cands, candidate{name: m.Name, priority: c.Priority, primary: c.Primary})
			}
		}
	}
	sort.Strings(d.others)
	d.holder = electPrimary(cands, v.Preempt == nil || *v.Preempt)
	if block != "" {
		d.state, d.reason = "withdrawn", block
		return d
	}
	r := s.baseRoute(v, d.addr)
	switch {
	case gshut != "":
		r.communities = append(r.communities, communityGracefulShutdown)
		if d.mode == config.BGPModePrimary {
			r.prepend = s.cfg.Prepend
		}
		d.state, d.reason = "graceful-shutdown", gshut
	case d.mode == config.BGPModePrimary && d.holder != s.cfg.Node:
		r.prepend = s.cfg.Prepend
		d.state, d.reason = "announcing", fmt.Sprintf("ready; backup path (AS path prepended %d×), %s is the primary", s.cfg.Prepend, d.holder)
	case d.mode == config.BGPModePrimary:
		d.state, d.reason = "announcing", "ready; primary: best path"
		d.claim.Primary = true
	default:
		d.state, d.reason = "announcing", "ready (ecmp)"
	}
	d.route = &r
	d.claim.Announcing = true
	return d
}

// baseRoute is v's announcement without mode-specific attributes.
func (s *Speaker) baseRoute(v config.VIP, a netip.Addr) route {
	r := route{prefix: hostRoute(a), med: s.cfg.MED}
	for _, c := range v.Communities {
		if n, err := config.ParseCommunity(c); err == nil {
			r.communities = append(r.communities, n)
		}
	}
	for _, c := range v.LargeCommunities {
		if n, err := config.ParseLargeCommunity(c); err == nil {
			r.large = append(r.large, n)
		}
	}
	return r
}

// candidate is one eligible node for a primary-mode VIP.
type candidate struct {
	name     string
	priority int
	primary  bool // announces the best path now
}

// electPrimary picks the primary among the eligible candidates: the
// highest priority (ties to the lowest name); without preempt, a current
// primary keeps the role while it stays eligible (moving it moves every
// established connection: the routers send its flows elsewhere).
func electPrimary(cands []candidate, preempt bool) string {
	if !preempt {
		var cur []candidate
		for _, c := range cands {
			if c.primary {
				cur = append(cur, c)
			}
		}
		if len(cur) > 0 {
			cands = cur
		}
	}
	if len(cands) == 0 {
		return ""
	}
	return slices.MinFunc(cands, func(a, b candidate) int { return a.compare(b) }).name
}

// compare orders candidates: higher priority first, ties to the lower name.
func (c candidate) compare(o candidate) int {
	if c.priority != o.priority {
		return o.priority - c.priority
	}
	switch {
	case c.name < o.name:
		return -1
	case c.name > o.name:
		return 1
	}
	return 0
}

// nodeBlock says why this node may announce no BGP VIP, or "" when it
// may: no view yet, a witness, a stale view after a stall, no quorum, a
// failing track script of weight 0, a tracked interface down. Fencing follows the vip package's rules.
func (s *Speaker) nodeBlock(now time.Time, in inputs) string {
	if !s.lastStep.IsZero() && now.Sub(s.lastStep) > 2*s.cfg.StepInterval {
		gap := now.Sub(s.lastStep)
		s.fencedAt, s.fenceHold = now, min(s.cfg.StaleHold, max(2*gap, 500*time.Millisecond))
		s.log.Warn("bgp loop stalled (frozen or starved?): withdrawing until a fresh view", "gap", gap.String())
	}
	s.lastStep = now
	if !s.fencedAt.IsZero() && in.view != nil && !in.viewAt.Before(s.fencedAt.Add(s.fenceHold)) {
		s.fencedAt = time.Time{}
	}
	switch {
	case in.view == nil:
		return "waiting for the first membership view"
	case isWitness(in.view, s.cfg.Node):
		return "this node is a witness: witnesses never announce VIPs"
	case !s.fencedAt.IsZero():
		return "stale view: the loop stalled; waiting for a fresh membership view"
	}
	if alive, need, ok := quorum(*in.view, s.cfg.Node); !ok {
		return fmt.Sprintf("fenced: no quorum (%d of %d voters alive, need %d)", alive, in.view.Voters, need)
	}
	if s.track != nil {
		if _, eligible := s.track.Priority(DefaultPriority); !eligible {
			return "track script failing"
		}
	}
	for _, name := range s.cfg.TrackInterfaces {
		up, err := s.host.linkUp(name)
		if err != nil {
			return fmt.Sprintf("tracked interface %s: %v", name, err)
		}
		if !up {
			return fmt.Sprintf("tracked interface %s is down", name)
		}
	}
	return ""
}

func isWitness(v *View, self string) bool {
	for _, m := range v.Members {
		if m.Name == self {
			return m.Role == "witness"
		}
	}
	return false
}

// quorum applies the vip package's fencing rule to the speaker's view.
func quorum(v View, self string) (alive, need int, ok bool) {
	return vip.Quorum(v.Voters, self, v.Members, func(m Member) (string, string, bool) { return m.Name, m.Role, m.Alive })
}
