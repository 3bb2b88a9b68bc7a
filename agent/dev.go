package agent

import (
	_ "embed"

	"github.com/tandem-lb/tandem/config"
)

//go:embed dev.yaml
var devYAML []byte

// DevConfig returns the embedded default cluster config: the article's
// haproxy.cfg on loopback (frontend 127.0.0.1:8080, server1 127.0.0.1:8001,
// server2 127.0.0.1:8002, HEAD /deploy.txt HTTP/1.0, inter 2000 rise 2 fall 2).
func DevConfig() *config.Cluster {
	c, err := config.Load("embedded dev.yaml", devYAML)
	if err != nil {
		panic("agent: embedded dev config is invalid: " + err.Error()) // caught by TestDevConfig
	}
	return c
}

// DevYAML returns the embedded default config as written.
func DevYAML() []byte { return append([]byte(nil), devYAML...) }
