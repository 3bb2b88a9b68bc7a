package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Deps are a node's collaborators.
type Deps struct {
	Logger *slog.Logger // default slog.Default()
}

// Member is one node of the cluster as this node sees it.
type Member struct {
	Name string `json:"name"`
	// Addr is the gossip address (host:port); for a Raft voter gossip has
	// not seen, its Raft address.
	Addr    string            `json:"addr"`
	Role    Role              `json:"role"`
	Status  Status            `json:"status"`
	Voter   bool              `json:"voter"`  // in the Raft configuration
	Leader  bool              `json:"leader"` // current Raft leader
	APIAddr string            `json:"api_addr,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"` // SetMeta
	// Version is the config version the member gossips it has applied
	// (0: unknown, e.g. a voter gossip has not seen).
	Version uint64 `json:"version,omitempty"`
}

// RaftStatus summarises this node's Raft.
type RaftStatus struct {
	Leader       string        `json:"leader"` // node name; empty when unknown
	Term         uint64        `json:"term"`
	CommitIndex  uint64        `json:"commit_index"`
	AppliedIndex uint64        `json:"applied_index"`
	LastContact  time.Duration `json:"last_contact"` // since the leader was last heard (followers)
	Voters       int           `json:"voters"`
	State        string        `json:"state"` // Follower, Candidate, Leader, Shutdown, Stopped
}

// Node is one member of a tandem cluster.
type Node struct {
	cfg       Config
	logger    *slog.Logger
	tls       *tls.Config // nil: plain TCP on loopback
	advertise string      // IP

	fsm           *fsm
	subs          subscribers
	leaderChanged broadcaster // Raft leader changed
	applied       broadcaster // the FSM's state changed

	stateMu sync.Mutex
	visible atomic.Pointer[State] // what State returns: the FSM's or the cached state, whichever is newer
	cacheCh chan struct{}         // cap 1: state.json should be rewritten
	metaCh  chan struct{}         // cap 1: the gossip meta should be refreshed (cluster ID or config version changed)
	// diskIndex is the Index of the state in state.json when Run starts;
	// runPersist owns it afterwards.
	diskIndex uint64

	metaMu sync.Mutex
	extra  map[string]string // SetMeta
	run    string            // this run's ID (liveness.go), new at each start

	obs observer

	started  atomic.Bool
	up       chan struct{}           // closed once Run has started serving or failed to
	startErr error                   // why Run failed to start; written before up is closed
	crash    bool                    // tests: Run skips the leadership transfer and gossip Leave
	rt       atomic.Pointer[running] // set while Run is serving
}

// running holds what Run opened.
type running struct {
	raft      *raft.Raft
	transport *raft.NetworkTransport
	gossip    *gossip
	mux       *mux
	live      *liveness
	raftAddr  string
	notifyCh  chan bool
	kick      chan struct{}           // cap 1: membership changed, the leader should reconcile
	peersCh   chan struct{}           // cap 1: membership changed, peers.json may be stale
	recoverCh chan raft.Configuration // cap 1: runRecovery asks serve to force this configuration
	recovered bool                    // Raft restarted from a forced configuration

	leavingMu sync.Mutex
	leaving   map[string]time.Time // nodes that asked to leave, by when
}

// New validates cfg and loads the cached state. It opens nothing that
// needs closing and starts no goroutine.
func New(cfg Config, deps Deps) (*Node, error) {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	n := &Node{
		cfg: cfg, logger: deps.Logger.With("component", "cluster", "node", cfg.Node),
		cacheCh: make(chan struct{}, 1), metaCh: make(chan struct{}, 1), up: make(chan struct{}),
	}
	if err := n.validate(); err != nil {
		return nil, err
	}
	n.fsm = newFSM(n.onFSMChange)
	n.obs.init()
	cached, err := loadCache(n.cachePath())
	if err != nil {
		n.logger.Warn("ignore cached state: "+err.Error(), "path", n.cachePath())
	}
	if cached == nil {
		cached = &State{}
	}
	n.diskIndex = cached.Index
	n.visible.Store(cached)
	return n, nil
}

// State returns the last committed state. Before Raft has replayed to the
// point this node had reached (or with no leader at all), it is the copy
// cached in DataDir/state.json. Never nil; do not modify it.
func (n *Node) State() *State { return n.visible.Load() }

// Subscribe returns a channel signalled (coalescing, capacity 1) after each
// change of State or of membership, and a function that unsubscribes.
func (n *Node) Subscribe() (<-chan struct{}, func()) { return n.subs.add() }

// running returns what Run opened, waiting (within ctx and leaderWait) for
// Run to start: callers often start Run in a goroutine and write at once.
func (n *Node) running(ctx context.Context) (*running, error) {
	if rt := n.rt.Load(); rt != nil {
		return rt, nil
	}
	select {
	case <-n.up:
		if rt := n.rt.Load(); rt != nil {
			return rt, nil
		}
		if n.startErr != nil {
			return nil, fmt.Errorf("%w: %w", errNotRunning, n.startErr)
		}
		return nil, errNotRunning
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(leaderWait):
		return nil, errNotRunning
	}
}

// kickMeta asks runObserver to re-gossip the local meta; it never blocks.
func (n *Node) kickMeta() {
	select {
	case n.metaCh <- struct{}{}:
	default:
	}
}

// onFSMChange runs on Raft's FSM goroutine: it must not block.
func (n *Node) onFSMChange(s *State) {
	n.applied.notify()
	n.stateMu.Lock()
	old := n.visible.Load()
	newer := s.Index >= old.Index
	if newer {
		n.visible.Store(s)
	}
	n.stateMu.Unlock()
	if newer {
		if s.ClusterID != old.ClusterID || s.Version != old.Version {
			n.kickMeta()
		}
		n.subs.notify()
		select {
		case n.cacheCh <- struct{}{}:
		default:
		}
	}
}

// Raft summarises this node's Raft state.
func (n *Node) Raft() RaftStatus {
	rt := n.rt.Load()
	if rt == nil {
		return RaftStatus{State: "Stopped"}
	}
	r := rt.raft
	st := RaftStatus{
		Term:         r.CurrentTerm(),
		CommitIndex:  r.CommitIndex(),
		AppliedIndex: r.AppliedIndex(),
		State:        r.State().String(),
	}
	if _, id := r.LeaderWithID(); id != "" {
		st.Leader = string(id)
	}
	if lc := r.LastContact(); !lc.IsZero() && r.State() != raft.Leader {
		st.LastContact = time.Since(lc)
	}
	if f := r.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			if s.Suffrage == raft.Voter {
				st.Voters++
			}
		}
	}
	return st
}
