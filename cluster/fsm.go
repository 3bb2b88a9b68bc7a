package cluster

import (
	"fmt"
	"io"
	"maps"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tandem-lb/tandem/config"
)

// fsm is the only writer of replicated state. Raft calls Apply, Snapshot
// and Restore from one goroutine; readers load the current *State, which
// is never modified after it is stored.
type fsm struct {
	state atomic.Pointer[State]
	// onChange, if set, is called from Raft's FSM goroutine with every new
	// state (after Apply changed it, and after Restore). It must not block.
	onChange func(*State)
}

// applyResult is what fsm.Apply returns to the leader's ApplyFuture.
type applyResult struct {
	state *State // the state right after the command; nil when rejected
	err   error  // business rejection
}

func newFSM(onChange func(*State)) *fsm {
	f := &fsm{onChange: onChange}
	f.state.Store(&State{})
	return f
}

func (f *fsm) current() *State { return f.state.Load() }

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	cmd, err := decodeCommand(l.Data)
	if err != nil {
		// Every node holds the same log: skipping the entry here would make
		// this node diverge silently. Stop loudly instead.
		panic(fmt.Sprintf("cluster: raft entry %d (term %d) cannot be applied: %v", l.Index, l.Term, err))
	}
	cur := f.current()
	if cmd == nil { // unknown but ignorable
		return applyResult{state: cur}
	}
	next, err := step(cur, cmd)
	if err != nil {
		return applyResult{err: err}
	}
	next.Index = l.Index
	f.set(next)
	return applyResult{state: next}
}

func (f *fsm) set(s *State) {
	f.state.Store(s)
	if f.onChange != nil {
		f.onChange(s)
	}
}

// step applies one command to s and returns the new state, or a business
// rejection. It reads nothing but its arguments.
func step(s *State, cmd Command) (*State, error) {
	switch c := cmd.(type) {
	case ApplyConfig:
		return applyConfig(s, c)
	case Rollback:
		return rollback(s, c)
	case SetServer:
		return setServer(s, c)
	case ReportHealth:
		return reportHealth(s, c), nil
	case SetNodeLive:
		return setNodeLive(s, c), nil
	case RemoveNode:
		return removeNode(s, c), nil
	case SetCertificate:
		return setCertificate(s, c)
	case DeleteCertificate:
		return deleteCertificate(s, c)
	case PutACMEValue, DeleteACMEValue, AcquireACMELock, ReleaseACMELock:
		return acmeStep(s, c)
	case InitCluster:
		if s.ClusterID != "" || c.ID == "" {
			return nil, fmt.Errorf("init cluster: %w: the cluster ID is %q already", ErrInvalidCommand, s.ClusterID)
		}
		next := s.shallowCopy()
		next.ClusterID = c.ID
		return next, nil
	case DeployProgress:
		if cur, ok := s.Deploys[c.Backend]; ok && !cur.Done && cur.ID != "" && c.ID != cur.ID {
			return nil, fmt.Errorf("record deploy %s (id %s): %w: id %s from %s at %s since %s",
				c.Backend, c.ID, ErrDeployRunning, cur.ID, cur.Host, cur.Step, cur.Since.Format(time.RFC3339))
		}
		next := s.shallowCopy()
		next.Deploys = maps.Clone(s.Deploys)
		if next.Deploys == nil {
			next.Deploys = make(map[string]DeployProgress)
		}
		next.Deploys[c.Backend] = c
		return next, nil
	default:
		panic(fmt.Sprintf("cluster: command %T has a type byte but no case in step", cmd))
	}
}

func applyConfig(s *State, c ApplyConfig) (*State, error) {
	if c.Expected != s.Version {
		return nil, &ConflictError{Expected: c.Expected, Current: s.Version}
	}
	if miss := missingCertificates(s, c.Config); len(miss) > 0 {
		return nil, fmt.Errorf("apply config: %w %s: add it first (tandem cert add NAME --cert FILE --key FILE), or give a file path", ErrUnknownCertificate, strings.Join(miss, ", "))
	}
	if c.Config == nil {
		return nil, fmt.Errorf("apply config: %w: no config", ErrInvalidCommand)
	}
	return newVersion(s, Revision{Time: c.Time, Node: c.Node, Message: c.Message, Config: c.Config}), nil
}

func rollback(s *State, c Rollback) (*State, error) {
	if c.Expected != s.Version {
		return nil, &ConflictError{Expected: c.Expected, Current: s.Version}
	}
	old, ok := s.Revision(c.To)
	if !ok {
		held := "none"
		if n := len(s.History); n > 0 {
			held = fmt.Sprintf("%d to %d", s.History[0].Version, s.History[n-1].Version)
		}
		return nil, fmt.Errorf("roll back to version %d: %w (the history holds versions %s)", c.To, ErrUnknownVersion, held)
	}
	msg := c.Message
	if msg == "" {
		msg = fmt.Sprintf("rollback to version %d", c.To)
	}
	return newVersion(s, Revision{Time: c.Time, Node: c.Node, Message: msg, Config: old.Config}), nil
}

