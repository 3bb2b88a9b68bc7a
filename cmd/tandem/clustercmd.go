package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tandem-lb/tandem/api"
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
	}, newRecoverCmd(g))
	return cmd
}

// newRecoverCmd is the operator's unsafe recovery: force the Raft voters
// of a cluster that lost its quorum for good. It prints the plan and what
// may be lost, and goes on only on a typed "yes" (or --yes).
func newRecoverCmd(g *globals) *cobra.Command {
	var keep []string
	var yes bool
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Force the Raft voters to this node (and --keep) after losing a quorum for good (unsafe: asks first)",
		Long: `recover restores writes to a cluster that lost a majority of its Raft voters for
good (e.g. 2 of 3 LB hosts destroyed). The node at --api-addr forces the voters
to itself plus the --keep members, as Raft's peers.json recovery does. Run it on
the survivor with the most recent config version. Traffic never needs it: a
node without quorum keeps serving its last committed config.

It refuses while a leader exists (use 'cluster remove') and when a voter it
would drop is alive. It prints the plan and what may be lost, then asks you to
type "yes". With two LB nodes and one lost, adding a witness is enough (no
recover needed).`,
		Args: exactArgs(0, "no arguments (name kept members with --keep)"),
		RunE: func(c *cobra.Command, _ []string) error {
			cl := g.client()
			plan, err := cl.Recover(c.Context(), api.RecoverRequest{Keep: keep, DryRun: true})
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "recovery plan: the raft voters become %s; dropped: %s\n",
				strings.Join(plan.Voters, ", "), strings.Join(plan.Dropped, ", "))
			fmt.Fprintf(out, "this node: config version %d, raft log %d, commit %d, applied %d\n",
				plan.Version, plan.LastIndex, plan.CommitIndex, plan.AppliedIndex)
			fmt.Fprintln(out, "what may be lost:")
			for _, r := range plan.Risks {
				fmt.Fprintf(out, "  - %s\n", r)
			}
			if !yes {
				fmt.Fprint(out, "type yes to force this configuration: ")
				answer, _ := bufio.NewReader(c.InOrStdin()).ReadString('\n')
				if strings.TrimSpace(answer) != "yes" {
					return errors.New("recover: not confirmed: nothing changed")
				}
			}
			plan, err = cl.Recover(c.Context(), api.RecoverRequest{Keep: keep, ExpectDropped: plan.Dropped})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "forced: raft restarts with voters %s; writes work once they elect a leader (tandem status)\n",
				strings.Join(plan.Voters, ", "))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&keep, "keep", nil, "alive members to keep as voters besides this node (e.g. a new witness)")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return cmd
}
