package vip

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// State is this node's state for one VIP.
type State int

const (
	// StateInit: the Manager has not reconciled the VIP yet.
	StateInit State = iota
	// StateBackup: eligible (or releasing, or waiting for a view) but
	// another node holds the VIP, or nobody does yet.
	StateBackup
	// StateHolder: this node has the address.
	StateHolder
	// StateFault: this node cannot hold the VIP: no quorum, a stale view,
	// a tracked interface down, a failing track script, frontends not ready.
	StateFault
)

var stateNames = []string{"init", "backup", "holder", "fault"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText implements encoding.TextMarshaler (for the admin API's JSON).
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// maxTransitions is how many transitions Status keeps per VIP.
const maxTransitions = 50

// Transition is one change of this node's state for a VIP.
type Transition struct {
	Time   time.Time `json:"time"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	Reason string    `json:"reason"`
}

// NodeStatus is one node's standing for a VIP as this node sees it.
type NodeStatus struct {
	Name     string `json:"name"`
	Alive    bool   `json:"alive"`
	Priority int    `json:"priority"`
	Eligible bool   `json:"eligible"`
	Holding  bool   `json:"holding"`
}

// Status is one VIP as this node sees it.
type Status struct {
	VIP     string `json:"vip"`
	Address string `json:"address"`
	// Holder is who should hold the VIP by this node's computation ("" none).
	Holder string `json:"holder"`
	// State is this node's state and Reason why.
	State  State  `json:"state"`
	Reason string `json:"reason"`
	// Nodes is every known node's standing, the election's order (first
	// is the best).
	Nodes []NodeStatus `json:"nodes"`
	// Transitions are this node's last 50 state changes, oldest first.
	Transitions []Transition `json:"transitions"`
}

// appendTransition appends t, keeping the last maxTransitions.
func appendTransition(ts []Transition, t Transition) []Transition {
	ts = append(ts, t)
	if len(ts) > maxTransitions {
		ts = append([]Transition(nil), ts[len(ts)-maxTransitions:]...)
	}
	return ts
}

func (m *Manager) setState(now time.Time, v *vipState, s State, why string) {
	v.reason = why
	if s == v.state {
		return
	}
	v.timeline = appendTransition(v.timeline, Transition{Time: now, From: v.state, To: s, Reason: why})
	m.log.Info("vip state changed", "vip", v.name, "from", v.state.String(), "to", s.String(), "reason", why)
	v.state = s
	m.enqueueNotify(notification{vip: v.name, address: v.address.String(), node: m.cfg.Node, state: s})
}

func nodeStatuses(cands []candidate) []NodeStatus {
	out := make([]NodeStatus, len(cands))
	for i, c := range cands {
		out[i] = NodeStatus{Name: c.name, Alive: c.alive, Priority: c.priority, Eligible: c.eligible, Holding: c.holding}
	}
	return out
}

// publish makes this step's meta and status visible and signals Changed.
func (m *Manager) publish(meta Meta) {
	status := make([]Status, 0, len(m.states))
	held := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(m.states)) {
		v := m.states[name]
		status = append(status, Status{
			VIP: name, Address: v.address.String(), Holder: v.holder, State: v.state, Reason: v.reason,
			Nodes: slices.Clone(v.nodes), Transitions: slices.Clone(v.timeline),
		})
		if v.holding {
			held[name] = true
		}
	}
	enc := EncodeMeta(meta)
	changed := !maps.Equal(enc, m.lastMeta)
	if changed && metaSize(enc) > MaxMetaSize && metaSize(m.lastMeta) <= MaxMetaSize {
		m.log.Warn("vip gossip meta is large: use fewer or shorter vip names", "bytes", metaSize(enc), "limit", MaxMetaSize)
	}
	m.lastMeta = enc
	m.mu.Lock()
	m.meta, m.status, m.held = meta, status, held
	close(m.stepped)
	m.stepped = make(chan struct{})
	m.mu.Unlock()
	if changed {
		select {
		case m.changed <- struct{}{}:
		default:
		}
	}
}

// stop removes every held address at the end of Run and publishes that
// this node holds nothing and is eligible for nothing.
func (m *Manager) stop(now time.Time) {
	meta := m.LocalMeta()
	if meta.VIPs == nil {
		meta.VIPs = map[string]VIPMeta{}
	}
	for _, name := range slices.Sorted(maps.Keys(m.states)) {
		v := m.states[name]
		if v.holding {
			m.drop(v, "stopping")
		}
		m.setState(now, v, StateBackup, "stopped")
		vm := meta.VIPs[name]
		vm.Holding, vm.Eligible = false, false
		meta.VIPs[name] = vm
	}
	m.publish(meta)
}
