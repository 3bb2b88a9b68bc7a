// Command probe is the failover client of bench/failover and of the
// testenv/netns tests: it starts one HTTP GET every --interval (default
// 10 ms), each on a new connection with a short timeout, whether or not
// the previous one has answered, and reports what the client saw: requests,
// failures, the longest time without a good answer (the failover gap), every
// gap over --gap-threshold, and every change of the answering site
// (X-Served-By), which is how a client sees the VIP move.
//
// It stops after --duration or on SIGINT/SIGTERM and prints one JSON object
// (default) or one line of key=value pairs (--kv, for shell scripts).
//
// It only sends to the URL it is given; the harnesses give it a VIP inside
// network namespaces they made.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Result is what one probe run saw. Times are milliseconds since the start
// of the run.
type Result struct {
	Requests     int            `json:"requests"`
	Failures     int            `json:"failures"`
	LongestGapMS float64        `json:"longest_gap_ms"`
	Gaps         []Gap          `json:"gaps"`
	Switches     []Switch       `json:"switches"`
	ByServer     map[string]int `json:"by_server"`
	Errors       map[string]int `json:"errors"`
	ElapsedMS    float64        `json:"elapsed_ms"`
}

// Gap is a time without a good answer, from one success to the next.
type Gap struct {
	StartMS float64 `json:"start_ms"`
	MS      float64 `json:"ms"`
}

// Switch is a good answer from another site than the previous good answer.
// GapMS is the time since that previous good answer: the failover gap.
type Switch struct {
	AtMS  float64 `json:"at_ms"`
	GapMS float64 `json:"gap_ms"`
	From  string  `json:"from"`
	To    string  `json:"to"`
}

type outcome struct {
	done   time.Duration // completion, since start
	ok     bool
	server string
	err    string
}

func main() {
	var (
		target    = flag.String("url", "", "URL to GET (required)")
		interval  = flag.Duration("interval", 10*time.Millisecond, "time between request starts")
		timeout   = flag.Duration("timeout", 300*time.Millisecond, "bound on one request, dial to end of body")
		duration  = flag.Duration("duration", 0, "how long to probe (0: until SIGINT/SIGTERM)")
		threshold = flag.Duration("gap-threshold", 100*time.Millisecond, "list gaps longer than this")
		kv        = flag.Bool("kv", false, "print key=value pairs on one line instead of JSON")
		once      = flag.Bool("once", false, "send one request, print its X-Served-By; exit 1 if it failed")
	)
	flag.Parse()
	if u, err := url.Parse(*target); err != nil || u.Scheme != "http" || u.Host == "" {
		fmt.Fprintln(os.Stderr, "probe: --url http://HOST[:PORT]/PATH is required")
		os.Exit(2)
	}
	if *once {
		o := probeOnce(context.Background(), newClient(*timeout), *target, *timeout, time.Now())
		if !o.ok {
			fmt.Fprintln(os.Stderr, "probe:", o.err)
			os.Exit(1)
		}
		fmt.Println(o.server)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	res := run(ctx, *target, *interval, *timeout, *threshold)
	if *kv {
		printKV(os.Stdout, res)
		return
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "probe: write result:", err)
		os.Exit(1)
	}
}

// run probes until ctx is done. Requests in flight at the end are dropped.
func run(ctx context.Context, target string, interval, timeout, threshold time.Duration) Result {
	client := newClient(timeout)
	start := time.Now()
	var (
		mu       sync.Mutex
		outcomes []outcome
		wg       sync.WaitGroup
	)
	tk := time.NewTicker(interval)
	defer tk.Stop()
loop:
	for {
		wg.Go(func() {
			o := probeOnce(ctx, client, target, timeout, start)
			if ctx.Err() != nil {
				return // cut short by the end of the run
			}
			mu.Lock()
			outcomes = append(outcomes, o)
			mu.Unlock()
		})
		select {
		case <-ctx.Done():
			break loop
		case <-tk.C:
		}
	}
	end := time.Since(start)
	wg.Wait()
	return summarize(outcomes, end, threshold)
}

// newClient opens a new connection per request and follows no redirect.
func newClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{Timeout: timeout}).DialContext,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func probeOnce(ctx context.Context, client *http.Client, target string, timeout time.Duration, start time.Time) outcome {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, target, nil)
	if err != nil {
		return outcome{done: time.Since(start), err: err.Error()}
	}
	resp, err := client.Do(req)
	if err != nil {
		return outcome{done: time.Since(start), err: errText(err)}
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return outcome{done: time.Since(start), err: "read body: " + errText(err)}
	}
	o := outcome{done: time.Since(start), server: resp.Header.Get("X-Served-By")}
	o.ok = resp.StatusCode < 500
	if !o.ok {
		o.err = fmt.Sprintf("status %d", resp.StatusCode)
	}
	return o
}

func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// summarize orders outcomes by completion and measures gaps between
// successes (and from the start and to the end of the run).
func summarize(outcomes []outcome, end, threshold time.Duration) Result {
	slices.SortFunc(outcomes, func(a, b outcome) int { return int(a.done - b.done) })
	res := Result{ByServer: map[string]int{}, Errors: map[string]int{}, Gaps: []Gap{}, Switches: []Switch{}, ElapsedMS: ms(end)}
	var prev time.Duration
	var longest time.Duration
	last := ""
	gap := func(from, to time.Duration) {
		longest = max(longest, to-from)
		if to-from > threshold {
			res.Gaps = append(res.Gaps, Gap{StartMS: ms(from), MS: ms(to - from)})
		}
	}
	for _, o := range outcomes {
		res.Requests++
		if !o.ok {
			res.Failures++
			res.Errors[o.err]++
			continue
		}
		res.ByServer[o.server]++
		gap(prev, o.done)
		if last != "" && o.server != last {
			res.Switches = append(res.Switches, Switch{AtMS: ms(o.done), GapMS: ms(o.done - prev), From: last, To: o.server})
		}
		prev = o.done
		last = o.server
	}
	gap(prev, end)
	res.LongestGapMS = ms(longest)
	return res
}

func printKV(w io.Writer, r Result) {
	switchGap := 0.0
	for _, sw := range r.Switches {
		switchGap = max(switchGap, sw.GapMS)
	}
	fmt.Fprintf(w, "requests=%d failures=%d longest_gap_ms=%.1f switch_gap_ms=%.1f gaps=%d switches=%d elapsed_ms=%.0f",
		r.Requests, r.Failures, r.LongestGapMS, switchGap, len(r.Gaps), len(r.Switches), r.ElapsedMS)
	for _, s := range slices.Sorted(maps.Keys(r.ByServer)) {
		fmt.Fprintf(w, " served_by_%s=%d", s, r.ByServer[s])
	}
	if len(r.Errors) > 0 {
		kinds := map[string]int{}
		for e, n := range r.Errors {
			kinds[errKind(e)] += n
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(kinds)) {
			parts = append(parts, fmt.Sprintf("%s:%d", k, kinds[k]))
		}
		fmt.Fprintf(w, " errors=%s", strings.Join(parts, ","))
	}
	fmt.Fprintln(w)
}

// errKind names an error text in one word for the --kv line.
func errKind(e string) string {
	for _, k := range []struct{ sub, kind string }{
		{"refused", "refused"}, {"reset", "reset"}, {"timeout", "timeout"}, {"EOF", "eof"},
		{"status ", "status5xx"}, {"no route", "noroute"}, {"unreachable", "unreachable"},
	} {
		if strings.Contains(e, k.sub) {
			return k.kind
		}
	}
	return "other"
}
