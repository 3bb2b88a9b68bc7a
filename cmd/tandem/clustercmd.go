package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newJoinCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "join ADDR...",
		Short: "Join this node (the one at --api-addr) to the cluster of a member at ADDR (its gossip address)",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("join: want the gossip address of a member, e.g. 10.0.0.1:7946")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if err := g.client().Join(c.Context(), args); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "joined through %v\n", args)
			return nil
		},
	}
}

func newLeaveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "leave",
		Short: "Leave the cluster gracefully (hands Raft leadership over first)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := g.client().Leave(c.Context()); err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), "left the cluster")
			return nil
		},
	}
}

func newClusterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Cluster membership"}
	cmd.AddCommand(&cobra.Command{
		Use:   "members",
		Short: "List members: name, address, role, gossip status, Raft voter and leader",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := g.client().Status(c.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE\tADDRESS\tROLE\tSTATUS\tVOTER\tLEADER\tAPI")
			for _, m := range st.Members {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%v\t%s\n", m.Name, m.Addr, m.Role, m.Status, m.Voter, m.Leader, m.APIAddr)
			}
			return tw.Flush()
		},
	}, &cobra.Command{
		Use:   "remove NODE",
		Short: "Remove a node that is gone for good from Raft and gossip",
		Args:  exactArgs(1, "the node name"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := g.client().Remove(c.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "removed %s\n", args[0])
			return nil
		},
	})
	return cmd
}
