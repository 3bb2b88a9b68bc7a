package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

// prepare reads the config and the deploy records, picks the servers,
// refuses when another deploy runs or no server can be spared, and
// records the start.
func (d *Deployer) prepare(ctx context.Context) error {
	name := d.cfg.Backend
	cr, err := d.api.Config(ctx)
	if err != nil {
		return fmt.Errorf("deploy %s: read config: %w", name, err)
	}
	if cr.Config == nil {
		return fmt.Errorf("deploy %s: the cluster has no config yet: apply one with tandem config apply -f cluster.yaml", name)
	}
	cfg := cr.Config.Resolve()
	d.backend = cfg.Backend(name)
	if d.backend == nil {
		names := make([]string, len(cfg.Backends))
		for i, b := range cfg.Backends {
			names[i] = b.Name
		}
		return fmt.Errorf("deploy %s: no such backend in config version %d (backends: %s)", name, cr.Version, strings.Join(names, ", "))
	}
	servers, err := d.selectServers()
	if err != nil {
		return err
	}
	recs, err := d.api.Deploys(ctx)
	if err != nil {
		return fmt.Errorf("deploy %s: read deploy records: %w", name, err)
	}
	rec, has := recs[name]
	if d.cfg.Resume {
		if servers, err = d.resumeFrom(rec, has, servers); err != nil {
			return err
		}
	} else {
		if has && !rec.Done {
			return fmt.Errorf("deploy %s: %w: %s; follow it with tandem status, stop it with tandem deploy %s --abort, "+
				"or take it over with --resume", name, ErrRunning, describe(rec), name)
		}
		d.id = newID()
	}
	d.plan = servers
	if err := d.checkSpare(ctx); err != nil {
		return err
	}
	if err := d.record(ctx, "", StepStart, false); err != nil {
		return fmt.Errorf("deploy %s: %w", name, err)
	}
	verb := "started"
	if d.cfg.Resume {
		verb = "resumed"
	}
	d.prog.logf("deploy %s %s (id %s, by %s): %s, at most %d at a time", name, verb, d.id, d.cfg.Host,
		strings.Join(d.plan, ", "), d.cfg.MaxUnavailable)
	return nil
}

// selectServers returns Config.Servers (checked) or every server.
func (d *Deployer) selectServers() ([]string, error) {
	if len(d.cfg.Servers) == 0 {
		out := make([]string, len(d.backend.Servers))
		for i, s := range d.backend.Servers {
			out[i] = s.Name
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("deploy %s: the backend has no servers", d.cfg.Backend)
		}
		return out, nil
	}
	for _, s := range d.cfg.Servers {
		if d.backend.Server(s) == nil {
			return nil, fmt.Errorf("deploy %s: --servers: no server %q in backend %s", d.cfg.Backend, s, d.cfg.Backend)
		}
	}
	return slices.Clone(d.cfg.Servers), nil
}

// resumeFrom takes over the recorded run's ID and drops the servers
// before the recorded one (the earliest of a batch).
func (d *Deployer) resumeFrom(rec api.DeployRecord, has bool, servers []string) ([]string, error) {
	name := d.cfg.Backend
	if !has {
		return nil, fmt.Errorf("deploy %s --resume: %w: no deploy of %s is recorded", name, ErrNothingToResume, name)
	}
	if rec.Done && rec.Step == StepDone.String() {
		return nil, fmt.Errorf("deploy %s --resume: %w: the last deploy (%s) finished; start a new one without --resume",
			name, ErrNothingToResume, describe(rec))
	}
	d.id = rec.ID
	if rec.Server == "" {
		return servers, nil
	}
	for i, s := range servers {
		if slices.Contains(strings.Split(rec.Server, ","), s) {
			d.prog.logf("resuming deploy %s (%s) from %s", name, describe(rec), s)
			return servers[i:], nil
		}
	}
	return nil, fmt.Errorf("deploy %s --resume: the recorded server %s is not among the servers to deploy (%s)",
		name, rec.Server, strings.Join(servers, ","))
}

// checkSpare refuses to start when taking the first server out would
// leave the backend with no server in rotation.
func (d *Deployer) checkSpare(ctx context.Context) error {
	v, err := d.look(ctx)
	if err != nil {
		return fmt.Errorf("deploy %s: %w", d.cfg.Backend, err)
	}
	d.warnDead(v)
	if d.spare(v, d.plan[:1]) == 0 {
		return fmt.Errorf("deploy %s: %w: taking %s out would leave no server ready and up (%s); "+
			"bring another server up first", d.cfg.Backend, ErrCannotSpare, d.plan[0], d.rotationDetail(v))
	}
	return nil
}

// finish records how the run ended and turns err into the message an
// operator needs: what failed and how to resume.
func (d *Deployer) finish(ctx context.Context, err error) error {
	name := d.cfg.Backend
	switch {
	case err == nil:
		d.finalRecord(ctx, "", StepDone)
		return nil
	case errors.Is(err, ErrRunning):
		// Someone else owns the backend's record now: leave it alone.
		return fmt.Errorf("deploy %s: stopped: %w", name, err)
	case errors.Is(err, ErrAborted):
		d.finalRecord(ctx, d.pending(), StepAborted)
		return fmt.Errorf("deploy %s: %w; continue it with: %s", name, err, d.resumeHint())
	case ctx.Err() != nil:
		d.finalRecord(ctx, d.pending(), StepInterrupted)
		return fmt.Errorf("deploy %s: interrupted: %w; continue it with: %s", name, err, d.resumeHint())
	default:
		d.finalRecord(ctx, d.pending(), StepFailed)
		return fmt.Errorf("deploy %s: %w; fix it and run: %s", name, err, d.resumeHint())
	}
}

// pending names the servers that did not finish (the record's Server, the
// point a resume starts from).
func (d *Deployer) pending() string {
	var out []string
	for _, s := range d.plan {
		if r := d.result(s); r.Result != "ok" && r.Result != "pending" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		for _, s := range d.plan {
			if d.result(s).Result != "ok" {
				return s
			}
		}
	}
	return strings.Join(out, ",")
}

func (d *Deployer) resumeHint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tandem deploy %s --resume --exec %s", d.cfg.Backend, shellQuote(d.cfg.Exec))
	if len(d.cfg.Servers) > 0 {
		fmt.Fprintf(&b, " --servers %s", strings.Join(d.cfg.Servers, ","))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// serverCfg returns the resolved server (never nil for a planned server).
func (d *Deployer) serverCfg(name string) config.Server {
	if s := d.backend.Server(name); s != nil {
		return *s
	}
	return config.Server{Name: name}
}
