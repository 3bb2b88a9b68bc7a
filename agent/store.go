package agent

import (
	"context"
	"fmt"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

// store is where the agent reads agreed state and writes operator
// decisions; the cluster (Raft) implements it. Declared here, where it is
// consumed, so the agent's rules can be tested against a small fake.
type store interface {
	View() view
	// Changed is signalled (coalesced) after every change of View.
	Changed() <-chan struct{}
	ApplyConfig(ctx context.Context, expected uint64, c *config.Cluster, msg string) (uint64, error)
	SetServer(ctx context.Context, key config.ServerKey, admin *config.AdminState, weight *int) error
	// Observe hands over this node's full health view; never blocks.
	Observe(obs map[config.ServerKey]config.Health)
}

// ErrUnknownServer is returned for a backend/server not in the config.
var ErrUnknownServer = fmt.Errorf("unknown server")

func checkServer(c *config.Cluster, key config.ServerKey, weight *int) error {
	if c == nil {
		return fmt.Errorf("server %s: %w: no config applied yet", key, ErrUnknownServer)
	}
	b := c.Backend(key.Backend)
	if b == nil {
		return fmt.Errorf("server %s: %w: no backend %q", key, ErrUnknownServer, key.Backend)
	}
	if b.Server(key.Server) == nil {
		return fmt.Errorf("server %s: %w: backend %q has no server %q", key, ErrUnknownServer, key.Backend, key.Server)
	}
	if weight != nil && (*weight < 0 || *weight > config.MaxWeight) {
		return fmt.Errorf("%w: server %s: weight %d out of range 0-%d", api.ErrBadRequest, key, *weight, config.MaxWeight)
	}
	return nil
}
