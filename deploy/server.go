package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

// errWaitTimeout: a wait's timeout passed.
var errWaitTimeout = errors.New("timed out")

// enter records that server entered st (the record names the whole
// batch, so a resume redoes all of it) and shows it.
func (d *Deployer) enter(ctx context.Context, batch []string, server string, st Step) error {
	if err := d.checkAbort(ctx); err != nil {
		return err
	}
	if err := d.record(ctx, strings.Join(batch, ","), st, false); err != nil {
		return err
	}
	d.show(server, st)
	return nil
}

// show displays that server entered st and tells OnStep.
func (d *Deployer) show(server string, st Step) {
	d.prog.step(server, st)
	if d.onStep != nil {
		d.onStep(server, st)
	}
}

func (d *Deployer) setServer(ctx context.Context, server string, admin config.AdminState, weight *int) error {
	err := d.api.SetServer(ctx, d.key(server), api.ServerRequest{Admin: &admin, Weight: weight})
	if err != nil {
		return fmt.Errorf("set %s to %s: %w", server, admin, err)
	}
	return nil
}

// deployServer takes one server through drain → wait → maint → hook →
// healthy → ready. Its error says what failed and where the server was
// left.
func (d *Deployer) deployServer(ctx context.Context, server string, batch []string) (err error) {
	res := d.result(server)
	start := time.Now()
	defer func() {
		d.mu.Lock()
		res.Total = time.Since(start)
		switch {
		case err == nil:
			res.Result = "ok"
		case errors.Is(err, ErrAborted):
			res.Result = "aborted"
		case ctx.Err() != nil:
			res.Result = "interrupted"
		default:
			res.Result = "failed"
		}
		d.mu.Unlock()
		if err != nil {
			final := StepFailed
			if errors.Is(err, ErrAborted) {
				final = StepAborted
			}
			d.show(server, final)
			err = fmt.Errorf("%s: %w", server, err)
		}
	}()
	weight, err := d.currentWeight(ctx, server)
	if err != nil {
		return err
	}
	if err := d.drain(ctx, batch, server, res); err != nil {
		return err
	}
	if err := d.enter(ctx, batch, server, StepMaint); err != nil {
		return d.undrain(ctx, server, err)
	}
	if err := d.setServer(ctx, server, config.AdminMaint, nil); err != nil {
		return fmt.Errorf("%w; %s left in drain", err, server)
	}
	if err := d.hook(ctx, batch, server, res); err != nil {
		return err
	}
	return d.bringBack(ctx, batch, server, weight, res)
}

// currentWeight is the server's weight before the deploy, put back after
// a slow start.
func (d *Deployer) currentWeight(ctx context.Context, server string) (int, error) {
	st, err := d.api.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("read status: %w; nothing was changed", err)
	}
	s, ok := serverOf(st, d.key(server))
	if !ok {
		return 0, fmt.Errorf("node %s does not know the server; nothing was changed", st.Node)
	}
	return s.Weight, nil
}

// drain puts the server in drain and waits for its connections to end on
// every live LB node. On a timeout with abort, on an abort request or
// when ctx ends, it puts the server back to ready.
func (d *Deployer) drain(ctx context.Context, batch []string, server string, res *ServerResult) error {
	if err := d.enter(ctx, batch, server, StepDrain); err != nil {
		return fmt.Errorf("%w; nothing was changed", err)
	}
	if err := d.setServer(ctx, server, config.AdminDrain, nil); err != nil {
		return err
	}
	start := time.Now()
	detail, err := d.waitUntil(ctx, server, d.cfg.DrainTimeout, func(v clusterView) (bool, string) {
		return drained(v, d.key(server))
	})
	res.Drain = time.Since(start)
	if err == nil {
		return nil
	}
	if errors.Is(err, errWaitTimeout) {
		if d.cfg.OnTimeout == OnTimeoutForce {
			d.prog.logf("warning: %s: connections did not drain within %v (%s): forcing maint (on-timeout force)",
				server, d.cfg.DrainTimeout, detail)
			return nil
		}
		err = fmt.Errorf("connections did not drain within %v (%s)", d.cfg.DrainTimeout, detail)
	}
	return d.undrain(ctx, server, err)
}

// undrain puts a server that was only drained back to ready (even when
// ctx is done) and adds where it was left to err.
func (d *Deployer) undrain(ctx context.Context, server string, err error) error {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := d.setServer(bctx, server, config.AdminReady, nil); rerr != nil {
		return fmt.Errorf("%w; %s left in drain (%w)", err, server, rerr)
	}
	return fmt.Errorf("%w; %s put back to ready", err, server)
}

// hook runs the command with the server's environment. The server stays
// in maint whatever happens.
func (d *Deployer) hook(ctx context.Context, batch []string, server string, res *ServerResult) error {
	if err := d.enter(ctx, batch, server, StepHook); err != nil {
		return fmt.Errorf("%w; %s left in maint", err, server)
	}
	env := []string{
		"TANDEM_BACKEND=" + d.cfg.Backend,
		"TANDEM_SERVER=" + server,
		"TANDEM_SERVER_ADDR=" + d.serverCfg(server).Address,
	}
	start := time.Now()
	err := runHook(ctx, d.cfg.Exec, env, func(line string) { d.prog.hookLine(server, line) })
	res.Hook = time.Since(start)
	if err != nil {
		return fmt.Errorf("%w; %s left in maint", err, server)
	}
	return nil
}

