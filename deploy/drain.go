package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// WaitDrained waits until the server has no connection, request or queued
// request left on every live LB node (and every one of them has it out of
// rotation), polling every poll interval (0: 200ms). report, when set,
// receives the per-node counts ("lb1=3 lb2=0") at each poll. It returns
// an error naming the counts when timeout passes or ctx ends first.
func WaitDrained(ctx context.Context, api StatusReader, dial func(string) StatusReader, key config.ServerKey,
	timeout, poll time.Duration, report func(detail string)) error {
	poll = pickDur(poll, DefaultPollInterval)
	deadline := time.Now().Add(timeout)
	for {
		detail := ""
		v, err := look(ctx, api, dial)
		if err != nil {
			detail = err.Error()
		} else {
			var ok bool
			if ok, detail = drained(v, key); ok {
				if report != nil {
					report(detail)
				}
				return nil
			}
			for _, n := range v.dead {
				detail += " " + n + "=dead(skipped)"
			}
		}
		if report != nil {
			report(detail)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s to drain: connections left after %v (%s)", key, timeout, detail)
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for %s to drain (%s): %w", key, detail, ctx.Err())
		case <-t.C:
		}
	}
}
