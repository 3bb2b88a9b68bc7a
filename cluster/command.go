package cluster

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// cmdType is the first byte of every Raft log entry this package writes.
// The high bit marks a command that an older node which does not know the
// type may skip ("safe to ignore if unknown"), so a rolling upgrade can
// introduce informational commands without stopping old followers. Types
// without the bit make an old node panic rather than silently diverge.
type cmdType uint8

const ignorableBit cmdType = 0x80

// Command type bytes. Never renumber: they are in every stored log.
const (
	typeApplyConfig    cmdType = 0x01
	typeRollback       cmdType = 0x02
	typeSetServer      cmdType = 0x03
	typeReportHealth   cmdType = 0x04
	typeSetNodeLive    cmdType = 0x05
	typeRemoveNode     cmdType = 0x06
	typeDeployProgress cmdType = ignorableBit | 0x07
	typeInitCluster    cmdType = 0x08
	// Certificates change apart from config versions; an older node must
	// not skip them (it would serve a stale certificate).
	typeSetCertificate    cmdType = 0x09
	typeDeleteCertificate cmdType = 0x0a
	// The ACME manager's storage and locks (acmestore.go); not ignorable:
	// a node that skipped them would hand out a lock another node holds.
	typePutACMEValue    cmdType = 0x0b
	typeDeleteACMEValue cmdType = 0x0c
	typeAcquireACMELock cmdType = 0x0d
	typeReleaseACMELock cmdType = 0x0e
)

// Command is one typed change to the replicated state, applied through
// Node.Apply. Its body travels as JSON.
type Command interface{ commandType() cmdType }

// ApplyConfig replaces the cluster config if the current version is
// Expected (compare-and-set; otherwise *ConflictError). The version goes up
// by one and the config is appended to the history. Validate the config
// before; the FSM does not.
type ApplyConfig struct {
	Expected uint64          `json:"expected"`
	Config   *config.Cluster `json:"config"`
	Node     string          `json:"node"` // who applied it
	Message  string          `json:"message,omitempty"`
	Time     time.Time       `json:"time"`
}

// Rollback makes a new version whose config equals version To (which must
// still be in the history, else ErrUnknownVersion), if the current version
// is Expected.
type Rollback struct {
	To       uint64    `json:"to"`
	Expected uint64    `json:"expected"`
	Node     string    `json:"node"`
	Message  string    `json:"message,omitempty"`
	Time     time.Time `json:"time"`
}

// SetServer changes a server's runtime admin state and/or weight. nil
// fields are left as they are; a negative Weight goes back to the config's
// weight. An unknown backend/server is rejected with ErrUnknownServer.
type SetServer struct {
	Key    config.ServerKey   `json:"key"`
	Admin  *config.AdminState `json:"admin,omitempty"`
	Weight *int               `json:"weight,omitempty"`
	Node   string             `json:"node"`
	Time   time.Time          `json:"time"`
}

// ReportHealth carries one node's health observations, keyed
// "backend/server". Full replaces everything the node reported before
// (servers missing from Obs lose its report); otherwise Obs is merged.
// HealthUnknown withdraws the node's report on that server.
type ReportHealth struct {
	Node string                             `json:"node"`
	Full bool                               `json:"full,omitempty"`
	Obs  map[config.ServerKey]config.Health `json:"obs"`
	Time time.Time                          `json:"time"`
}

// SetNodeLive records gossip liveness in the state, written by the leader,
// so that the agreement rule counts live reporters deterministically.
type SetNodeLive struct {
	Node string    `json:"node"`
	Live bool      `json:"live"`
	Role Role      `json:"role"`
	Time time.Time `json:"time"`
}

// RemoveNode forgets a node: its liveness record and its health reports.
type RemoveNode struct {
	Node string    `json:"node"`
	Time time.Time `json:"time"`
}

// InitCluster sets State.ClusterID; the first leader writes it once.
type InitCluster struct {
	ID   string    `json:"id"`
	Node string    `json:"node"`
	Time time.Time `json:"time"`
}

// DeployProgress records where a rolling deploy of a backend is; it is
// stored as State.Deploys[Backend]. Ignorable by nodes that predate it.
type DeployProgress struct {
	Backend string    `json:"backend"`
	Server  string    `json:"server,omitempty"` // server being deployed
	Step    string    `json:"step,omitempty"`   // drain, wait, hook, healthy, ready, ...
	Node    string    `json:"node,omitempty"`   // node that accepted the command
	Host    string    `json:"host,omitempty"`   // where the deploy client runs
	ID      string    `json:"id,omitempty"`     // deploy run ID
	Since   time.Time `json:"since"`
	Done    bool      `json:"done,omitempty"`
}

func (ApplyConfig) commandType() cmdType    { return typeApplyConfig }
func (Rollback) commandType() cmdType       { return typeRollback }
func (SetServer) commandType() cmdType      { return typeSetServer }
func (ReportHealth) commandType() cmdType   { return typeReportHealth }
func (SetNodeLive) commandType() cmdType    { return typeSetNodeLive }
func (RemoveNode) commandType() cmdType     { return typeRemoveNode }
func (DeployProgress) commandType() cmdType { return typeDeployProgress }
func (InitCluster) commandType() cmdType    { return typeInitCluster }

// encodeCommand returns the Raft log entry for c: type byte + JSON body.
func encodeCommand(c Command) ([]byte, error) {
	if c == nil {
		return nil, fmt.Errorf("encode command: %w: nil", ErrInvalidCommand)
	}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode command %T: %w", c, err)
	}
	return append([]byte{byte(c.commandType())}, body...), nil
}

// decodeCommand parses a log entry. It returns (nil, nil) for an unknown
// type with the ignorable bit, and an error for anything else it cannot
// decode.
func decodeCommand(data []byte) (Command, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("empty entry")
	}
	t, body := cmdType(data[0]), data[1:]
	var (
		c   Command
		err error
	)
	switch t {
	case typeApplyConfig:
		c, err = decodeAs[ApplyConfig](body)
	case typeRollback:
		c, err = decodeAs[Rollback](body)
	case typeSetServer:
		c, err = decodeAs[SetServer](body)
	case typeReportHealth:
		c, err = decodeAs[ReportHealth](body)
	case typeSetNodeLive:
		c, err = decodeAs[SetNodeLive](body)
	case typeRemoveNode:
		c, err = decodeAs[RemoveNode](body)
	case typeDeployProgress:
		c, err = decodeAs[DeployProgress](body)
	case typeInitCluster:
		c, err = decodeAs[InitCluster](body)
	case typeSetCertificate:
		c, err = decodeAs[SetCertificate](body)
	case typeDeleteCertificate:
		c, err = decodeAs[DeleteCertificate](body)
	case typePutACMEValue:
		c, err = decodeAs[PutACMEValue](body)
	case typeDeleteACMEValue:
		c, err = decodeAs[DeleteACMEValue](body)
	case typeAcquireACMELock:
		c, err = decodeAs[AcquireACMELock](body)
	case typeReleaseACMELock:
		c, err = decodeAs[ReleaseACMELock](body)
	default:
		if t&ignorableBit != 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("unknown command type 0x%02x without the ignorable bit: "+
			"this node is older than the one that wrote it; upgrade it", byte(t))
	}
	if err != nil {
		return nil, fmt.Errorf("decode command type 0x%02x: %w", byte(t), err)
	}
	return c, nil
}

func decodeAs[T Command](body []byte) (Command, error) {
	var v T
	err := json.Unmarshal(body, &v)
	return v, err
}
