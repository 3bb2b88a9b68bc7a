// Package agenttest runs one real tandem agent in-process for a test: a
// single-node cluster on loopback with its data under the test's temporary
// directory, stopped (and its error checked) when the test ends.
package agenttest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/agent"
	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
)

// Start runs an agent named node serving c, with its admin API on
// apiAddr, until the test ends, and returns once the agent is ready (its
// listeners bound). It fails the test when the agent stops or is not
// ready within wait.
func Start(t testing.TB, node, apiAddr string, c *config.Cluster, logger *slog.Logger, wait time.Duration) *agent.Agent {
	t.Helper()
	cc := cluster.Config{Node: node, DataDir: filepath.Join(t.TempDir(), "tandem"), BindAddr: "127.0.0.1", APIAddr: apiAddr}
	a, err := agent.New(agent.Config{Cluster: cc, ClusterConfig: c, API: api.ServerConfig{Addr: apiAddr}, DrainTimeout: time.Second},
		agent.Deps{Logger: logger})
	if err != nil {
		t.Fatalf("tandem agent: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tandem agent: %v", err)
		}
	})
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("tandem agent stopped: %v", err)
	case <-time.After(wait):
		t.Fatalf("tandem agent not ready after %v", wait)
	}
	return a
}
