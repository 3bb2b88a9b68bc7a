package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tandem-lb/tandem/api"
)

// printBGPSessions prints this node's BGP sessions (tandem status).
func printBGPSessions(w io.Writer, b *api.BGPStatus) {
	if b == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nBGP PEER (local AS %d, router id %s)\tAS\tSTATE\tUPTIME\tPREFIXES SENT\n", b.ASN, b.RouterID)
	for _, s := range b.Sessions {
		up := "-"
		if s.Since != nil {
			up = time.Duration(s.UptimeSeconds * float64(time.Second)).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\n", s.Peer, s.ASN, s.State, up, s.PrefixesSent)
	}
	tw.Flush()
	for _, v := range b.VIPs {
		if v.Error != "" {
			fmt.Fprintf(w, "  %s: %s\n", v.Name, v.Error)
		}
	}
}
