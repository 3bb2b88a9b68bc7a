package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tandem-lb/tandem/api"
)

func newVIPCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "vip", Short: "Virtual IPs: status, planned release"}
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Each VIP: holder, each node's priority and eligibility, and the transition timeline",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			vips, err := g.client().VIPs(c.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(vips)
			}
			printVIPs(c.OutOrStdout(), vips, true)
			if slices.ContainsFunc(vips, func(v api.VIPStatus) bool { return v.Announce == "bgp" }) {
				if st, err := g.client().Status(c.Context()); err == nil {
					printBGPSessions(c.OutOrStdout(), st.BGP)
				}
			}
			return nil
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(status,
		&cobra.Command{
			Use:   "release NAME|all",
			Short: "Hand a VIP over to the next node (it announces before this node lets go)",
			Args:  exactArgs(1, "a VIP name or all"),
			RunE: func(c *cobra.Command, args []string) error {
				if err := g.client().ReleaseVIP(c.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "released %s (tandem vip reclaim %s lets this node hold it again)\n", args[0], args[0])
				return nil
			},
		},
		&cobra.Command{
			Use:   "reclaim NAME|all",
			Short: "End a release: this node may hold the VIP again",
			Args:  exactArgs(1, "a VIP name or all"),
			RunE: func(c *cobra.Command, args []string) error {
				if err := g.client().ReclaimVIP(c.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "%s may be held by this node again\n", args[0])
				return nil
			},
		})
	return cmd
}

func printVIPs(w io.Writer, vips []api.VIPStatus, timeline bool) {
	if len(vips) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nVIP\tADDRESS\tHOLDER\tTHIS NODE\tNODES (priority, eligible, holding)")
	for _, v := range vips {
		nodes := ""
		for i, n := range v.Nodes {
			if i > 0 {
				nodes += "  "
			}
			state := "ineligible"
			switch {
			case !n.Alive:
				state = "dead"
			case n.Holding:
				state = "holding"
			case n.Eligible:
				state = "eligible"
			}
			nodes += fmt.Sprintf("%s(%d,%s)", n.Name, n.Priority, state)
		}
		holder := v.Holder
		if holder == "" {
			holder = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Name, v.Address, holder, v.State, nodes)
	}
	tw.Flush()
	if !timeline {
		return
	}
	for _, v := range vips {
		if len(v.Transitions) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s timeline:\n", v.Name)
		for _, t := range v.Transitions {
			fmt.Fprintf(w, "  %s  %s → %s  %s\n", t.Time.Local().Format("15:04:05.000"), t.From, t.To, t.Reason)
		}
	}
}
