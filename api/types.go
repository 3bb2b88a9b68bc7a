package api

import (
	"time"

	"github.com/tandem-lb/tandem/config"
)

// Status is one node's view: its config, frontends and every server.
type Status struct {
	Node        string                  `json:"node"`
	Role        string                  `json:"role"`
	Version     uint64                  `json:"version"`
	ConfigError string                  `json:"config_error,omitempty"` // the last committed version this node could not serve, and why
	Quorum      bool                    `json:"quorum"`
	Members     []Member                `json:"members,omitempty"`
	Raft        *RaftStatus             `json:"raft,omitempty"`
	Deploys     map[string]DeployRecord `json:"deploys,omitempty"`
	VIPs        []VIPStatus             `json:"vips,omitempty"`
	BGP         *BGPStatus              `json:"bgp,omitempty"` // nil: no BGP speaker
	Frontends   []FrontendStatus        `json:"frontends"`
	Servers     []ServerStatus          `json:"servers"`
	// Certificates are those this node's frontends serve now.
	Certificates []CertificateStatus `json:"certificates,omitempty"`
	// ACME is the state of every name the cluster gets certificates for.
	ACME []ACMEStatus `json:"acme,omitempty"`
	// CounterNodes are the LB nodes whose counters the Cluster fields
	// sum (asked with ?cluster=1); MissingNodes did not answer, with why.
	CounterNodes []string          `json:"counter_nodes,omitempty"`
	MissingNodes map[string]string `json:"missing_nodes,omitempty"`
}

// CertificateStatus is a certificate some frontends serve.
type CertificateStatus struct {
	Name      string    `json:"name"` // a store name or a PEM path
	Frontends []string  `json:"frontends"`
	NotAfter  time.Time `json:"not_after"`
}

// ExpiryWarning is how long before a certificate's expiry the dashboard
// warns.
const ExpiryWarning = 14 * 24 * time.Hour

// Traffic is a frontend's or server's counters: summed over the LB nodes
// (Cluster) or one node's (ByNode).
type Traffic struct {
	CurConns   int64  `json:"cur_conns"`
	InFlight   int64  `json:"in_flight,omitempty"`
	QueueLen   int64  `json:"queue_len,omitempty"`
	TotalConns uint64 `json:"total_conns"`
	Requests   uint64 `json:"requests"`
	Errors     uint64 `json:"errors"`
}

// FrontendStatus is a frontend on this node.
type FrontendStatus struct {
	Name       string   `json:"name"`
	Bind       []string `json:"bind"`
	Mode       string   `json:"mode"`
	Ready      bool     `json:"ready"`
	CurConns   int64    `json:"cur_conns"`
	TotalConns uint64   `json:"total_conns"`
	Requests   uint64   `json:"requests"`
	// Cluster sums every LB node's counters; ByNode has each node's
	// (with ?cluster=1 and ?nodes=1).
	Cluster *Traffic           `json:"cluster,omitempty"`
	ByNode  map[string]Traffic `json:"by_node,omitempty"`
}

// ServerStatus is a server as this node sees it.
type ServerStatus struct {
	Backend string            `json:"backend"`
	Server  string            `json:"server"`
	Address string            `json:"address"`
	Admin   config.AdminState `json:"admin"`
	Weight  int               `json:"weight"`
	// Agreed is the cluster's agreed health; Own is this node's checks;
	// Routed says whether this node sends it new traffic.
	Agreed config.Health `json:"agreed"`
	// Views is every LB node's latest report (node → health).
	Views     map[string]config.Health `json:"views,omitempty"`
	Own       config.Health            `json:"own"`
	Routed    bool                     `json:"routed"`
	LastCheck string                   `json:"last_check,omitempty"`
	CheckTime time.Duration            `json:"check_duration,omitempty"`
	// AgentResult is the last agent check's answer (agent-check), and
	// AgentAdmin the state it set ("drain", "maint"; "": none).
	AgentResult string             `json:"agent_result,omitempty"`
	AgentAdmin  string             `json:"agent_admin,omitempty"`
	CurConns    int64              `json:"cur_conns"`
	InFlight    int64              `json:"in_flight"`
	QueueLen    int64              `json:"queue_len"`
	TotalConns  uint64             `json:"total_conns"`
	Requests    uint64             `json:"requests"`
	Errors      uint64             `json:"errors"`
	Cluster     *Traffic           `json:"cluster,omitempty"`
	ByNode      map[string]Traffic `json:"by_node,omitempty"`
}

// ConfigResponse is the current config.
type ConfigResponse struct {
	Version uint64          `json:"version"`
	Config  *config.Cluster `json:"config"`
}

// ApplyRequest applies a config. ExpectedVersion is the version the edit was
// based on (0: whatever is current, no check).
type ApplyRequest struct {
	ExpectedVersion uint64          `json:"expected_version"`
	Config          *config.Cluster `json:"config"`
	Message         string          `json:"message,omitempty"`
}

// ApplyResponse is the version a successful apply created.
type ApplyResponse struct {
	Version uint64 `json:"version"`
}

// ServerRequest changes a server's admin state and/or weight cluster-wide.
type ServerRequest struct {
	Admin  *config.AdminState `json:"admin,omitempty"`
	Weight *int               `json:"weight,omitempty"`
}

// ErrorBody is every error's JSON body.
type ErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"` // bad_request, not_found, conflict, no_quorum, unauthorized, internal
}