// newVersion appends rev as the next version and drops runtime data about
// servers and backends that the new config no longer has.
func newVersion(s *State, rev Revision) *State {
	next := s.shallowCopy()
	next.Version = s.Version + 1
	next.Config = rev.Config
	rev.Version = next.Version
	start := max(0, len(s.History)+1-HistoryLimit)
	next.History = append(append([]Revision(nil), s.History[start:]...), rev)

	keys := serverKeys(rev.Config)
	next.Servers = maps.Clone(s.Servers)
	maps.DeleteFunc(next.Servers, func(k config.ServerKey, _ ServerRuntime) bool { return !keys[k] })
	next.Reports = cloneReports(s.Reports)
	maps.DeleteFunc(next.Reports, func(k config.ServerKey, _ map[string]config.Health) bool { return !keys[k] })
	next.Deploys = maps.Clone(s.Deploys)
	maps.DeleteFunc(next.Deploys, func(b string, _ DeployProgress) bool { return rev.Config.Backend(b) == nil })
	next.Agreed = agreed(next)
	return next
}

func setServer(s *State, c SetServer) (*State, error) {
	if s.Config == nil {
		return nil, fmt.Errorf("set server %s: %w", c.Key, ErrNoConfig)
	}
	b := s.Config.Backend(c.Key.Backend)
	if b == nil {
		return nil, fmt.Errorf("backends[%s]: %w: no such backend in config version %d", c.Key.Backend, ErrUnknownServer, s.Version)
	}
	if b.Server(c.Key.Server) == nil {
		return nil, fmt.Errorf("backends[%s].servers[%s]: %w: no such server in config version %d", c.Key.Backend, c.Key.Server, ErrUnknownServer, s.Version)
	}
	if c.Weight != nil && *c.Weight > config.MaxWeight {
		return nil, fmt.Errorf("backends[%s].servers[%s].weight: %w: %d is above %d", c.Key.Backend, c.Key.Server, ErrInvalidCommand, *c.Weight, config.MaxWeight)
	}
	rt := s.Admin(c.Key)
	if c.Admin != nil {
		rt.Admin = *c.Admin
	}
	if c.Weight != nil {
		rt.Weight = nil
		if *c.Weight >= 0 {
			w := *c.Weight
			rt.Weight = &w
		}
	}
	rt.Node, rt.Time = c.Node, c.Time
	next := s.shallowCopy()
	next.Servers = maps.Clone(s.Servers)
	if next.Servers == nil {
		next.Servers = make(map[config.ServerKey]ServerRuntime)
	}
	next.Servers[c.Key] = rt
	return next, nil
}

func reportHealth(s *State, c ReportHealth) *State {
	keys := serverKeys(s.Config)
	next := s.shallowCopy()
	next.Reports = cloneReports(s.Reports)
	if c.Full {
		for _, byNode := range next.Reports {
			delete(byNode, c.Node)
		}
	}
	for key, h := range c.Obs {
		if !keys[key] {
			continue // removed from the config meanwhile
		}
		if h == config.HealthUnknown {
			delete(next.Reports[key], c.Node)
			continue
		}
		if next.Reports[key] == nil {
			next.Reports[key] = make(map[string]config.Health)
		}
		next.Reports[key][c.Node] = h
	}
	maps.DeleteFunc(next.Reports, func(_ config.ServerKey, byNode map[string]config.Health) bool { return len(byNode) == 0 })
	next.Agreed = agreed(next)
	return next
}

func setNodeLive(s *State, c SetNodeLive) *State {
	next := s.shallowCopy()
	next.Nodes = maps.Clone(s.Nodes)
	if next.Nodes == nil {
		next.Nodes = make(map[string]NodeState)
	}
	ns, ok := next.Nodes[c.Node]
	if !ok || ns.Live != c.Live || ns.Role != c.Role {
		ns = NodeState{Role: c.Role, Live: c.Live, Since: c.Time}
	}
	next.Nodes[c.Node] = ns
	next.Agreed = agreed(next)
	return next
}

func removeNode(s *State, c RemoveNode) *State {
	next := s.shallowCopy()
	next.Nodes = maps.Clone(s.Nodes)
	delete(next.Nodes, c.Node)
	next.Reports = cloneReports(s.Reports)
	for _, byNode := range next.Reports {
		delete(byNode, c.Node)
	}
	maps.DeleteFunc(next.Reports, func(_ config.ServerKey, byNode map[string]config.Health) bool { return len(byNode) == 0 })
	next.Agreed = agreed(next)
	return next
}

// Snapshot implements raft.FSM. The state is immutable, so the snapshot
// only holds the pointer; Persist may run concurrently with Apply.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return fsmSnapshot{state: f.current()}, nil
}

// Restore implements raft.FSM.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("restore snapshot: read: %w", err)
	}
	s, err := decodeState(b)
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.set(s)
	return nil
}

type fsmSnapshot struct{ state *State }

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	b, err := encodeState(s.state)
	if err == nil {
		_, err = sink.Write(b)
	}
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}
