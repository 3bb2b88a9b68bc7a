package testenv

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRunLoadCountsByServerAgainstSite(t *testing.T) {
	s := startSite(t, "server1", newRoot(t))
	for _, keepAlive := range []bool{true, false} {
		res, err := RunLoad(context.Background(), LoadConfig{
			URL: s.URL() + "/", Concurrency: 4, MaxRequests: 200, Duration: 20 * time.Second, KeepAlive: keepAlive,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := LoadResult{Requests: 200, ByServer: map[string]int{"server1": 200}, ByStatus: map[int]int{200: 200}, Errors: map[string]int{}}
		if diff := cmp.Diff(want, countsOnly(res)); diff != "" {
			t.Errorf("keepAlive=%v (-want +got):\n%s", keepAlive, diff)
		}
		if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
			t.Errorf("latencies p50 %v p99 %v max %v", res.P50, res.P99, res.Max)
		}
	}
}

// countsOnly keeps the fields that do not depend on timing.
func countsOnly(r LoadResult) LoadResult {
	return LoadResult{Requests: r.Requests, Failures: r.Failures, ByServer: r.ByServer, ByStatus: r.ByStatus, Errors: r.Errors}
}

func TestRunLoadCountsServerErrorsAsFailures(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", "flaky")
		switch n.Add(1) % 4 {
		case 0:
			w.WriteHeader(http.StatusInternalServerError)
		case 1:
			w.WriteHeader(http.StatusNotFound) // not a failure
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	res, err := RunLoad(context.Background(), LoadConfig{URL: srv.URL, Concurrency: 3, MaxRequests: 40, Duration: 20 * time.Second, KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	want := LoadResult{
		Requests: 40, Failures: 10,
		ByServer: map[string]int{"flaky": 40},
		ByStatus: map[int]int{200: 20, 404: 10, 500: 10},
		Errors:   map[string]int{},
	}
	if diff := cmp.Diff(want, countsOnly(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if res.FirstFailure.IsZero() || res.LastFailure.Before(res.FirstFailure) {
		t.Errorf("FirstFailure %v LastFailure %v", res.FirstFailure, res.LastFailure)
	}
}

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRunLoadCountsRefusedConnectionsAsFailures(t *testing.T) {
	res, err := RunLoad(context.Background(), LoadConfig{URL: "http://" + closedPort(t) + "/", Concurrency: 2, MaxRequests: 10, Duration: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 10 || res.Failures != 10 {
		t.Errorf("requests %d failures %d, want 10 10", res.Requests, res.Failures)
	}
	if len(res.Errors) != 1 {
		t.Fatalf("errors %v, want one kind", res.Errors)
	}
	for text, n := range res.Errors {
		if !strings.Contains(text, "connection refused") || n != 10 || strings.Contains(text, "Get ") {
			t.Errorf("errors %v, want 10 × connection refused without the URL prefix", res.Errors)
		}
	}
	if res.LongestGap != res.Elapsed {
		t.Errorf("LongestGap %v, want the whole run %v when nothing succeeded", res.LongestGap, res.Elapsed)
	}
}

func TestRunLoadStopsByItselfAtDuration(t *testing.T) {
	s := startSite(t, "server1", newRoot(t))
	const d = 300 * time.Millisecond
	began := time.Now()
	// Each request takes 200ms, so a request is in flight when the run ends:
	// it is cut short and not counted as a failure.
	res, err := RunLoad(context.Background(), LoadConfig{URL: s.URL() + "/slow?ms=200", Concurrency: 2, Duration: d, KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < d || took > d+2*time.Second {
		t.Errorf("RunLoad took %v, want about %v", took, d)
	}
	if res.Requests > 2 || res.Failures != 0 {
		t.Errorf("requests %d failures %d (errors %v), want at most 2 and 0", res.Requests, res.Failures, res.Errors)
	}
}

func TestRunLoadTimeoutIsAFailure(t *testing.T) {
	s := startSite(t, "server1", newRoot(t))
	res, err := RunLoad(context.Background(), LoadConfig{URL: s.URL() + "/slow?ms=2000", MaxRequests: 1, Timeout: 50 * time.Millisecond, Duration: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 1 || res.Failures != 1 || len(res.Errors) != 1 {
		t.Errorf("requests %d failures %d errors %v, want one timeout", res.Requests, res.Failures, res.Errors)
	}
}

func TestRunLoadRateIsPaced(t *testing.T) {
	s := startSite(t, "server1", newRoot(t))
	began := time.Now()
	// 20 requests at 50/s: the last is sent 380ms after the first.
	res, err := RunLoad(context.Background(), LoadConfig{URL: s.URL() + "/", Concurrency: 2, Rate: 50, MaxRequests: 20, Duration: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 380*time.Millisecond || took > 3*time.Second {
		t.Errorf("20 requests at 50/s took %v, want about 400ms", took)
	}
	if res.Requests != 20 || res.Failures != 0 {
		t.Errorf("requests %d failures %d", res.Requests, res.Failures)
	}
}

// TestRunLoadLongestGapCoversAnOutage: a probe at 50/s against a server
// that fails requests 10 to 24 sees no success for about 16 intervals.
func TestRunLoadLongestGapCoversAnOutage(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := n.Add(1); i >= 10 && i < 25 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	res, err := RunLoad(context.Background(), LoadConfig{URL: srv.URL, Concurrency: 1, Rate: 50, MaxRequests: 40, Duration: 10 * time.Second, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failures != 15 {
		t.Errorf("failures %d, want 15", res.Failures)
	}
	if res.LongestGap < 280*time.Millisecond || res.LongestGap > 2*time.Second {
		t.Errorf("LongestGap %v, want about 320ms", res.LongestGap)
	}
	if span := res.LastFailure.Sub(res.FirstFailure); span < 250*time.Millisecond || span > res.LongestGap {
		t.Errorf("failures span %v, want about 280ms and below the gap %v", span, res.LongestGap)
	}
}

func TestLongestGap(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name      string
		successes []time.Duration
		total     time.Duration
		want      time.Duration
	}{
		{"none: the whole run", nil, time.Second, time.Second},
		{"gap in the middle, unordered", ms(400, 100, 50, 150), time.Second / 2, 250 * time.Millisecond},
		{"gap at the start", ms(300, 350), 400 * time.Millisecond, 300 * time.Millisecond},
		{"gap at the end", ms(10, 20), 500 * time.Millisecond, 480 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := longestGap(tc.successes, tc.total); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNextSlotSkipsMissedSlots(t *testing.T) {
	t0 := time.Unix(1000, 0)
	iv := 100 * time.Millisecond
	tests := []struct {
		now  time.Duration
		want time.Duration
	}{
		{50 * time.Millisecond, 100 * time.Millisecond},  // on time
		{100 * time.Millisecond, 100 * time.Millisecond}, // exactly at the slot
		{250 * time.Millisecond, 300 * time.Millisecond}, // two slots missed
	}
	for _, tc := range tests {
		if got := nextSlot(t0, iv, t0.Add(tc.now)).Sub(t0); got != tc.want {
			t.Errorf("now +%v: next +%v, want +%v", tc.now, got, tc.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	sorted := make([]time.Duration, 100)
	for i := range sorted {
		sorted[i] = time.Duration(i + 1)
	}
	if p50, p99 := percentile(sorted, 0.5), percentile(sorted, 0.99); p50 != 50 || p99 != 99 {
		t.Errorf("p50 %v p99 %v, want 50 99", p50, p99)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("empty: %v", got)
	}
}

func TestRunLoadRejectsBadConfig(t *testing.T) {
	for _, cfg := range []LoadConfig{{URL: "127.0.0.1:80"}, {URL: "ftp://x/"}, {URL: "http://x/", Rate: -1}} {
		if _, err := RunLoad(context.Background(), cfg); err == nil {
			t.Errorf("%+v: want an error", cfg)
		}
	}
}
