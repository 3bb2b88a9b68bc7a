package cluster

import (
	"github.com/tandem-lb/tandem/config"
)

// agreed derives the cluster-wide health of every server in s.Config from
// the reports of live LB (voter) nodes. Witnesses and nodes not recorded
// live do not count; a node that reported and then died stops counting at
// once, so its stale view cannot keep a server down.
func agreed(s *State) map[config.ServerKey]config.Health {
	if s.Config == nil {
		return nil
	}
	policy := s.Config.Global.HealthPolicy
	out := make(map[config.ServerKey]config.Health)
	for key := range serverKeys(s.Config) {
		var views []config.Health
		for node, h := range s.Reports[key] {
			if ns, ok := s.Nodes[node]; ok && ns.Live && ns.Role == RoleVoter && h != config.HealthUnknown {
				views = append(views, h)
			}
		}
		out[key] = agree(policy, views)
	}
	return out
}

// agree applies a policy to the views of the live LB nodes that report on
// one server. The server is down when the policy's quorum of views says
// down; else nolb when that quorum says down or nolb; else up. No views:
// up (HAProxy starts servers up; each node's own check still guards it).
func agree(p config.HealthPolicy, views []config.Health) config.Health {
	n := len(views)
	if n == 0 {
		return config.HealthUp
	}
	var down, notUp int
	for _, h := range views {
		switch h {
		case config.HealthDown:
			down++
			notUp++
		case config.HealthNoLB:
			notUp++
		}
	}
	quorum := func(k int) bool {
		switch p {
		case config.PolicyAny:
			return k >= 1
		case config.PolicyAll:
			return k == n
		default: // majority
			return 2*k > n
		}
	}
	switch {
	case quorum(down):
		return config.HealthDown
	case quorum(notUp):
		return config.HealthNoLB
	default:
		return config.HealthUp
	}
}