// bringBack waits for the checks to pass and puts the server back to
// ready, ramping its weight up when SlowStart is set.
func (d *Deployer) bringBack(ctx context.Context, batch []string, server string, weight int, res *ServerResult) error {
	if err := d.enter(ctx, batch, server, StepHealthy); err != nil {
		return fmt.Errorf("%w; %s left in maint", err, server)
	}
	start := time.Now()
	s := d.serverCfg(server)
	if s.Check {
		// Reports must reflect checks made after the hook: wait for rise
		// check intervals before believing "up".
		settle := time.Duration(max(s.Rise, 1)) * max(s.Inter.D(), s.FastInter.D())
		detail, err := d.waitUntil(ctx, server, d.cfg.HealthyTimeout, func(v clusterView) (bool, string) {
			ok, detail := healthy(v, d.key(server))
			return ok && time.Since(start) >= settle, detail
		})
		if err != nil {
			if errors.Is(err, errWaitTimeout) {
				err = fmt.Errorf("did not become healthy within %v: %s", d.cfg.HealthyTimeout, detail)
			}
			return fmt.Errorf("%w; %s left in maint", err, server)
		}
	} else {
		d.prog.logf("warning: %s has no health check: putting it back without waiting", server)
	}
	res.Healthy = time.Since(start)
	if err := d.enter(ctx, batch, server, StepReady); err != nil {
		return fmt.Errorf("%w; %s left in maint", err, server)
	}
	if d.cfg.SlowStart <= 0 || weight <= 0 {
		if err := d.setServer(ctx, server, config.AdminReady, nil); err != nil {
			return fmt.Errorf("%w; %s left in maint", err, server)
		}
	} else if err := d.slowStart(ctx, batch, server, weight); err != nil {
		return err
	}
	d.show(server, StepDone)
	return nil
}

// slowStartSteps is how many weight steps a slow start takes.
const slowStartSteps = 10

// slowStart puts the server back with a tenth of its weight and raises it
// to the full weight over SlowStart. The full weight is restored (as an
// override only if it was one) whatever happens.
func (d *Deployer) slowStart(ctx context.Context, batch []string, server string, weight int) error {
	w := max(1, weight/slowStartSteps)
	if err := d.setServer(ctx, server, config.AdminReady, &w); err != nil {
		return fmt.Errorf("%w; %s left in maint", err, server)
	}
	if err := d.enter(ctx, batch, server, StepSlowStart); err != nil {
		d.restoreWeight(ctx, server, weight)
		return err
	}
	step := d.cfg.SlowStart / slowStartSteps
	for i := 2; i <= slowStartSteps; i++ {
		t := time.NewTimer(step)
		select {
		case <-ctx.Done():
			t.Stop()
			d.restoreWeight(ctx, server, weight)
			return fmt.Errorf("%w; %s is ready at full weight", ctx.Err(), server)
		case <-t.C:
		}
		w := max(1, weight*i/slowStartSteps)
		d.prog.detail(server, fmt.Sprintf("weight %d/%d", w, weight))
		if err := d.api.SetServer(ctx, d.key(server), api.ServerRequest{Weight: &w}); err != nil {
			d.log.Debug("slow start weight", "server", server, "err", err)
		}
	}
	d.restoreWeight(ctx, server, weight)
	return nil
}

// restoreWeight puts the weight back: the config's (override cleared)
// when it equals it, else the operator's override.
func (d *Deployer) restoreWeight(ctx context.Context, server string, weight int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	w := weight
	if cw := d.serverCfg(server).Weight; cw != nil && *cw == weight {
		w = -1
	}
	if err := d.api.SetServer(ctx, d.key(server), api.ServerRequest{Weight: &w}); err != nil {
		d.prog.logf("warning: %s: could not restore weight %d: %v; set it with tandem server weight %s/%s %d",
			server, weight, err, d.cfg.Backend, server, weight)
	}
}

// waitUntil polls the cluster until cond holds, the timeout passes
// (errWaitTimeout), an abort is requested or ctx ends. It shows cond's
// detail as the server's live progress and returns the last one.
func (d *Deployer) waitUntil(ctx context.Context, server string, timeout time.Duration, cond func(clusterView) (bool, string)) (string, error) {
	deadline := time.Now().Add(timeout)
	detail := ""
	for {
		v, err := d.look(ctx)
		if err != nil {
			detail = err.Error()
		} else {
			d.warnDead(v)
			var ok bool
			if ok, detail = cond(v); ok {
				return detail, nil
			}
		}
		d.prog.detail(server, detail)
		if err := d.checkAbort(ctx); err != nil {
			return detail, err
		}
		if time.Now().After(deadline) {
			return detail, errWaitTimeout
		}
		if err := d.sleep(ctx); err != nil {
			return detail, err
		}
	}
}
