package runtimeapi

import (
	"context"
	"errors"
	"time"

	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

// Cluster is what the runtime API needs from the node: a view of the
// cluster's config and counters, and a way to change state everywhere.
// The agent implements it through the replicated state.
type Cluster interface {
	// View returns the config and, with counters, the counters summed
	// over the LB nodes that answered (without, the counters may be zero:
	// a change only needs the config).
	View(ctx context.Context, counters bool) (View, error)
	// Change applies c on every node (through the replicated state, or
	// by asking every node for ClearCounters). Errors wrapping
	// ErrNoSuchServer or ErrNoQuorum are answered in HAProxy's words or
	// tandem's; others are answered with their text.
	Change(ctx context.Context, c Change) error
}

// Errors a Cluster returns for a Change.
var (
	ErrNoSuchServer = errors.New("no such server")
	ErrNoQuorum     = errors.New("no quorum")
)

// ChangeKind says what a Change does.
type ChangeKind int

// The changes a command can make.
const (
	ChangeAdmin   ChangeKind = iota + 1 // set the admin state (ready, drain, maint)
	ChangeWeight                        // set the runtime weight
	ChangeAddr                          // set the address (host:port), a new config version
	ChangeMaxConn                       // set the server's maxconn, a new config version
	ChangeCheck                         // pause or resume the health check, a new config version
	ChangeClear                         // clear counters on every node
)

func (k ChangeKind) String() string {
	switch k {
	case ChangeAdmin:
		return "admin"
	case ChangeWeight:
		return "weight"
	case ChangeAddr:
		return "addr"
	case ChangeMaxConn:
		return "maxconn"
	case ChangeCheck:
		return "check"
	case ChangeClear:
		return "clear"
	}
	return "unknown"
}

// Change is one state change, with the fields its Kind uses.
type Change struct {
	Kind    ChangeKind
	Key     config.ServerKey  // every kind but ChangeClear
	Admin   config.AdminState // ChangeAdmin
	Weight  int               // ChangeWeight: 0-256
	Addr    string            // ChangeAddr: host:port
	MaxConn int               // ChangeMaxConn: 0 is unlimited
	Check   bool              // ChangeCheck: true resumes the check
	All     bool              // ChangeClear: every counter, not only the max ones
}

// View is the cluster as the runtime API shows it, at one moment.
type View struct {
	Node        string // this node's name ("node:" in show info)
	Version     string // tandem's version
	ReleaseDate string // YYYY/MM/DD, may be empty
	Pid         int
	Started     time.Time
	Now         time.Time
	MaxConn     int // global maxconn of a node
	Threads     int // GOMAXPROCS
	Tasks       int // goroutines
	MaxSock     int // open file limit
	Frontends   []Frontend
	Backends    []Backend
	// Nodes are the LB nodes whose counters are summed; Missing are the
	// ones that did not answer, with why.
	Nodes   []string
	Missing map[string]string
}

// Frontend is one frontend with its counters summed over the nodes.
type Frontend struct {
	Name     string
	Mode     config.Mode
	MaxConn  int
	Ready    bool // every node listening on its bind addresses
	Counters balancer.Counters
	// ReqRate and ConnRate are per second over the last few seconds
	// (-1: unknown).
	ReqRate, ConnRate int
}

// Backend is one backend and its servers.
type Backend struct {
	Name    string
	Mode    config.Mode
	Algo    config.Algorithm
	Cookie  string // the persistence cookie's name, if any
	MaxConn int    // the backend's fullconn (HAProxy's slim for a backend)
	// Counters are the sum of the servers' plus the backend's own
	// (requests no server took).
	Counters balancer.Counters
	Servers  []ServerState
}

// ServerState is one server as the cluster sees it.
type ServerState struct {
	Name    string
	Address string // host:port
	Backup  bool
	Cookie  string
	Admin   config.AdminState
	// Health is the health the cluster acts on (agreed and this node's
	// own combined); Routed says whether the node sends it new traffic.
	Health config.Health
	Routed bool
	// Checked: the server has a health check; CheckPaused: it is paused
	// ("disable health").
	Checked, CheckPaused bool
	CheckRise, CheckFall int
	// CheckResult is HAProxy-like ("L7OK 200", "L4CON connection
	// refused"); CheckCode is the HTTP status of the last check.
	CheckResult   string
	CheckCode     int
	CheckDuration time.Duration
	Weight        int // the runtime weight
	InitialWeight int // the config's weight
	MaxConn       int
	Counters      balancer.Counters
	ResponseTime  balancer.Histogram
	ReqRate       int // per second over the last few seconds (-1: unknown)
}

// backend returns the backend named name, or nil.
func (v *View) backend(name string) *Backend {
	for i := range v.Backends {
		if v.Backends[i].Name == name {
			return &v.Backends[i]
		}
	}
	return nil
}

// server returns the server named name, or nil.
func (b *Backend) server(name string) *ServerState {
	for i := range b.Servers {
		if b.Servers[i].Name == name {
			return &b.Servers[i]
		}
	}
	return nil
}

// dynamic: the backend's algorithm takes weight changes at runtime
// (HAProxy's BE_LB_PROP_DYN; of tandem's algorithms only static-rr is not).
func (b *Backend) dynamic() bool { return b.Algo != config.AlgoStaticRR }
