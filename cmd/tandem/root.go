package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tandem-lb/tandem/api"
)

// globals are the flags every client command shares.
type globals struct {
	apiAddr  string
	token    string
	logLevel string
	// haproxyDir: where relative file names of a haproxy.cfg are read
	// from (tandem config --haproxy-dir).
	haproxyDir string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "tandem",
		Short:         "A clustered HTTP/TCP load balancer: haproxy + keepalived in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.apiAddr, "api-addr", envOr("TANDEM_API_ADDR", "127.0.0.1:8404"), "admin API address of the node to talk to (env TANDEM_API_ADDR)")
	pf.StringVar(&g.token, "token", os.Getenv("TANDEM_TOKEN"), "admin API token (env TANDEM_TOKEN)")
	pf.StringVar(&g.logLevel, "log-level", envOr("TANDEM_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	root.AddCommand(
		newAgentCmd(g),
		newConfigCmd(g),
		newServerCmd(g),
		newCertCmd(g),
		newStatusCmd(g),
		newKeygenCmd(),
		newJoinCmd(g),
		newLeaveCmd(g),
		newClusterCmd(g),
		newVIPCmd(g),
		newDeployCmd(g),
		newLoadCmd(),
		newTestsiteCmd(),
		newManCmd(),
	)
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (g *globals) client() *api.Client { return api.NewClient(g.apiAddr, g.token) }

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToLower(level))); err != nil {
		return nil, usageError{fmt.Errorf("log level %q: want debug, info, warn or error", level)}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// exactArgs is cobra.ExactArgs with a usage error that says what is wanted.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s: want %s (got %d arguments)", c.CommandPath(), what, len(args))}
		}
		return nil
	}
}
