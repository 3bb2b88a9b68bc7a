package vip

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// vipState is the loop's state for one configured VIP.
type vipState struct {
	name      string
	address   netip.Prefix
	frontends []string
	rules     electRules

	holding     bool
	heldAddr    netip.Prefix // what this node put on the interface
	lastRenew   time.Time
	burst       burst
	nextRefresh time.Time

	// Link probing while this node has no quorum (linkGuard).
	probingSince time.Time // zero when not probing
	nextProbe    time.Time
	otherAt      time.Time // when another host last claimed the address
	otherMAC     string

	wait          preemptWait
	handoverUntil time.Time       // while handing over: when to give up waiting
	claimers      map[string]bool // peers that claimed it at the last step
	oldClaims     map[string]bool // claims gossiped when a release started

	state    State
	reason   string
	holder   string
	nodes    []NodeStatus
	timeline []Transition
	lastErr  string
}

// inputs is a snapshot of what the agent last gave the Manager.
type inputs struct {
	vips       []config.VIP
	view       *View
	viewAt     time.Time
	ready      map[string]bool
	releasing  map[string]bool
	releaseAll bool
	trackOK    bool
}

// standing is this node's node-wide condition in one step.
type standing struct {
	block string // why this node may hold no VIP; "" when it may
	// noQuorum says why this node sees no majority of the voters; "" with
	// quorum. It blocks a VIP unless the link shows nobody else has it
	// (linkGuard).
	noQuorum string // gossiped as Meta.Fault
	scriptOK bool
	healed   bool // a peer came (back) alive since the last step
}

func (m *Manager) snapshot() inputs {
	m.mu.Lock()
	defer m.mu.Unlock()
	return inputs{
		vips: m.vips, view: m.view, viewAt: m.viewAt, ready: m.ready,
		releasing: maps.Clone(m.releasing), releaseAll: m.releaseAll, trackOK: m.track.ok,
	}
}

// reconcileOnce is one step of the loop: read the inputs, elect each VIP's
// holder, add, renew, announce or remove addresses, publish meta and status.
func (m *Manager) reconcileOnce(now time.Time) {
	in := m.snapshot()
	m.applyConfig(now, in.vips)
	st := m.nodeStanding(now, in)
	m.probeLink(now, st.noQuorum != "")
	meta := Meta{Fault: st.noQuorum != "", VIPs: map[string]VIPMeta{}}
	for _, name := range slices.Sorted(maps.Keys(m.states)) {
		meta.VIPs[name] = m.stepVIP(now, m.states[name], in, st)
	}
	m.sweep(now)
	m.unparkDue(now)
	m.publish(meta)
}

// applyConfig follows the configured VIPs: new ones start unheld, a held
// VIP whose address changed or that left the config is removed.
func (m *Manager) applyConfig(now time.Time, vips []config.VIP) {
	seen := map[string]bool{}
	for _, c := range vips {
		p, err := netip.ParsePrefix(c.Address)
		if err != nil {
			continue // filtered by Update
		}
		seen[c.Name] = true
		v := m.states[c.Name]
		if v == nil {
			v = &vipState{name: c.Name}
			m.states[c.Name] = v
		}
		if v.holding && v.heldAddr != p {
			m.drop(v, "its address changed")
		}
		v.address, v.frontends = p, c.Frontends
		v.rules = electRules{preempt: c.Preempt == nil || *c.Preempt, delay: c.PreemptDelay.D()}
	}
	for name, v := range m.states {
		if seen[name] {
			continue
		}
		if v.holding {
			m.drop(v, "removed from the cluster config")
		}
		m.setState(now, v, StateBackup, "removed from the cluster config")
		delete(m.states, name)
	}
}

// minStaleHold is the shortest wait for a fresh view after a stall.
const minStaleHold = 500 * time.Millisecond

// staleHold is how long after a stall of gap a view must have been
// received: twice the gap, within [minStaleHold, limit]. A node starved
// for a third of a second (a loaded host) is back within about half a
// second; one frozen for seconds waits the whole limit (Config.StaleHold)
// for gossip to catch up.
func staleHold(gap, limit time.Duration) time.Duration {
	return min(limit, max(2*gap, minStaleHold))
}

