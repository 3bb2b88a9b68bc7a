package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/api"
)

// Step is where a server (or the whole run) is in a deploy.
type Step int

const (
	StepPending        Step = iota // not started yet
	StepStart                      // the run started
	StepDrain                      // no new requests; waiting for connections to finish
	StepMaint                      // out of rotation
	StepHook                       // the hook runs
	StepHealthy                    // waiting for the checks to pass
	StepReady                      // back in rotation
	StepSlowStart                  // back in rotation, weight ramping up
	StepDone                       // finished
	StepFailed                     // stopped on an error
	StepAbortRequested             // someone asked the run to stop
	StepAborted                    // stopped on request
	StepInterrupted                // the deploy client was interrupted
)

var stepNames = []string{"pending", "start", "drain", "maint", "hook", "healthy", "ready", "slowstart",
	"done", "failed", "abort-requested", "aborted", "interrupted"}

func (s Step) String() string {
	if s < 0 || int(s) >= len(stepNames) {
		return fmt.Sprintf("invalid(%d)", int(s))
	}
	return stepNames[s]
}

// Sentinel errors a caller may test with errors.Is.
var (
	// ErrRunning: another deploy of the backend is recorded as running.
	ErrRunning = errors.New("another deploy of this backend is running")
	// ErrCannotSpare: no other server of the backend is ready and up.
	ErrCannotSpare = errors.New("the backend cannot spare a server")
	// ErrAborted: the run stopped because an abort was requested.
	ErrAborted = errors.New("deploy aborted")
	// ErrNothingToResume: no recorded deploy to resume.
	ErrNothingToResume = errors.New("no deploy to resume")
)

// newID returns a random run ID.
func newID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b)
}

// describe renders a record for messages: "id 1a2b by ops@web1, server1
// at hook since 12:00:01 (on lb1)".
func describe(r api.DeployRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id %s by %s", r.ID, r.Host)
	if r.Server != "" {
		fmt.Fprintf(&b, ", %s", r.Server)
	}
	fmt.Fprintf(&b, " at %s since %s", r.Step, r.Since.Local().Format(time.TimeOnly))
	if r.Node != "" {
		fmt.Fprintf(&b, " (recorded by %s)", r.Node)
	}
	return b.String()
}

// record writes the run's progress; a conflict means someone else started
// a deploy of the backend, which stops this run.
func (d *Deployer) record(ctx context.Context, server string, st Step, done bool) error {
	rec := api.DeployRecord{ID: d.id, Backend: d.cfg.Backend, Server: server, Step: st.String(),
		Host: d.cfg.Host, Since: time.Now().UTC(), Done: done}
	if err := d.api.RecordDeploy(ctx, rec); err != nil {
		if errors.Is(err, api.ErrConflict) {
			return fmt.Errorf("record deploy progress: %w: %w", ErrRunning, err)
		}
		return fmt.Errorf("record deploy progress: %w", err)
	}
	return nil
}

// finalRecord writes the run's last record even when ctx is already done.
func (d *Deployer) finalRecord(ctx context.Context, server string, st Step) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.record(ctx, server, st, true); err != nil {
		d.prog.logf("warning: could not record the deploy as %s: %v", st, err)
	}
}

// checkAbort reads the record: ErrAborted when an abort was requested for
// this run, ErrRunning when another run took the backend over. Errors
// reading it are not fatal (the caller retries at its next poll).
func (d *Deployer) checkAbort(ctx context.Context) error {
	recs, err := d.api.Deploys(ctx)
	if err != nil {
		d.log.Debug("read deploy records", "err", err)
		return nil
	}
	rec, ok := recs[d.cfg.Backend]
	switch {
	case !ok:
		return nil
	case rec.ID != d.id:
		return fmt.Errorf("%w: taken over by %s", ErrRunning, describe(rec))
	case rec.Step == StepAbortRequested.String():
		return fmt.Errorf("%w by %s", ErrAborted, rec.Host)
	}
	return nil
}

// Abort asks the running deploy of backend to stop at its next safe point
// and waits until it has (the record is Done) or ctx ends. With force, it
// does not wait: it marks the record aborted at once, for a deploy whose
// client is gone. It returns the last record seen.
func Abort(ctx context.Context, c Client, backend, host string, force bool) (api.DeployRecord, error) {
	for {
		recs, err := c.Deploys(ctx)
		if err != nil {
			return api.DeployRecord{}, fmt.Errorf("abort deploy %s: read records: %w", backend, err)
		}
		rec, ok := recs[backend]
		if !ok {
			return rec, fmt.Errorf("abort deploy %s: no deploy of %s is recorded", backend, backend)
		}
		if rec.Done {
			return rec, nil
		}
		step := StepAbortRequested
		if force {
			step = StepAborted
		}
		if force || rec.Step != step.String() {
			req := api.DeployRecord{ID: rec.ID, Backend: backend, Server: rec.Server, Step: step.String(),
				Host: host, Since: time.Now().UTC(), Done: force}
			if err := c.RecordDeploy(ctx, req); err != nil {
				return rec, fmt.Errorf("abort deploy %s: %w", backend, err)
			}
			if force {
				req.Node = rec.Node
				return req, nil
			}
		}
		select {
		case <-ctx.Done():
			return rec, fmt.Errorf("abort deploy %s: the deploy client (%s) did not stop in time: "+
				"if it is gone, mark it aborted with --abort --force, or continue it with --resume: %w",
				backend, describe(rec), ctx.Err())
		case <-time.After(DefaultPollInterval):
		}
	}
}
