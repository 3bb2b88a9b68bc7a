package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tandem-lb/tandem/api"
)

// printACME prints one line per ACME name: its certificate, or a warning
// with the last failure and when it is tried again.
func printACME(w io.Writer, names []api.ACMEStatus, p painter) {
	for _, s := range names {
		cert := "no certificate yet"
		if !s.NotAfter.IsZero() {
			cert = "certificate " + s.Serial + " until " + s.NotAfter.Local().Format("2006-01-02 15:04:05")
		}
		if s.Error == "" {
			fmt.Fprintf(w, "acme %s: %s, next check %s\n", s.Name, cert, s.NextCheck.Local().Format(time.DateTime))
			continue
		}
		fmt.Fprintf(w, "%s acme %s: %s (%s; %d failures in a row, next try %s)\n", p.c(red, "WARNING:"), s.Name, s.Error, cert, s.Failures,
			s.NextCheck.Local().Format("15:04:05"))
	}
}
