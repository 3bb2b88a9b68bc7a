package cluster

import (
	"fmt"
	"strings"
)

// Role is what a node does in the cluster.
type Role int

const (
	// RoleVoter is an LB node: it balances traffic, may hold VIPs, reports
	// health and votes in Raft.
	RoleVoter Role = iota
	// RoleWitness only gossips and votes in Raft: no balancer, no VIP, no
	// health reports. A third, witness node gives a 2-LB cluster a quorum
	// when one LB host is lost.
	RoleWitness
)

var roleNames = []string{"voter", "witness"}

func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return fmt.Sprintf("invalid(%d)", int(r))
	}
	return roleNames[r]
}

// MarshalText implements encoding.TextMarshaler.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	for i, n := range roleNames {
		if n == s {
			*r = Role(i)
			return nil
		}
	}
	return fmt.Errorf("unknown role %q (valid: voter, witness)", s)
}

// Status is a member's liveness as gossip sees it.
type Status int

const (
	StatusAlive Status = iota
	// StatusSuspect is reserved: memberlist does not report suspicion to
	// its event delegate, so Members shows suspect nodes as alive.
	StatusSuspect
	StatusLeft // left gracefully (Leave or a clean shutdown)
	StatusDead // stopped answering probes, or never seen by this node
)

var statusNames = []string{"alive", "suspect", "left", "dead"}

func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("invalid(%d)", int(s))
	}
	return statusNames[s]
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Status) UnmarshalText(b []byte) error {
	v := strings.ToLower(strings.TrimSpace(string(b)))
	for i, n := range statusNames {
		if n == v {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("unknown member status %q (valid: alive, suspect, left, dead)", v)
}
