package bgp

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// View is the gossip membership as the Speaker needs it.
type View struct {
	// Members is every member gossip knows, including this node.
	Members []Member
	// Voters is the number of LB voters plus witnesses known to Raft, for
	// the quorum rule; 0 means unknown (no quorum fencing).
	Voters int
}

// Member is one gossip member and what it gossips about its BGP VIPs.
type Member struct {
	Name  string
	Alive bool
	// Role is "voter", "witness" or "" (voter).
	Role string
	// Claims maps a BGP VIP's name to the member's standing for it
	// (DecodeMeta of its gossip meta).
	Claims map[string]Claim
}

// Claim is one node's gossiped standing for one BGP VIP.
type Claim struct {
	// Priority is the node's priority for the VIP (mode primary).
	Priority int
	// Eligible: the node is ready for the VIP and may be its primary.
	Eligible bool
	// Announcing: the node announces the VIP to its peers.
	Announcing bool
	// Primary: the node announces the best path (mode primary).
	Primary bool
}

// metaKey is the gossip meta key of BGP claims, beside the vip package's
// "v" and "vf": "name:priority[flags],..." with flags e (eligible), a
// (announcing) and p (primary).
const metaKey = "b"

// EncodeMeta encodes claims for the gossip meta, sorted by name.
func EncodeMeta(claims map[string]Claim) map[string]string {
	if len(claims) == 0 {
		return map[string]string{}
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(claims)) {
		c := claims[name]
		flags := ""
		if c.Eligible {
			flags += "e"
		}
		if c.Announcing {
			flags += "a"
		}
		if c.Primary {
			flags += "p"
		}
		parts = append(parts, fmt.Sprintf("%s:%d%s", name, c.Priority, flags))
	}
	return map[string]string{metaKey: strings.Join(parts, ",")}
}

// DecodeMeta reads the claims from a member's gossip meta; a member
// without BGP VIPs has none.
func DecodeMeta(meta map[string]string) (map[string]Claim, error) {
	raw := meta[metaKey]
	out := map[string]Claim{}
	if raw == "" {
		return out, nil
	}
	for _, part := range strings.Split(raw, ",") {
		name, rest, ok := strings.Cut(part, ":")
		digits := strings.TrimRight(rest, "eap")
		prio, err := strconv.Atoi(digits)
		if !ok || name == "" || err != nil {
			return out, fmt.Errorf("bgp meta: bad entry %q", part)
		}
		flags := rest[len(digits):]
		out[name] = Claim{Priority: prio, Eligible: strings.Contains(flags, "e"), Announcing: strings.Contains(flags, "a"), Primary: strings.Contains(flags, "p")}
	}
	return out, nil
}
