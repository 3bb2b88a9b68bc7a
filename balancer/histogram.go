package balancer

import (
	"sync/atomic"
	"time"
)

// latencyBounds are the upper bounds of the response-time buckets, from
// loopback-fast answers to the article's 50 s server timeout.
var latencyBounds = [...]time.Duration{
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
	5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// NumLatencyBuckets is the number of buckets of a Histogram, the last one
// unbounded (+Inf).
const NumLatencyBuckets = len(latencyBounds) + 1

// LatencyBounds returns the upper bounds of the response-time buckets (the
// last, unbounded, bucket has none).
func LatencyBounds() []time.Duration {
	b := latencyBounds
	return b[:]
}

// histogram is a lock-free fixed-bucket histogram: observing costs a few
// comparisons and two atomic adds, so it is cheap enough for every request.
type histogram struct {
	counts [NumLatencyBuckets]atomic.Uint64
	sum    atomic.Int64 // ns
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *histogram) snapshot() Histogram {
	var s Histogram
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
	}
	s.Sum = time.Duration(h.sum.Load())
	return s
}

// Histogram is a snapshot of a response-time histogram. Counts are per
// bucket (not cumulative); bucket i holds observations ≤ LatencyBounds()[i]
// and above the previous bound; the last bucket holds the rest.
type Histogram struct {
	Counts [NumLatencyBuckets]uint64
	Sum    time.Duration
}

// Count is the number of observations.
func (h Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Add returns h plus o (bucket by bucket).
func (h Histogram) Add(o Histogram) Histogram {
	for i := range h.Counts {
		h.Counts[i] += o.Counts[i]
	}
	h.Sum += o.Sum
	return h
}

// Sub returns h minus an earlier snapshot o of the same histogram: the
// observations made in between.
func (h Histogram) Sub(o Histogram) Histogram {
	for i := range h.Counts {
		h.Counts[i] -= o.Counts[i]
	}
	h.Sum -= o.Sum
	return h
}

// Quantile estimates the q-quantile (0 < q ≤ 1) by linear interpolation
// inside its bucket, as Prometheus' histogram_quantile does; 0 when there
// are no observations. A quantile in the last bucket reports the last
// bound.
func (h Histogram) Quantile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var seen float64
	for i, c := range h.Counts {
		if c == 0 || seen+float64(c) < rank {
			seen += float64(c)
			continue
		}
		if i == len(latencyBounds) {
			return latencyBounds[len(latencyBounds)-1]
		}
		var lo time.Duration
		if i > 0 {
			lo = latencyBounds[i-1]
		}
		frac := (rank - seen) / float64(c)
		return lo + time.Duration(frac*float64(latencyBounds[i]-lo))
	}
	return latencyBounds[len(latencyBounds)-1]
}
