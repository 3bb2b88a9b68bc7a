package api

import "time"

// Member is one node of the cluster as this node sees it.
type Member struct {
	Name    string `json:"name"`
	Addr    string `json:"addr"`
	Role    string `json:"role"`
	Status  string `json:"status"` // alive, suspect, left, dead
	Voter   bool   `json:"voter"`
	Leader  bool   `json:"leader"`
	APIAddr string `json:"api_addr,omitempty"`
	// Version is the config version that node serves, when known.
	Version uint64 `json:"version,omitempty"`
}

// RaftStatus is this node's view of Raft.
type RaftStatus struct {
	State        string        `json:"state"`
	Leader       string        `json:"leader"`
	Term         uint64        `json:"term"`
	CommitIndex  uint64        `json:"commit_index"`
	AppliedIndex uint64        `json:"applied_index"`
	LastContact  time.Duration `json:"last_contact"`
	Voters       int           `json:"voters"`
}

// HistoryEntry is one config version.
type HistoryEntry struct {
	Version uint64    `json:"version"`
	Time    time.Time `json:"time"`
	Node    string    `json:"node"`
	Message string    `json:"message,omitempty"`
}

// RollbackRequest makes a new version equal to version To.
type RollbackRequest struct {
	To              uint64 `json:"to"`
	ExpectedVersion uint64 `json:"expected_version"`
	Message         string `json:"message,omitempty"`
}

// JoinRequest asks a node to join the cluster through these gossip addresses.
type JoinRequest struct {
	Addrs []string `json:"addrs"`
}

// RemoveRequest removes a node that is gone for good.
type RemoveRequest struct {
	Node string `json:"node"`
}

// RecoverRequest asks a node without a Raft leader to force its voters to
// itself plus Keep (peers.json-style). With DryRun it only returns the
// plan; otherwise ExpectDropped must be the plan's Dropped, as confirmed.
type RecoverRequest struct {
	Keep          []string `json:"keep,omitempty"`
	ExpectDropped []string `json:"expect_dropped,omitempty"`
	DryRun        bool     `json:"dry_run,omitempty"`
}

// RecoveryPlan is what a forced recovery keeps, drops and may lose.
type RecoveryPlan struct {
	Voters       []string      `json:"voters"`
	Dropped      []string      `json:"dropped"`
	LastIndex    uint64        `json:"last_index"`
	CommitIndex  uint64        `json:"commit_index"`
	AppliedIndex uint64        `json:"applied_index"`
	Version      uint64        `json:"version"`
	LastContact  time.Duration `json:"last_contact"`
	Risks        []string      `json:"risks"`
}