// nodeStanding computes what keeps this node from holding any VIP: no
// view yet, a stale view after a stall, no quorum, a tracked interface
// down, a failing track script of weight 0.
func (m *Manager) nodeStanding(now time.Time, in inputs) standing {
	if stale(m.lastStep, now, stallLimit(m.cfg.StepInterval)) {
		m.fencedAt, m.fenceGap = now, now.Sub(m.lastStep)
		m.fenceHold = staleHold(m.fenceGap, m.cfg.StaleHold)
		m.log.Warn("reconcile loop stalled (frozen or starved?): dropping VIPs until a fresh view",
			"gap", m.fenceGap.String(), "hold", m.fenceHold.String())
	}
	m.lastStep = now
	if !m.fencedAt.IsZero() && in.view != nil && !in.viewAt.Before(m.fencedAt.Add(m.fenceHold)) {
		m.log.Info("fresh membership view after the stall: eligible again")
		m.fencedAt = time.Time{}
	}
	st := standing{scriptOK: m.cfg.TrackScript == nil || in.trackOK}
	switch {
	case in.view == nil:
		st.block = "waiting for the first membership view"
	case isWitness(in.view, m.cfg.Node):
		st.block = "this node is a witness: witnesses never hold VIPs"
	case !m.fencedAt.IsZero():
		st.block = fmt.Sprintf("stale view: the loop stalled for %s (frozen?); waiting for a view received after %s",
			m.fenceGap.Round(time.Millisecond), m.fencedAt.Add(m.fenceHold).Format(time.RFC3339Nano))
	}
	if in.view != nil {
		if alive, need, ok := quorum(*in.view, m.cfg.Node); !ok {
			st.noQuorum = fmt.Sprintf("no quorum: %d of %d voters alive, need %d", alive, in.view.Voters, need)
		}
		st.healed = m.noteAlive(in.view)
	}
	if st.block == "" {
		st.block = m.linkBlock(now)
	}
	if st.block == "" && !st.scriptOK && m.cfg.TrackScript.Weight == 0 {
		st.block = "track script failing"
	}
	return st
}

// noteAlive records the alive peers and reports whether one appeared
// since the last step (a split healed, a node came back).
func (m *Manager) noteAlive(v *View) bool {
	alive := map[string]bool{}
	for _, mem := range v.Members {
		if mem.Alive && mem.Name != m.cfg.Node {
			alive[mem.Name] = true
		}
	}
	prev := m.prevAlive
	m.prevAlive = alive
	if prev == nil {
		return false
	}
	for name := range alive {
		if !prev[name] {
			return true
		}
	}
	return false
}

func isWitness(v *View, self string) bool {
	for _, mem := range v.Members {
		if mem.Name == self {
			return mem.Role == roleWitness
		}
	}
	return false
}

// stepVIP elects v's holder, acts on it and returns this node's meta for v.
func (m *Manager) stepVIP(now time.Time, v *vipState, in inputs, st standing) VIPMeta {
	releasing := in.releaseAll || in.releasing[v.name]
	block := st.block
	if block == "" {
		block = frontendsBlock(v.frontends, in.ready)
	}
	if block == "" && st.noQuorum != "" {
		block = m.linkGuard(now, v, st.noQuorum)
	}
	prio, _ := effectivePriority(m.priority(v.name), m.cfg.TrackScript, st.scriptOK)
	self := candidate{name: m.cfg.Node, priority: prio, alive: true, eligible: block == "" && !releasing, holding: v.holding}
	var view View
	if in.view != nil {
		view = *in.view
	}
	cands := candidates(view, v.name, self)
	d, w := elect(cands, v.rules, v.wait, now)
	v.wait, v.holder, v.nodes = w, d.holder, nodeStatuses(cands)
	want, why := m.want(now, v, d, block, releasing, cands)
	if want && st.noQuorum != "" {
		why = fmt.Sprintf("%s (%s, but no other host answers for %s on the link)", why, st.noQuorum, v.address.Addr())
	}
	m.act(now, v, want, why, cands, st.healed, block == "")
	state := StateBackup
	switch {
	case v.holding:
		state = StateHolder
	case block != "" && in.view != nil:
		state = StateFault
	}
	m.setState(now, v, state, why)
	return VIPMeta{Priority: prio, Eligible: block == "", Holding: v.holding, Releasing: releasing}
}

