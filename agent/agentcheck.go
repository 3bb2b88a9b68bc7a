package agent

import (
	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/health"
)

// applyAgentWeights scales each server's weight by what its agent check
// asked for ("75%": three quarters of the configured weight, or of the
// operator's when one is set), as HAProxy applies an agent's weight to the
// server's initial weight. The agent's drain, maint, up and down are in
// the server's health already (health.Status.Health). An agent runs on
// every LB node and answers each the same, so the weight is applied
// locally, not replicated.
func applyAgentWeights(cfg *config.Cluster, servers map[config.ServerKey]balancer.ServerState, st map[config.ServerKey]health.Status) {
	for _, b := range cfg.Backends {
		for _, s := range b.Servers {
			key := config.ServerKey{Backend: b.Name, Server: s.Name}
			hs, ok := st[key]
			if !ok || hs.AgentWeight < 0 {
				continue
			}
			ss := servers[key]
			base := ss.Weight
			if base < 0 {
				base = config.DefaultWeight
				if s.Weight != nil {
					base = *s.Weight
				}
			}
			ss.Weight = min(base*hs.AgentWeight/100, config.MaxWeight)
			servers[key] = ss
		}
	}
}
