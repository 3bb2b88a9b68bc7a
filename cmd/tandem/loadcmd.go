package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-lb/tandem/testenv"
)

// untilSignal is the duration of a `tandem load --until-signal` run: far
// longer than anyone waits, so the run ends on SIGINT/SIGTERM.
const untilSignal = 100 * 365 * 24 * time.Hour

// loadFlags are the flags of `tandem load` beyond testenv.LoadConfig.
type loadFlags struct {
	cfg         testenv.LoadConfig
	untilSignal bool
	asJSON      bool
}

// newLoadCmd is `tandem load`: a bounded HTTP load that counts failures,
// for watching a failover by hand and for the docker compose failover
// suite (which reads --json).
func newLoadCmd() *cobra.Command {
	lf := &loadFlags{}
	cmd := &cobra.Command{
		Use:   "load --url URL [--rate R] [--duration D | --until-signal]",
		Short: "Send a bounded HTTP load and count failed requests (for failover tests)",
		Long: `Send HTTP requests to one URL and count what came back.

A failure is a transport error (refused, reset, timeout, truncated body) or a
status >= 500. The summary gives the longest time without a successful answer
(the "gap" a failover costs), latencies, and answers per backend (the
X-Served-By header of tandem's test sites).

Without --keepalive every request opens a new connection, which is what a
failover test wants: requests follow the VIP to its new holder at once.

The run stops after --duration, after --max-requests, or on SIGINT/SIGTERM
(with --until-signal, only then); the counts so far are printed either way.
Exit status 0 even when requests failed: read the counts.`,
		Example: `  tandem load --url http://172.28.0.100/ --rate 50 --duration 30s
  tandem load --url http://172.28.0.100/ --rate 20 --until-signal      # Ctrl-C prints the counts
  tandem load --url http://10.0.0.100/ --concurrency 8 --keepalive --duration 10s --json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if lf.untilSignal {
				if c.Flags().Changed("duration") {
					return usageError{fmt.Errorf("load: --until-signal and --duration exclude each other")}
				}
				lf.cfg.Duration = untilSignal
			}
			res, err := testenv.RunLoad(c.Context(), lf.cfg)
			if err != nil {
				return usageError{err}
			}
			if lf.asJSON {
				return writeLoadJSON(c.OutOrStdout(), res)
			}
			printLoad(c.OutOrStdout(), lf.cfg.URL, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&lf.cfg.URL, "url", "", "URL every worker requests (http:// or https://)")
	f.IntVarP(&lf.cfg.Concurrency, "concurrency", "c", 1, "workers, each with at most one request in flight")
	f.IntVarP(&lf.cfg.Rate, "rate", "r", 0, "total requests per second over all workers (0: as fast as answers come)")
	f.DurationVarP(&lf.cfg.Duration, "duration", "d", 10*time.Second, "how long the run lasts")
	f.IntVar(&lf.cfg.MaxRequests, "max-requests", 0, "stop after this many requests (0: no bound)")
	f.BoolVar(&lf.cfg.KeepAlive, "keepalive", false, "reuse connections (default: a new connection per request)")
	f.StringVar(&lf.cfg.Method, "method", "GET", "HTTP method")
	f.DurationVar(&lf.cfg.Timeout, "timeout", 5*time.Second, "bound on one request, from dialing to the end of the body")
	f.BoolVar(&lf.untilSignal, "until-signal", false, "run until SIGINT/SIGTERM instead of for --duration")
	f.BoolVar(&lf.asJSON, "json", false, "print the counts as JSON (durations in milliseconds)")
	_ = cmd.MarkFlagRequired("url")
	cmd.AddCommand(newLoadIdleCmd())
	return cmd
}

// newLoadIdleCmd is `tandem load idle`: wait for a signal and exit. It is
// the command of the compose cluster's client container, whose FROM
// scratch image has no sleep: the container stays up for `docker exec
// client /tandem load …`.
func newLoadIdleCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "idle",
		Short:  "Wait for SIGINT/SIGTERM, sending nothing (keeps a load client container up)",
		Hidden: true,
		Args:   exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			<-c.Context().Done()
			return nil
		},
	}
}

// LoadJSON is the --json output of `tandem load`: testenv.LoadResult with
// durations in milliseconds and status codes as strings (JSON object keys).
// The compose failover suite decodes it.
type LoadJSON struct {
	Requests     int            `json:"requests"`
	Failures     int            `json:"failures"`
	ByServer     map[string]int `json:"by_server"`
	ByStatus     map[string]int `json:"by_status"`
	Errors       map[string]int `json:"errors"`
	P50MS        float64        `json:"p50_ms"`
	P99MS        float64        `json:"p99_ms"`
	MaxMS        float64        `json:"max_ms"`
	LongestGapMS float64        `json:"longest_gap_ms"`
	ElapsedMS    float64        `json:"elapsed_ms"`
	FirstFailure *time.Time     `json:"first_failure,omitempty"`
	LastFailure  *time.Time     `json:"last_failure,omitempty"`
}

func toLoadJSON(r testenv.LoadResult) LoadJSON {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	out := LoadJSON{
		Requests: r.Requests, Failures: r.Failures, ByServer: r.ByServer, Errors: r.Errors,
		ByStatus: make(map[string]int, len(r.ByStatus)),
		P50MS:    ms(r.P50), P99MS: ms(r.P99), MaxMS: ms(r.Max),
		LongestGapMS: ms(r.LongestGap), ElapsedMS: ms(r.Elapsed),
	}
	for code, n := range r.ByStatus {
		out.ByStatus[fmt.Sprint(code)] = n
	}
	if !r.FirstFailure.IsZero() {
		first, last := r.FirstFailure.UTC(), r.LastFailure.UTC()
		out.FirstFailure, out.LastFailure = &first, &last
	}
	return out
}

func writeLoadJSON(w io.Writer, r testenv.LoadResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(toLoadJSON(r)); err != nil {
		return fmt.Errorf("write load result: %w", err)
	}
	return nil
}

func printLoad(w io.Writer, url string, r testenv.LoadResult) {
	round := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
	fmt.Fprintf(w, "%s: %d requests in %v (%.1f/s), %d failed\n",
		url, r.Requests, r.Elapsed.Round(time.Millisecond), r.Rate(), r.Failures)
	fmt.Fprintf(w, "longest gap without a good answer: %v\n", round(r.LongestGap))
	fmt.Fprintf(w, "latency p50 %v  p99 %v  max %v\n", round(r.P50), round(r.P99), round(r.Max))
	if len(r.ByServer) > 0 {
		fmt.Fprint(w, "served by:")
		for _, s := range slices.Sorted(maps.Keys(r.ByServer)) {
			fmt.Fprintf(w, " %s=%d", s, r.ByServer[s])
		}
		fmt.Fprintln(w)
	}
	if len(r.ByStatus) > 0 {
		fmt.Fprint(w, "status:")
		for _, s := range slices.Sorted(maps.Keys(r.ByStatus)) {
			fmt.Fprintf(w, " %d=%d", s, r.ByStatus[s])
		}
		fmt.Fprintln(w)
	}
	for _, e := range slices.Sorted(maps.Keys(r.Errors)) {
		fmt.Fprintf(w, "error ×%d: %s\n", r.Errors[e], e)
	}
	if !r.FirstFailure.IsZero() {
		fmt.Fprintf(w, "failures from %s to %s\n",
			r.FirstFailure.Format("15:04:05.000"), r.LastFailure.Format("15:04:05.000"))
	}
}
