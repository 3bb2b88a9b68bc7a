package main

import (
	"fmt"
	"io"
	"os"

	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/config/haproxy"
)

// loadClusterFile reads a cluster config in YAML, JSON or haproxy.cfg form
// (detected), validates it, and prints import warnings to warn.
func loadClusterFile(path string, warn io.Writer) (*config.Cluster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cluster config: %w", err)
	}
	if !haproxy.Looks(data) {
		return config.Load(path, data)
	}
	c, warnings, err := haproxy.Parse(path, data)
	for _, w := range warnings {
		fmt.Fprintln(warn, w.String())
	}
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s (imported from haproxy.cfg): %w", path, err)
	}
	return c, nil
}
