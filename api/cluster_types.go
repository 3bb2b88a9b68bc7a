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
