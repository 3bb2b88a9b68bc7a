package agent

import (
	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
)

// view is the replicated state as the agent needs it: what every node agreed
// on, independent of where it came from (Raft or the local store).
type view struct {
	Version uint64
	Config  *config.Cluster // validated, unresolved; nil before the first config
	Admin   map[config.ServerKey]serverAdmin
	Agreed  map[config.ServerKey]config.Health // absent: unknown
	Quorum  bool                               // false: Agreed is frozen, own checks decide
	// Certificates are the store's certificates (their keys sealed).
	Certificates map[string]cluster.StoredCertificate
}

type serverAdmin struct {
	Admin  config.AdminState
	Weight *int // nil: the config's weight
}

// desiredServers applies DESIGN.md's rule: a node sends traffic to a server
// only if its admin state is ready, its agreed state is up, and this node's
// own latest observation is not down. Without quorum the agreed state is
// frozen and stale, so only the node's own observations decide.
func desiredServers(cfg *config.Cluster, v view, local map[config.ServerKey]config.Health) map[config.ServerKey]balancer.ServerState {
	out := make(map[config.ServerKey]balancer.ServerState)
	for _, b := range cfg.Backends {
		for _, s := range b.Servers {
			key := config.ServerKey{Backend: b.Name, Server: s.Name}
			st := balancer.ServerState{Admin: config.AdminReady, Weight: -1}
			if s.Disabled {
				st.Admin = config.AdminMaint
			}
			if a, ok := v.Admin[key]; ok {
				st.Admin = a.Admin
				if a.Weight != nil {
					st.Weight = *a.Weight
				}
			}
			own := local[key]
			agreed := v.Agreed[key]
			if !v.Quorum {
				agreed = own
			}
			st.Health = combine(own, agreed)
			out[key] = st
		}
	}
	return out
}

// combine merges this node's observation with the agreed one: down wins,
// then nolb, then up.
func combine(own, agreed config.Health) config.Health {
	switch {
	case own == config.HealthDown || agreed == config.HealthDown:
		return config.HealthDown
	case own == config.HealthNoLB || agreed == config.HealthNoLB:
		return config.HealthNoLB
	case own == config.HealthUp || agreed == config.HealthUp:
		return config.HealthUp
	default:
		return config.HealthUnknown
	}
}
