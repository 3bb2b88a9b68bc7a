package balancer

import (
	"net/http"
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	tests := []struct {
		name string
		obs  []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one bucket interpolates", []time.Duration{3 * time.Millisecond, 4 * time.Millisecond}, 0.5, 3750 * time.Microsecond},
		{"p99 of a slow tail", append(repeat(time.Millisecond/2, 98), 2*time.Second, 2*time.Second), 0.99, 1750 * time.Millisecond},
		{"beyond the last bound", []time.Duration{time.Minute}, 0.5, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			for _, d := range tt.obs {
				h.observe(d)
			}
			s := h.snapshot()
			if got := s.Quantile(tt.q); got != tt.want {
				t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
			if s.Count() != uint64(len(tt.obs)) {
				t.Errorf("Count = %d, want %d", s.Count(), len(tt.obs))
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestHistogramSubIsTheWindow(t *testing.T) {
	var h histogram
	h.observe(time.Millisecond)
	before := h.snapshot()
	h.observe(time.Second)
	w := h.snapshot().Sub(before)
	if w.Count() != 1 || w.Sum != time.Second || w.Quantile(1) != time.Second {
		t.Errorf("window %+v: want the one 1s observation", w)
	}
}

func TestResponseTimeObservedPerServer(t *testing.T) {
	slow := newSite(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond) // the server under test is slow; not a synchronisation
	})
	e := start(t, cluster(srv("slow", slow.addr())))
	c := client()
	for range 3 {
		get(t, c, e.url("/"))
	}
	rt := e.serverStats("slow").ResponseTime
	if rt.Count() != 3 {
		t.Fatalf("count %d, want 3", rt.Count())
	}
	// The server takes at least 30 ms; a loaded machine may add to that,
	// never take from it.
	if p50 := rt.Quantile(0.5); p50 < 25*time.Millisecond || p50 > 5*time.Second {
		t.Errorf("p50 %v, want at least the 25ms–50ms bucket", p50)
	}
	if be := e.b.Stats().Backends[0].ResponseTime; be.Count() != 3 {
		t.Errorf("backend count %d, want 3", be.Count())
	}
}
