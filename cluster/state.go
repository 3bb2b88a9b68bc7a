package cluster

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// HistoryLimit is how many past configs State.History keeps (full copies),
// so that a rollback can reach any of them.
const HistoryLimit = 50

// stateFormat versions the JSON encoding of State in snapshots and in
// DataDir/state.json. Bump it on an incompatible change and teach
// decodeState the old one.
const stateFormat = 1

// State is the replicated state at one point of the Raft log. A *State
// handed out by this package is immutable: do not modify it or anything it
// points to.
type State struct {
	// Version is the config version; 0 = no config applied yet.
	Version uint64 `json:"version"`
	// Config is the config as applied (unresolved); nil before the first apply.
	Config *config.Cluster `json:"config,omitempty"`
	// History holds the last HistoryLimit versions, oldest first.
	History []Revision `json:"history,omitempty"`
	// Servers holds runtime overrides by "backend/server"; see Admin.
	Servers map[config.ServerKey]ServerRuntime `json:"servers,omitempty"`
	// Reports is server ("backend/server") → node → that node's latest observation.
	Reports map[config.ServerKey]map[string]config.Health `json:"reports,omitempty"`
	// Nodes is the liveness of every node as the leader last saw it in gossip.
	Nodes map[string]NodeState `json:"nodes,omitempty"`
	// Agreed is the cluster-wide health of every configured server,
	// derived from Reports and Nodes by Global.HealthPolicy on every apply.
	Agreed map[config.ServerKey]config.Health `json:"agreed,omitempty"`
	// Deploys is the progress of rolling deploys by backend.
	Deploys map[string]DeployProgress `json:"deploys,omitempty"`
	// Certificates are the certificates frontends name (tandem cert add),
	// their private keys sealed.
	Certificates map[string]StoredCertificate `json:"certificates,omitempty"`
	// ACME is the ACME certificate manager's storage and locks.
	ACME *ACMEStore `json:"acme,omitempty"`
	// ClusterID names the cluster; set once by its first leader. Gossip
	// carries it so that a leader never adds a node that bootstrapped a
	// cluster of its own.
	ClusterID string `json:"cluster_id,omitempty"`
	// Index is the Raft index of the last entry that changed this state.
	Index uint64 `json:"index"`
}

// Revision is one applied config version.
type Revision struct {
	Version uint64          `json:"version"`
	Time    time.Time       `json:"time"`
	Node    string          `json:"node"`
	Message string          `json:"message,omitempty"`
	Config  *config.Cluster `json:"config"`
}

// ServerRuntime is an operator's runtime decision about a server.
type ServerRuntime struct {
	Admin  config.AdminState `json:"admin"`
	Weight *int              `json:"weight,omitempty"` // nil: the config's weight
	Node   string            `json:"node,omitempty"`   // who set it
	Time   time.Time         `json:"time"`
}

// NodeState is a node's liveness as recorded by the leader.
type NodeState struct {
	Role  Role      `json:"role"`
	Live  bool      `json:"live"`
	Since time.Time `json:"since"` // when Live or Role last changed
}

// Admin returns the runtime state of a server: the override set by
// SetServer, else ready (maint when the config marks it disabled).
func (s *State) Admin(key config.ServerKey) ServerRuntime {
	if rt, ok := s.Servers[key]; ok {
		return rt
	}
	rt := ServerRuntime{Admin: config.AdminReady}
	if s.Config != nil {
		if b := s.Config.Backend(key.Backend); b != nil {
			if srv := b.Server(key.Server); srv != nil && srv.Disabled {
				rt.Admin = config.AdminMaint
			}
		}
	}
	return rt
}

// Revision returns the history entry of version v, if still held.
func (s *State) Revision(v uint64) (Revision, bool) {
	for _, r := range s.History {
		if r.Version == v {
			return r, true
		}
	}
	return Revision{}, false
}

// shallowCopy returns a copy that shares every map and slice with s; the
// caller replaces (never mutates) the ones it changes.
func (s *State) shallowCopy() *State {
	c := *s
	return &c
}

// serverKeys returns every server of cfg.
func serverKeys(cfg *config.Cluster) map[config.ServerKey]bool {
	keys := make(map[config.ServerKey]bool)
	if cfg == nil {
		return keys
	}
	for _, b := range cfg.Backends {
		for _, srv := range b.Servers {
			keys[config.ServerKey{Backend: b.Name, Server: srv.Name}] = true
		}
	}
	return keys
}

func cloneReports(r map[config.ServerKey]map[string]config.Health) map[config.ServerKey]map[string]config.Health {
	out := make(map[config.ServerKey]map[string]config.Health, len(r))
	for k, v := range r {
		out[k] = maps.Clone(v)
	}
	return out
}

// stateFile is the versioned JSON envelope of snapshots and state.json.
type stateFile struct {
	Format int    `json:"format"`
	State  *State `json:"state"`
}

func encodeState(s *State) ([]byte, error) {
	return json.Marshal(stateFile{Format: stateFormat, State: s})
}

func decodeState(b []byte) (*State, error) {
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	if f.Format != stateFormat {
		return nil, fmt.Errorf("state format %d is not supported by this version (want %d)", f.Format, stateFormat)
	}
	if f.State == nil {
		return nil, fmt.Errorf("state missing")
	}
	return f.State, nil
}