func frontendsBlock(frontends []string, ready map[string]bool) string {
	for _, f := range frontends {
		if !ready[f] {
			return fmt.Sprintf("frontend %s is not ready", f)
		}
	}
	return ""
}

func (m *Manager) priority(name string) int {
	if p, ok := m.cfg.Priority[name]; ok {
		return p
	}
	return DefaultPriority
}

// want decides whether this node holds v after this step, and why. A
// holder that is handing over (Release, or preempted by a better node)
// keeps the VIP until the new holder gossips that it holds it, at most
// handoverTimeout: make before break, so that no client sees a gap. Every
// other reason to let go (ineligible, stale, no quorum, a better claimer)
// takes effect at once.
func (m *Manager) want(now time.Time, v *vipState, d decision, block string, releasing bool, cands []candidate) (bool, string) {
	self := m.cfg.Node
	var handover string
	switch {
	case block != "":
	case d.holder == self:
		v.handoverUntil = time.Time{}
		return true, d.reason
	case v.holding && releasing && d.holder != "":
		if taker := m.releaseTaker(now, v, cands); taker != "" {
			v.handoverUntil = time.Time{}
			return false, "released to " + taker
		}
		handover = fmt.Sprintf("releasing: waiting for %s to take it over", d.holder)
	case v.holding && !releasing && d.current == self:
		handover = fmt.Sprintf("handing over to %s (%s)", d.holder, d.reason)
	}
	if handover != "" {
		if v.handoverUntil.IsZero() {
			v.handoverUntil = now.Add(handoverTimeout)
		}
		if now.Before(v.handoverUntil) {
			return true, handover
		}
		v.handoverUntil = time.Time{}
		return false, "gave up waiting after " + handoverTimeout.String() + ": " + handover
	}
	v.handoverUntil = time.Time{}
	switch {
	case block != "":
		return false, block
	case releasing && d.holder == "":
		return false, "released: no other node is eligible"
	case releasing:
		return false, "released to " + d.holder
	}
	return false, d.reason
}

// releaseTaker returns the eligible peer that claims v since this node
// started releasing it, or "". A claim already gossiped when the release
// started does not count until it has been withdrawn: it may be stale (a
// dual claim this node won, not yet withdrawn in this node's view).
// It starts the handover clock on the first call of a handover.
func (m *Manager) releaseTaker(now time.Time, v *vipState, cands []candidate) string {
	claims := map[string]bool{}
	for _, c := range cands {
		if c.eligible && c.holding && c.name != m.cfg.Node {
			claims[c.name] = true
		}
	}
	if v.handoverUntil.IsZero() {
		v.handoverUntil = now.Add(handoverTimeout)
		v.oldClaims = claims
		return ""
	}
	maps.DeleteFunc(v.oldClaims, func(name string, _ bool) bool { return !claims[name] })
	for _, c := range cands { // in election order
		if claims[c.name] && !v.oldClaims[c.name] {
			return c.name
		}
	}
	return ""
}

