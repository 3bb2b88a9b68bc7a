package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LoadConfig describes one bounded load run.
//
// A failover probe is a load run too: Concurrency 1, Rate 20 (one request
// every 50 ms), a short Timeout (e.g. 200ms) and KeepAlive false; its
// LongestGap is the time clients saw no good answer.
type LoadConfig struct {
	// URL is requested by every worker. Required; http or https.
	URL string
	// Concurrency is the number of workers, each with at most one request
	// in flight. 0: 1.
	Concurrency int
	// Rate is the total request rate over all workers in requests/s,
	// spread evenly; a worker that falls behind skips the slots it missed
	// rather than bursting. 0: closed loop, as fast as answers come.
	Rate int
	// Duration bounds the run; it always stops by itself. 0: 10s.
	Duration time.Duration
	// MaxRequests stops the run after this many requests. 0: no bound.
	MaxRequests int
	// KeepAlive reuses connections; false opens a new connection per
	// request (and sends Connection: close). Without keep-alive every
	// request leaves a socket in TIME_WAIT: keep such runs short or rated.
	KeepAlive bool
	// Method is the HTTP method. "": GET.
	Method string
	// Timeout bounds one request, from dialing to the end of the body.
	// 0: 5s.
	Timeout time.Duration
}

// LoadResult counts what a load run saw. A failure is a transport error
// (refused, reset, timeout, truncated body) or a status >= 500; other
// statuses are counted in ByStatus but are not failures. Requests still in
// flight when the run ends are cut short and not counted.
type LoadResult struct {
	// Requests counts completed requests, failed or not.
	Requests int
	// Failures counts transport errors plus answers with status >= 500.
	Failures int
	// ByServer counts answers by their X-Served-By header; answers without
	// one (e.g. a proxy's own 503) are not counted here.
	ByServer map[string]int
	// ByStatus counts answers by status code.
	ByStatus map[int]int
	// Errors counts transport errors by error text (truncated).
	Errors map[string]int
	// P50, P99 and Max are latencies of requests that got an answer
	// (any status), to the end of the body.
	P50, P99, Max time.Duration
	// FirstFailure and LastFailure are when the first and last failure
	// completed; zero without failures.
	FirstFailure, LastFailure time.Time
	// LongestGap is the longest time without a successful answer: between
	// the start of the run, the completion of each success, and the end of
	// the run. With no success at all it is the whole run.
	LongestGap time.Duration
	// Elapsed is how long the run took.
	Elapsed time.Duration
}

// Success reports whether the run had no failure.
func (r LoadResult) Success() bool { return r.Failures == 0 }

// Rate returns completed requests per second.
func (r LoadResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

const (
	defaultLoadDuration = 10 * time.Second
	defaultLoadTimeout  = 5 * time.Second
	maxErrorText        = 100
)

// RunLoad sends requests as cfg says until Duration has passed,
// MaxRequests were sent, or ctx is done, and returns the counts. The error
// is only for a config that cannot run; failures of the target are counted
// in the result.
func RunLoad(ctx context.Context, cfg LoadConfig) (LoadResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return LoadResult{}, err
	}
	tr := newLoadTransport(cfg)
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		// A redirect is an answer: count it, do not follow it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var claimed atomic.Int64
	workers := make([]*loadWorker, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &loadWorker{cfg: cfg, client: client, start: start, claimed: &claimed}
		workers[i] = w
		wg.Go(func() { w.run(runCtx, i) })
	}
	wg.Wait()
	end := time.Now()
	return mergeWorkers(workers, start, end), nil
}

func (c LoadConfig) withDefaults() (LoadConfig, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("run load: url %q: want http://host:port/path", c.URL)
	}
	if c.Concurrency < 0 || c.Rate < 0 || c.Duration < 0 || c.MaxRequests < 0 || c.Timeout < 0 {
		return c, fmt.Errorf("run load: concurrency, rate, duration, max requests and timeout must not be negative")
	}
	c.Concurrency = max(c.Concurrency, 1)
	if c.Duration == 0 {
		c.Duration = defaultLoadDuration
	}
	if c.Timeout == 0 {
		c.Timeout = defaultLoadTimeout
	}
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	return c, nil
}

func newLoadTransport(cfg LoadConfig) *http.Transport {
	d := &net.Dialer{Timeout: cfg.Timeout}
	return &http.Transport{
		Proxy:               nil, // never an environment proxy: targets are local
		DialContext:         d.DialContext,
		DisableKeepAlives:   !cfg.KeepAlive,
		DisableCompression:  true,
		MaxIdleConns:        cfg.Concurrency,
		MaxIdleConnsPerHost: cfg.Concurrency,
		IdleConnTimeout:     90 * time.Second,
	}
}

