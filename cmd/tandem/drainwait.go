package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/deploy"
)

// waitDrained blocks until the server has no connection or in-flight
// request left on every live LB node (tandem server drain --wait), showing
// the live count: rewritten in place on a terminal, a line per change
// otherwise. The server stays in drain whatever happens.
func waitDrained(ctx context.Context, out io.Writer, g *globals, key config.ServerKey, timeout time.Duration) error {
	tty := deploy.IsTerminal(out)
	last := ""
	report := func(detail string) {
		if detail == last {
			return
		}
		last = detail
		if tty {
			fmt.Fprintf(out, "\r\x1b[K%s: connections %s", key, detail)
			return
		}
		fmt.Fprintf(out, "%s: connections %s\n", key, detail)
	}
	start := time.Now()
	err := deploy.WaitDrained(ctx, g.client(), func(addr string) deploy.StatusReader { return api.NewClient(addr, g.token) },
		key, timeout, 0, report)
	if tty {
		fmt.Fprintln(out)
	}
	if err != nil {
		return fmt.Errorf("%w; %s stays in drain: wait longer, or take it out anyway with tandem server maint %s", err, key, key)
	}
	fmt.Fprintf(out, "%s: drained on every LB node in %s\n", key, time.Since(start).Round(100*time.Millisecond))
	return nil
}
