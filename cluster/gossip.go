package cluster

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
)

// MaxMetaSize is the limit of a node's gossip meta (memberlist's own).
const MaxMetaSize = memberlist.MetaMaxSize

// nodeMeta is what every node gossips about itself.
type nodeMeta struct {
	Role     Role              `json:"r"`
	RaftPort int               `json:"p"`
	API      string            `json:"a,omitempty"`
	Extra    map[string]string `json:"m,omitempty"` // SetMeta
	Cluster  string            `json:"c,omitempty"` // State.ClusterID as this node knows it
	Version  uint64            `json:"v,omitempty"` // the config version this node has applied
	// Leaving is gossiped just before a graceful leave, because memberlist
	// tells its event delegate that a node is gone without saying whether
	// it left or died.
	Leaving bool `json:"l,omitempty"`
	// Run names this run of the node (liveness.go): a restarted node
	// gossips a new one.
	Run string `json:"i,omitempty"`
}

// member is one node as this node's gossip last saw it.
type member struct {
	name   string
	addr   net.IP
	port   uint16
	meta   nodeMeta
	status Status
}

func (m member) raftAddr() string {
	return net.JoinHostPort(m.addr.String(), strconv.Itoa(m.meta.RaftPort))
}

// gossip holds the membership view. memberlist calls its delegate methods
// from its own goroutines; they only copy data under mu and signal, never
// block.
type gossip struct {
	ml *memberlist.Memberlist

	mu   sync.Mutex
	meta []byte            // encoded local meta
	view map[string]member // by name; dead and left members stay until forgotten
	// crashed maps a member that liveness.go found crashed to the run that
	// crashed; Members shows it dead until memberlist agrees or the
	// member's meta comes from another run.
	crashed map[string]string

	changed func() // called (without mu) after every membership change; must not block
}

func newGossip(meta nodeMeta, changed func()) (*gossip, error) {
	g := &gossip{view: make(map[string]member), crashed: map[string]string{}, changed: changed}
	if err := g.setMeta(meta); err != nil {
		return nil, err
	}
	return g, nil
}

func encodeMeta(meta nodeMeta) ([]byte, error) {
	b, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMetaSize {
		return nil, fmt.Errorf("gossip meta is %d bytes encoded, the limit is %d: use shorter keys and values", len(b), MaxMetaSize)
	}
	return b, nil
}

func (g *gossip) setMeta(meta nodeMeta) error {
	b, err := encodeMeta(meta)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.meta = b
	g.mu.Unlock()
	return nil
}

// members returns a copy of the view, sorted by name; a member marked
// crashed (liveness.go) is dead.
func (g *gossip) members() []member {
	out := g.memberlistView()
	for i, m := range out {
		if m.status == StatusAlive && g.isCrashed(m.name) {
			out[i].status = StatusDead
		}
	}
	return out
}

// memberlistView is the view as memberlist reports it, without crash
// marks, sorted by name.
func (g *gossip) memberlistView() []member {
	g.mu.Lock()
	out := slices.Collect(maps.Values(g.view))
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b member) int { return strings.Compare(a.name, b.name) })
	return out
}

func (g *gossip) member(name string) (member, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.view[name]
	if _, crashed := g.crashed[name]; ok && crashed && m.status == StatusAlive {
		m.status = StatusDead
	}
	return m, ok
}

// forget drops a member that is not alive (after Remove).
func (g *gossip) forget(name string) {
	g.mu.Lock()
	m, ok := g.view[name]
	if ok && m.status != StatusAlive {
		delete(g.view, name)
		delete(g.crashed, name)
	}
	g.mu.Unlock()
	if ok {
		g.changed()
	}
}

// update records n; gone is true for NotifyLeave.
func (g *gossip) update(n *memberlist.Node, gone bool) {
	m := member{name: n.Name, addr: slices.Clone(n.Addr), port: n.Port, status: StatusAlive}
	_ = json.Unmarshal(n.Meta, &m.meta) // a node without meta counts as a voter with no raft port
	if gone {
		m.status = StatusDead
		if m.meta.Leaving {
			m.status = StatusLeft
		}
	}
	g.mu.Lock()
	g.view[n.Name] = m
	// memberlist agrees that it is gone, or gossips the meta of a new
	// run (a restart): the crash mark has done its job. An update of the
	// crashed run (still in flight when it died) keeps it.
	if run, ok := g.crashed[n.Name]; ok && (gone || m.meta.Run != run) {
		delete(g.crashed, n.Name)
	}
	g.mu.Unlock()
	g.changed()
}

// markCrashed records that run of member name crashed (liveness.go). It
// reports whether that changed anything: not when memberlist already
// holds the member gone, or its meta comes from another run.
func (g *gossip) markCrashed(name, run string) bool {
	g.mu.Lock()
	m, ok := g.view[name]
	fresh := ok && m.status == StatusAlive && m.meta.Run == run && g.crashed[name] != run
	if fresh {
		g.crashed[name] = run
	}
	g.mu.Unlock()
	if fresh {
		g.changed()
	}
	return fresh
}

