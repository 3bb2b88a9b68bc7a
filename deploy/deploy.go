package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// ServerResult is what happened to one server.
type ServerResult struct {
	Server string
	// Result is ok, failed, aborted, interrupted or pending (not reached).
	Result string
	// Drain is from drain to no connection left; Hook is the hook's run
	// time; Healthy is from the hook's end to the checks passing; Total
	// is from drain to ready (and the end of the slow start).
	Drain, Hook, Healthy, Total time.Duration
}

// Summary is a run's outcome, server by server in deploy order.
type Summary struct {
	ID      string
	Backend string
	Servers []ServerResult
	Elapsed time.Duration
}

// Deployer runs one rolling deploy of a backend.
type Deployer struct {
	cfg    Config
	api    Client
	dial   func(string) StatusReader
	out    io.Writer
	live   bool
	log    *slog.Logger
	onStep func(string, Step)
	prog   *progress

	// Set by prepare.
	id      string
	backend *config.Backend // resolved
	plan    []string        // servers to deploy, in order

	mu      sync.Mutex
	warned  map[string]bool
	results map[string]*ServerResult
}

// New checks cfg and returns a Deployer. It starts nothing; call Run.
func New(cfg Config, deps Deps) (*Deployer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if deps.API == nil || deps.Dial == nil {
		return nil, fmt.Errorf("new deploy %s: an API client and a Dial func are required", cfg.Backend)
	}
	out := deps.Out
	if out == nil {
		out = io.Discard
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Deployer{
		cfg: cfg, api: deps.API, dial: deps.Dial, out: out, live: deps.Live,
		log: logger.With("component", "deploy", "backend", cfg.Backend), onStep: deps.OnStep,
		prog: newProgress(out, deps.Live), warned: map[string]bool{}, results: map[string]*ServerResult{},
	}, nil
}

// ID returns the run's ID once Run has started it.
func (d *Deployer) ID() string { return d.id }

// Run deploys the servers one batch at a time and returns the summary,
// also printed to Out. It returns once the hooks it started have exited.
func (d *Deployer) Run(ctx context.Context) (Summary, error) {
	start := time.Now()
	if err := d.prepare(ctx); err != nil {
		return Summary{Backend: d.cfg.Backend}, err
	}
	d.prog.plan(d.plan)
	tickCtx, stopTick := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if d.live {
		wg.Go(func() { d.tick(tickCtx) })
	}
	err := d.runBatches(ctx)
	stopTick()
	wg.Wait()
	d.prog.stop()
	err = d.finish(ctx, err)
	sum := d.summary(time.Since(start))
	printSummary(d.out, sum)
	if err != nil {
		return sum, err
	}
	fmt.Fprintf(d.out, "deploy %s done: %d servers updated\n", d.cfg.Backend, len(d.plan))
	return sum, nil
}

func (d *Deployer) tick(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.prog.tick()
		}
	}
}

// runBatches deploys the plan, up to MaxUnavailable servers at a time,
// and stops at the first batch with a failure.
func (d *Deployer) runBatches(ctx context.Context) error {
	remaining := d.plan
	for len(remaining) > 0 {
		if err := d.checkAbort(ctx); err != nil {
			return err
		}
		batch, err := d.nextBatch(ctx, remaining)
		if err != nil {
			return err
		}
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, s := range batch {
			wg.Go(func() { errs[i] = d.deployServer(ctx, s, batch) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		remaining = remaining[len(batch):]
	}
	return nil
}

// nextBatch picks the next servers to take out: at most MaxUnavailable,
// and only while at least one other server of the backend stays in
// rotation. It waits (up to HealthyTimeout) for such a server.
func (d *Deployer) nextBatch(ctx context.Context, remaining []string) ([]string, error) {
	deadline := time.Now().Add(d.cfg.HealthyTimeout)
	for {
		v, err := d.look(ctx)
		if err == nil {
			if batch := d.pickBatch(v, remaining); len(batch) > 0 {
				return batch, nil
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("%s: %w", remaining[0], err)
			}
			return nil, fmt.Errorf("%s: %w: no other server is ready and up (%s); nothing was taken down",
				remaining[0], ErrCannotSpare, d.rotationDetail(v))
		}
		if err := d.sleep(ctx); err != nil {
			return nil, err
		}
	}
}

func (d *Deployer) pickBatch(v clusterView, remaining []string) []string {
	var batch []string
	for _, s := range remaining {
		if len(batch) >= d.cfg.MaxUnavailable {
			break
		}
		if d.spare(v, append(slices.Clone(batch), s)) == 0 {
			break
		}
		batch = append(batch, s)
	}
	return batch
}

// spare counts the backend's servers outside out that take traffic.
func (d *Deployer) spare(v clusterView, out []string) int {
	n := 0
	for _, s := range d.backend.Servers {
		if !slices.Contains(out, s.Name) && inRotation(v, d.key(s.Name), s.Check) {
			n++
		}
	}
	return n
}

func (d *Deployer) rotationDetail(v clusterView) string {
	parts := make([]string, 0, len(d.backend.Servers))
	for _, s := range d.backend.Servers {
		st, _ := serverOf(v.main, d.key(s.Name))
		parts = append(parts, fmt.Sprintf("%s: %s, %s", s.Name, st.Admin, st.Agreed))
	}
	return strings.Join(parts, "; ")
}

func (d *Deployer) key(server string) config.ServerKey {
	return config.ServerKey{Backend: d.cfg.Backend, Server: server}
}

// sleep waits one poll interval or until ctx ends.
func (d *Deployer) sleep(ctx context.Context) error {
	t := time.NewTimer(d.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (d *Deployer) result(server string) *ServerResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.results[server]
	if !ok {
		r = &ServerResult{Server: server, Result: "pending"}
		d.results[server] = r
	}
	return r
}

func (d *Deployer) summary(elapsed time.Duration) Summary {
	s := Summary{ID: d.id, Backend: d.cfg.Backend, Elapsed: elapsed}
	for _, name := range d.plan {
		r := d.result(name)
		d.mu.Lock()
		s.Servers = append(s.Servers, *r)
		d.mu.Unlock()
	}
	return s
}