// loadWorker sends requests one at a time and keeps its own counts, merged
// after the run, so workers share nothing on the request path but the
// MaxRequests counter.
type loadWorker struct {
	cfg     LoadConfig
	client  *http.Client
	start   time.Time
	claimed *atomic.Int64

	requests, failures int
	byServer           map[string]int
	byStatus           map[int]int
	errors             map[string]int
	latencies          []time.Duration // of answered requests
	successes          []time.Duration // completion times, since start
	firstFail          time.Time
	lastFail           time.Time
}

func (w *loadWorker) run(ctx context.Context, index int) {
	w.byServer = map[string]int{}
	w.byStatus = map[int]int{}
	w.errors = map[string]int{}
	next, interval := w.schedule(index)
	for {
		if w.cfg.Rate > 0 {
			if !sleepUntil(ctx, next) {
				return
			}
			next = nextSlot(next, interval, time.Now())
		}
		if ctx.Err() != nil {
			return
		}
		if w.cfg.MaxRequests > 0 && w.claimed.Add(1) > int64(w.cfg.MaxRequests) {
			return
		}
		w.once(ctx)
	}
}

// schedule returns worker index's first send time and its interval: with
// Rate r and c workers each worker sends every c/r s, offset by index/r s.
func (w *loadWorker) schedule(index int) (time.Time, time.Duration) {
	if w.cfg.Rate <= 0 {
		return w.start, 0
	}
	perReq := time.Second / time.Duration(w.cfg.Rate)
	return w.start.Add(time.Duration(index) * perReq), perReq * time.Duration(w.cfg.Concurrency)
}

// nextSlot returns the first slot after prev (prev + k*interval, k >= 1)
// that is not already in the past at now: missed slots are skipped.
func nextSlot(prev time.Time, interval time.Duration, now time.Time) time.Time {
	next := prev.Add(interval)
	if late := now.Sub(next); late > 0 {
		next = next.Add((late/interval + 1) * interval)
	}
	return next
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// once sends one request and records its outcome, unless the run ended
// while it was in flight.
func (w *loadWorker) once(runCtx context.Context) {
	ctx, cancel := context.WithTimeout(runCtx, w.cfg.Timeout)
	defer cancel()
	began := time.Now()
	status, server, err := w.do(ctx)
	done := time.Now()
	if err != nil && runCtx.Err() != nil {
		return // cut short by the end of the run: neither success nor failure
	}
	w.requests++
	if err != nil {
		w.fail(done)
		w.errors[errorText(err)]++
		return
	}
	w.latencies = append(w.latencies, done.Sub(began))
	w.byStatus[status]++
	if server != "" {
		w.byServer[server]++
	}
	if status >= 500 {
		w.fail(done)
		return
	}
	w.successes = append(w.successes, done.Sub(w.start))
}

func (w *loadWorker) do(ctx context.Context) (status int, server string, err error) {
	req, err := http.NewRequestWithContext(ctx, w.cfg.Method, w.cfg.URL, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, "", fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, resp.Header.Get("X-Served-By"), nil
}

func (w *loadWorker) fail(at time.Time) {
	w.failures++
	if w.firstFail.IsZero() {
		w.firstFail = at
	}
	w.lastFail = at
}

// errorText shortens a transport error for counting: without the
// `Get "http://…":` prefix, at most maxErrorText bytes.
func errorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > maxErrorText {
		s = s[:maxErrorText] + "…"
	}
	return s
}

func mergeWorkers(workers []*loadWorker, start, end time.Time) LoadResult {
	res := LoadResult{
		ByServer: map[string]int{},
		ByStatus: map[int]int{},
		Errors:   map[string]int{},
		Elapsed:  end.Sub(start),
	}
	var latencies, successes []time.Duration
	for _, w := range workers {
		res.Requests += w.requests
		res.Failures += w.failures
		addCounts(res.ByServer, w.byServer)
		addCounts(res.ByStatus, w.byStatus)
		addCounts(res.Errors, w.errors)
		latencies = append(latencies, w.latencies...)
		successes = append(successes, w.successes...)
		if !w.firstFail.IsZero() && (res.FirstFailure.IsZero() || w.firstFail.Before(res.FirstFailure)) {
			res.FirstFailure = w.firstFail
		}
		if w.lastFail.After(res.LastFailure) {
			res.LastFailure = w.lastFail
		}
	}
	slices.Sort(latencies)
	res.P50 = percentile(latencies, 0.50)
	res.P99 = percentile(latencies, 0.99)
	if n := len(latencies); n > 0 {
		res.Max = latencies[n-1]
	}
	res.LongestGap = longestGap(successes, res.Elapsed)
	return res
}

func addCounts[K comparable](dst, src map[K]int) {
	for k, v := range src {
		dst[k] += v
	}
}

// percentile returns the nearest-rank p-quantile of sorted, or 0 if empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// longestGap returns the longest interval without a success in [0, total],
// given the success completion times (offsets from the start, any order).
func longestGap(successes []time.Duration, total time.Duration) time.Duration {
	slices.Sort(successes)
	var gap, prev time.Duration
	for _, t := range successes {
		gap = max(gap, t-prev)
		prev = t
	}
	return max(gap, total-prev)
}
