package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/deploy"
)

// deployFlags are tandem deploy's flags.
type deployFlags struct {
	exec           string
	servers        []string
	maxUnavailable int
	drainTimeout   time.Duration
	onTimeout      string
	healthyTimeout time.Duration
	slowStart      time.Duration
	resume         bool
	abort          bool
	force          bool
	abortTimeout   time.Duration
}

func newDeployCmd(g *globals) *cobra.Command {
	f := &deployFlags{}
	cmd := &cobra.Command{
		Use:   "deploy [BACKEND --exec 'CMD' | BACKEND --abort | BACKEND --resume --exec 'CMD']",
		Short: "Roll a command over a backend's servers with zero downtime, one server at a time",
		Long: `For each server (all, or --servers, in order): drain it on every LB node, wait
until its connections and in-flight requests reach 0, put it in maint, run
CMD (sh -c, with TANDEM_BACKEND, TANDEM_SERVER and TANDEM_SERVER_ADDR set),
wait until its health checks pass on a majority of LB nodes, put it back to
ready, then go to the next server.

It refuses to start when no other server of the backend is ready and up,
and stops at the first failure, leaving that server in maint and saying how
to resume. Progress is recorded cluster-wide: tandem status (or tandem deploy
without arguments) on any node shows it, and --abort / --resume work from
any node. Without arguments, lists the recorded deploys.`,
		Example: `  tandem deploy http-in --exec 'ssh web1 /opt/site/update.sh "$TANDEM_SERVER"'
  tandem deploy http-in --servers server2,server1 --exec ./deploy.sh --slowstart 30s
  tandem deploy http-in --abort
  tandem deploy http-in --resume --exec ./deploy.sh`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return listDeploys(c.Context(), c.OutOrStdout(), g)
			}
			if f.abort {
				return abortDeploy(c.Context(), c.OutOrStdout(), g, args[0], f)
			}
			return runDeploy(c.Context(), c.OutOrStdout(), g, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.exec, "exec", "", "command run once per server while it is out of rotation (sh -c); required to deploy")
	fl.StringSliceVar(&f.servers, "servers", nil, "servers to deploy, in order (default: all, in config order)")
	fl.IntVar(&f.maxUnavailable, "max-unavailable", 1, "servers out of rotation at once (never all of them)")
	fl.DurationVar(&f.drainTimeout, "drain-timeout", deploy.DefaultDrainTimeout, "how long to wait for a server's connections to finish")
	fl.StringVar(&f.onTimeout, "on-timeout", "abort", "when the drain times out: abort (put it back, stop) or force (maint anyway, cutting connections)")
	fl.DurationVar(&f.healthyTimeout, "healthy-timeout", deploy.DefaultHealthyTimeout, "how long to wait after CMD for the checks to pass")
	fl.DurationVar(&f.slowStart, "slowstart", 0, "ramp the weight of a server back up over this time (0: full weight at once)")
	fl.BoolVar(&f.resume, "resume", false, "continue the recorded (failed, aborted or interrupted) deploy from its server")
	fl.BoolVar(&f.abort, "abort", false, "ask the running deploy of BACKEND to stop at its next safe point, and wait for it")
	fl.BoolVar(&f.force, "force", false, "with --abort: mark the deploy aborted without waiting (its client is gone)")
	fl.DurationVar(&f.abortTimeout, "abort-timeout", 2*time.Minute, "with --abort: how long to wait for the deploy to stop")
	return cmd
}

func runDeploy(ctx context.Context, out io.Writer, g *globals, backend string, f *deployFlags) error {
	if f.exec == "" {
		return usageError{fmt.Errorf("deploy %s: --exec is required: the command that updates one server, e.g. --exec './update.sh \"$TANDEM_SERVER\"'", backend)}
	}
	onTimeout, err := deploy.ParseOnTimeout(f.onTimeout)
	if err != nil {
		return usageError{err}
	}
	if f.maxUnavailable < 1 {
		return usageError{fmt.Errorf("--max-unavailable %d: want 1 or more", f.maxUnavailable)}
	}
	logger, err := newLogger(os.Stderr, g.logLevel)
	if err != nil {
		return err
	}
	d, err := deploy.New(deploy.Config{
		Backend: backend, Servers: f.servers, Exec: f.exec, MaxUnavailable: f.maxUnavailable,
		DrainTimeout: f.drainTimeout, OnTimeout: onTimeout, HealthyTimeout: f.healthyTimeout,
		SlowStart: f.slowStart, Resume: f.resume, Host: whoAmI(),
	}, deploy.Deps{
		API:    g.client(),
		Dial:   func(addr string) deploy.StatusReader { return api.NewClient(addr, g.token) },
		Out:    out,
		Live:   deploy.IsTerminal(out),
		Logger: logger,
	})
	if err != nil {
		return usageError{err}
	}
	_, err = d.Run(ctx)
	return err
}

func abortDeploy(ctx context.Context, out io.Writer, g *globals, backend string, f *deployFlags) error {
	if !f.force {
		fmt.Fprintf(out, "asking the deploy of %s to stop at its next safe point...\n", backend)
	}
	ctx, cancel := context.WithTimeout(ctx, f.abortTimeout)
	defer cancel()
	rec, err := deploy.Abort(ctx, g.client(), backend, whoAmI(), f.force)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "deploy %s: %s (id %s, at %s); continue it with: tandem deploy %s --resume --exec '...'\n",
		backend, rec.Step, rec.ID, orDash(rec.Server), backend)
	return nil
}

func listDeploys(ctx context.Context, out io.Writer, g *globals) error {
	recs, err := g.client().Deploys(ctx)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		fmt.Fprintln(out, "no deploy recorded")
		return nil
	}
	printDeploys(out, recs)
	return nil
}

// printDeploys renders the recorded deploys; tandem status prints it too.
func printDeploys(w io.Writer, recs map[string]api.DeployRecord) {
	if len(recs) == 0 {
		return
	}
	names := make([]string, 0, len(recs))
	for b := range recs {
		names = append(names, b)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEPLOY\tSTATE\tSERVER\tSTEP\tSINCE\tBY\tID")
	for _, b := range names {
		r := recs[b]
		state := "running"
		if r.Done {
			state = "finished"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s (%s ago)\t%s\t%s\n", b, state, orDash(r.Server), r.Step,
			r.Since.Local().Format(time.DateTime), time.Since(r.Since).Round(time.Second), r.Host, r.ID)
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// whoAmI is "user@host" of this client, recorded with the deploy.
func whoAmI() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	if name == "" {
		return host
	}
	return name + "@" + host
}