// helloFrom records a liveness hello: the same run as a crash mark means
// the process lives, so the mark was wrong.
func (g *gossip) helloFrom(name, run string) {
	g.mu.Lock()
	wrong := g.crashed[name] == run
	if wrong {
		delete(g.crashed, name)
	}
	g.mu.Unlock()
	if wrong {
		g.changed()
	}
}

// isCrashed tells whether liveness.go holds member name crashed.
func (g *gossip) isCrashed(name string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.crashed[name]
	return ok
}

// memberlist.EventDelegate
// (memberlist never fills Node.State for it: liveness is which method is called)
func (g *gossip) NotifyJoin(n *memberlist.Node)   { g.update(n, false) }
func (g *gossip) NotifyLeave(n *memberlist.Node)  { g.update(n, true) }
func (g *gossip) NotifyUpdate(n *memberlist.Node) { g.update(n, false) }

// memberlist.Delegate: only meta is used; state travels through Raft.
func (g *gossip) NodeMeta(limit int) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.meta)
}
func (g *gossip) NotifyMsg([]byte)                           {}
func (g *gossip) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (g *gossip) LocalState(join bool) []byte                { return nil }
func (g *gossip) MergeRemoteState(buf []byte, join bool)     {}

// leave announces a graceful departure: first the Leaving flag in the
// meta (so that peers record "left", not "dead"), then memberlist's Leave.
func (g *gossip) leave(timeout time.Duration) error {
	g.mu.Lock()
	var meta nodeMeta
	_ = json.Unmarshal(g.meta, &meta)
	meta.Leaving = true
	b, err := encodeMeta(meta)
	if err == nil {
		g.meta = b
	}
	g.mu.Unlock()
	if err == nil {
		err = g.ml.UpdateNode(timeout)
	}
	if lerr := g.ml.Leave(timeout); lerr != nil {
		return lerr
	}
	return err
}

// Members returns every node this node knows of: gossip members (including
// dead and left ones not yet removed) and Raft voters gossip has not seen.
func (n *Node) Members() []Member {
	rt := n.rt.Load()
	if rt == nil {
		return nil
	}
	voters := map[string]string{}
	if f := rt.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			if s.Suffrage == raft.Voter {
				voters[string(s.ID)] = string(s.Address)
			}
		}
	}
	_, leader := rt.raft.LeaderWithID()
	nodes := n.State().Nodes
	var out []Member
	for _, m := range rt.gossip.members() {
		_, voter := voters[m.name]
		if _, known := nodes[m.name]; m.status != StatusAlive && !voter && !known {
			continue // removed, or left before the leader recorded it
		}
		delete(voters, m.name)
		out = append(out, Member{
			Name: m.name, Addr: net.JoinHostPort(m.addr.String(), fmt.Sprint(m.port)),
			Role: m.meta.Role, Status: m.status, Voter: voter, Leader: string(leader) == m.name,
			APIAddr: m.meta.API, Meta: maps.Clone(m.meta.Extra), Version: m.meta.Version,
		})
	}
	for name, addr := range voters {
		out = append(out, Member{Name: name, Addr: addr, Status: StatusDead, Voter: true, Leader: string(leader) == name})
	}
	return out
}

// SetMeta replaces this node's extra gossip meta (per-VIP priority,
// readiness, ...) and gossips it. The whole encoded meta must fit in
// MaxMetaSize (512) bytes.
func (n *Node) SetMeta(meta map[string]string) error {
	n.metaMu.Lock()
	defer n.metaMu.Unlock()
	m := n.localMeta()
	m.Extra = maps.Clone(meta)
	if _, err := encodeMeta(m); err != nil {
		return fmt.Errorf("set meta: %w", err)
	}
	n.extra = m.Extra
	rt := n.rt.Load()
	if rt == nil {
		return nil
	}
	if err := rt.gossip.setMeta(m); err != nil {
		return fmt.Errorf("set meta: %w", err)
	}
	if err := rt.gossip.ml.UpdateNode(time.Second); err != nil {
		return fmt.Errorf("set meta: gossip the update: %w", err)
	}
	return nil
}

// refreshMeta re-gossips the local meta (after the cluster ID or the
// applied config version changed).
func (n *Node) refreshMeta(rt *running) {
	n.metaMu.Lock()
	defer n.metaMu.Unlock()
	if err := rt.gossip.setMeta(n.localMeta()); err != nil {
		n.logger.Error("refresh gossip meta: "+err.Error(), "err", err)
		return
	}
	if err := rt.gossip.ml.UpdateNode(time.Second); err != nil {
		n.logger.Debug("refresh gossip meta: "+err.Error(), "err", err)
	}
}

// localMeta is this node's gossip meta; callers hold metaMu.
func (n *Node) localMeta() nodeMeta {
	st := n.State()
	return nodeMeta{Role: n.cfg.Role, RaftPort: n.cfg.RaftPort, API: n.cfg.APIAddr, Extra: n.extra, Cluster: st.ClusterID, Version: st.Version, Run: n.run}
}