// act adds, renews, announces or removes v's address.
// A VIP let go while this node could hold it (block empty: canPark) and
// another node claims it was handed over: its address is parked.
// A holder that is handing over (want keeps it, the handover clock runs)
// keeps the address but announces it no more: a gratuitous ARP of its
// own after the taker's would pull the clients back to it.
func (m *Manager) act(now time.Time, v *vipState, want bool, why string, cands []candidate, healed, canPark bool) {
	handingOver := want && !v.handoverUntil.IsZero()
	claimers := map[string]bool{}
	newClaim := false
	for _, c := range cands {
		if c.holding && c.alive && c.name != m.cfg.Node {
			claimers[c.name] = true
			newClaim = newClaim || !v.claimers[c.name]
		}
	}
	v.claimers = claimers
	switch {
	case want && !v.holding:
		m.unpark(v.address)
		if err := m.host.replaceAddr(v.address, m.cfg.AddressLifetime); err != nil {
			m.noteErr(v, "add address", err)
			return
		}
		v.holding, v.heldAddr, v.lastRenew, v.lastErr = true, v.address, now, ""
		v.burst.start(now)
		v.nextRefresh = now.Add(m.cfg.RefreshInterval)
		m.log.Info("acquired vip", "vip", v.name, "address", v.address.String(), "reason", why)
	case want:
		m.renew(now, v)
		switch {
		case handingOver:
			v.burst.stop()
		case newClaim || healed:
			m.log.Info("re-announcing vip: a peer claims it too or came back", "vip", v.name)
			v.burst.start(now)
		}
	case v.holding && canPark && len(claimers) > 0:
		m.park(now, v, why)
	case v.holding:
		m.drop(v, why)
	}
	if v.holding && !handingOver {
		m.announceDue(now, v)
	}
}

// renewEvery is how often a held address's lifetime is refreshed.
func (m *Manager) renewEvery() time.Duration {
	return max(min(time.Second, m.cfg.AddressLifetime/3), m.cfg.StepInterval)
}

func (m *Manager) renew(now time.Time, v *vipState) {
	if now.Sub(v.lastRenew) < m.renewEvery() {
		return
	}
	if err := m.host.replaceAddr(v.heldAddr, m.cfg.AddressLifetime); err != nil {
		m.noteErr(v, "renew address", err)
		return
	}
	v.lastRenew = now
}

// drop removes v's address. A failed removal still counts as released:
// the address expires within AddressLifetime since it is not renewed.
func (m *Manager) drop(v *vipState, why string) {
	if err := m.host.removeAddr(v.heldAddr); err != nil {
		m.noteErr(v, "remove address", err)
	}
	v.holding = false
	v.burst.stop()
	m.log.Info("released vip", "vip", v.name, "address", v.heldAddr.String(), "reason", why)
}

func (m *Manager) announceDue(now time.Time, v *vipState) {
	due := v.burst.due(now)
	if m.cfg.RefreshInterval > 0 && !now.Before(v.nextRefresh) {
		due = true
		v.nextRefresh = now.Add(m.cfg.RefreshInterval)
	}
	if !due {
		return
	}
	if err := m.host.announce(v.heldAddr.Addr()); err != nil {
		m.noteErr(v, "announce", err)
	}
}

// noteErr logs an error once until it changes (the loop retries each step).
func (m *Manager) noteErr(v *vipState, op string, err error) {
	msg := fmt.Sprintf("%s %s on %s: %v", op, v.address, m.cfg.Interface, err)
	if msg != v.lastErr {
		m.log.Warn("vip operation failed", "vip", v.name, "err", msg)
	}
	v.lastErr = msg
}

// sweep removes, about every second, VIP addresses this node does not
// hold: left by a previous run that was killed, or by anyone else.
func (m *Manager) sweep(now time.Time) {
	if !m.lastSweep.IsZero() && now.Sub(m.lastSweep) < m.renewEvery() {
		return
	}
	m.lastSweep = now
	ours := map[netip.Addr]*vipState{}
	for _, v := range m.states {
		ours[v.address.Addr()] = v
	}
	addrs, err := m.host.listAddrs()
	if err != nil {
		m.log.Debug("list addresses", "err", err)
		return
	}
	for _, a := range addrs {
		v := ours[a.Addr()]
		if v == nil || v.holding && v.heldAddr == a {
			continue
		}
		if err := m.host.removeAddr(a); err != nil {
			m.noteErr(v, "remove stale address", err)
			continue
		}
		m.log.Info("removed a vip address this node does not hold", "vip", v.name, "address", a.String())
	}
}
