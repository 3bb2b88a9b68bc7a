package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/config/haproxy"
)

// loadClusterFile reads a cluster config in YAML, JSON or haproxy.cfg form
// (detected), validates it, and prints import warnings to warn. A
// haproxy.cfg is imported strictly: what tandem would serve differently
// from HAProxy is an error.
func loadClusterFile(path string, warn io.Writer) (*config.Cluster, error) {
	return loadCluster(path, warn, false)
}

// loadCluster is loadClusterFile with --lenient: directives tandem would
// serve differently from HAProxy become warnings.
func loadCluster(path string, warn io.Writer, lenient bool) (*config.Cluster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cluster config: %w", err)
	}
	if !haproxy.Looks(data) {
		return config.Load(path, data)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("read cluster config: %w", err)
	}
	c, warnings, err := haproxy.Parse(path, data, haproxy.Options{
		Env:     os.LookupEnv,
		Files:   haproxy.FromFS(os.DirFS("/"), dir), // relative paths: the cfg's directory
		Lenient: lenient,
	})
	for _, w := range warnings {
		fmt.Fprintln(warn, w.String())
	}
	if err != nil {
		if !lenient {
			return nil, fmt.Errorf("%w\n(what tandem would route, answer or check differently from HAProxy is refused; --lenient imports it with a warning each)", err)
		}
		return nil, err
	}
	return c, nil
}
