package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

func newServerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Change a server's admin state or weight on every LB node",
	}
	for _, st := range []config.AdminState{config.AdminDrain, config.AdminMaint, config.AdminReady} {
		cmd.AddCommand(newServerStateCmd(g, st))
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "weight BACKEND/SERVER N",
		Short: "Set a server's weight (0-256) at runtime",
		Args:  exactArgs(2, "BACKEND/SERVER and a weight"),
		RunE: func(c *cobra.Command, args []string) error {
			key, err := parseServerKey(args[0])
			if err != nil {
				return err
			}
			w, err := strconv.Atoi(args[1])
			if err != nil || w < 0 || w > config.MaxWeight {
				return usageError{fmt.Errorf("weight %q: want a number 0-%d", args[1], config.MaxWeight)}
			}
			if err := g.client().SetServer(c.Context(), key, api.ServerRequest{Weight: &w}); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: weight %d\n", key, w)
			return nil
		},
	})
	return cmd
}

var adminHelp = map[config.AdminState]string{
	config.AdminDrain: "Stop new requests to a server; existing connections and sticky sessions finish",
	config.AdminMaint: "Take a server out completely",
	config.AdminReady: "Put a server back into rotation",
}

func newServerStateCmd(g *globals, st config.AdminState) *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   st.String() + " BACKEND/SERVER",
		Short: adminHelp[st],
		Args:  exactArgs(1, "BACKEND/SERVER"),
		RunE: func(c *cobra.Command, args []string) error {
			key, err := parseServerKey(args[0])
			if err != nil {
				return err
			}
			if err := g.client().SetServer(c.Context(), key, api.ServerRequest{Admin: &st}); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: %s\n", key, st)
			if wait && st == config.AdminDrain {
				return waitDrained(c.Context(), c.OutOrStdout(), g, key, timeout)
			}
			return nil
		},
	}
	if st == config.AdminDrain {
		cmd.Flags().BoolVar(&wait, "wait", false, "block until the server has no connection left on every LB node")
		cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "with --wait: how long to wait")
	}
	return cmd
}

func parseServerKey(s string) (config.ServerKey, error) {
	b, srv, ok := strings.Cut(s, "/")
	if !ok || b == "" || srv == "" || strings.Contains(srv, "/") {
		return config.ServerKey{}, usageError{fmt.Errorf("%q: want BACKEND/SERVER, e.g. http-in/server1", s)}
	}
	return config.ServerKey{Backend: b, Server: srv}, nil
}
