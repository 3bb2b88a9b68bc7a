package policy

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-lb/tandem/config"
)

// fakeServer is a Server whose weight and load a test sets; atomics so that
// the concurrency test can change them under Pick.
type fakeServer struct {
	name   string
	weight atomic.Int64
	active atomic.Int64
}

func (s *fakeServer) Weight() int { return int(s.weight.Load()) }
func (s *fakeServer) Active() int { return int(s.active.Load()) }

// namedServer adds Named to fakeServer.
type namedServer struct{ *fakeServer }

func (s namedServer) Name() string { return s.name }

// newServers returns fakes named a, b, c… with the given weights, and the
// same as a []Server for New.
func newServers(weights ...int) ([]*fakeServer, []Server) {
	fs := make([]*fakeServer, len(weights))
	ss := make([]Server, len(weights))
	for i, w := range weights {
		fs[i] = &fakeServer{name: string(rune('a' + i))}
		fs[i].weight.Store(int64(w))
		ss[i] = fs[i]
	}
	return fs, ss
}

func allOK(int) bool { return true }

// okOnly accepts exactly the given indexes.
func okOnly(idx ...int) func(int) bool {
	set := make(map[int]bool, len(idx))
	for _, i := range idx {
		set[i] = true
	}
	return func(i int) bool { return set[i] }
}

// okExcept accepts every index but the given ones.
func okExcept(idx ...int) func(int) bool {
	only := okOnly(idx...)
	return func(i int) bool { return !only(i) }
}

// algorithms is every algorithm config defines, AlgoUnset first.
var algorithms = []config.Algorithm{
	config.AlgoUnset, config.AlgoRoundRobin, config.AlgoStaticRR, config.AlgoLeastConn,
	config.AlgoSource, config.AlgoURI, config.AlgoRandom, config.AlgoFirst,
}

func algoName(a config.Algorithm) string {
	if a == config.AlgoUnset {
		return "unset"
	}
	return a.String()
}

// counts makes n picks with keys 0..n-1 and counts the picks per index; -1
// is counted at index len(servers). With load, a pick adds one to the
// chosen server's Active (connections that never close), which is what
// makes leastconn and random spread.
func counts(t *testing.T, p Policy, fs []*fakeServer, ok func(int) bool, n int, load bool) []int {
	t.Helper()
	c := make([]int, len(fs)+1)
	for k := range n {
		i := p.Pick(uint64(k), ok)
		if i < 0 {
			c[len(fs)]++
			continue
		}
		if !ok(i) {
			t.Fatalf("pick %d: got server %d, which ok rejects", k, i)
		}
		c[i]++
		if load {
			fs[i].active.Add(1)
		}
	}
	return c
}

// wantShare checks that got (picks per server, as from counts) is within
// tol (a fraction, 0.1 = ±10%) of each server's share of the total weight.
func wantShare(t *testing.T, got []int, weights []int, tol float64) {
	t.Helper()
	total, picks := 0, 0
	for i, w := range weights {
		total += w
		picks += got[i]
	}
	for i, w := range weights {
		want := float64(picks) * float64(w) / float64(total)
		if math.Abs(float64(got[i])-want) > tol*want+0.5 {
			t.Errorf("server %d (weight %d): %d picks, want %.0f ±%.0f%% (all: %v)", i, w, got[i], want, tol*100, got)
		}
	}
}

func TestNoServerGivesMinusOne(t *testing.T) {
	for _, a := range algorithms {
		t.Run(algoName(a), func(t *testing.T) {
			if got := New(a, nil).Pick(1, allOK); got != -1 {
				t.Errorf("no servers: Pick = %d, want -1", got)
			}
			_, ss := newServers(1, 2, 0)
			if got := New(a, ss).Pick(1, okOnly()); got != -1 {
				t.Errorf("ok rejects all: Pick = %d, want -1", got)
			}
		})
	}
}

func TestPickHonoursOK(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		ok      func(int) bool
		want    []int // servers that must share the picks, all of them used
	}{
		{"two of four", []int{1, 1, 1, 1}, okOnly(1, 3), []int{1, 3}},
		{"one left", []int{3, 1, 2}, okOnly(2), []int{2}},
		{"weighted skip zero", []int{0, 2, 0, 3}, allOK, []int{1, 3}},
		{"zero weights only when nothing else", []int{0, 2, 0, 3}, okOnly(0, 2), []int{0, 2}},
		{"all zero", []int{0, 0, 0}, allOK, []int{0, 1, 2}},
	}
	for _, a := range algorithms {
		for _, tt := range tests {
			t.Run(algoName(a)+"/"+tt.name, func(t *testing.T) {
				fs, ss := newServers(tt.weights...)
				got := counts(t, New(a, ss), fs, tt.ok, 1000, true)
				var used []int
				for i, c := range got[:len(fs)] {
					if c > 0 {
						used = append(used, i)
					}
				}
				want := tt.want
				if a == config.AlgoFirst {
					want = want[:1] // always the first eligible
				}
				if diff := cmp.Diff(want, used); diff != "" {
					t.Errorf("servers picked (-want +got):\n%s\ncounts %v", diff, got)
				}
			})
		}
	}
}

// TestDistributionFollowsWeights checks every algorithm's share per server
// against its weight share. leastconn and random spread by load, so each
// pick leaves a connection open on the chosen server.
func TestDistributionFollowsWeights(t *testing.T) {
	tests := []struct {
		algo config.Algorithm
		n    int
		tol  float64
	}{
		{config.AlgoRoundRobin, 100 * 10, 0},
		{config.AlgoStaticRR, 100 * 10, 0},
		{config.AlgoLeastConn, 100 * 10, 0.01},
		{config.AlgoRandom, 100_000, 0.05},
		{config.AlgoSource, 100_000, 0.1},
		{config.AlgoURI, 100_000, 0.1},
	}
	for _, tt := range tests {
		t.Run(algoName(tt.algo), func(t *testing.T) {
			weights := []int{1, 2, 3, 4}
			fs, ss := newServers(weights...)
			wantShare(t, counts(t, New(tt.algo, ss), fs, allOK, tt.n, true), weights, tt.tol)
		})
	}
}

func TestFirstFillsInOrder(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		ok      func(int) bool
		want    int
	}{
		{"first", []int{1, 1, 1}, allOK, 0},
		{"first is full", []int{1, 1, 1}, okExcept(0), 1},
		{"weight 0 skipped", []int{0, 5, 1}, allOK, 1},
		{"only weight 0 left", []int{0, 5, 0}, okExcept(1), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ss := newServers(tt.weights...)
			if got := New(config.AlgoFirst, ss).Pick(0, tt.ok); got != tt.want {
				t.Errorf("Pick = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestConcurrentPick runs every algorithm from many goroutines while
// weights and loads change (run with -race): every pick must be ok.
func TestConcurrentPick(t *testing.T) {
	for _, a := range algorithms {
		t.Run(algoName(a), func(t *testing.T) {
			fs, ss := newServers(1, 2, 3, 4, 5, 0, 7, 8)
			p := New(a, ss)
			ok := okExcept(2, 6)
			var stop atomic.Bool
			var churn sync.WaitGroup
			churn.Go(func() { // slow start and runtime weights
				for k := 0; !stop.Load(); k++ {
					fs[k%len(fs)].weight.Store(int64(k % 5))
				}
			})
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := range 8 {
				wg.Go(func() {
					for k := range 5000 {
						i := p.Pick(uint64(g*5000+k), ok)
						if i < 0 || !ok(i) {
							errs <- fmt.Errorf("goroutine %d pick %d: got %d", g, k, i)
							return
						}
						fs[i].active.Add(1)
						fs[i].active.Add(-1)
					}
				})
			}
			wg.Wait()
			stop.Store(true)
			churn.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestPickDoesNotAllocate protects the data plane's zero-allocation pick.
func TestPickDoesNotAllocate(t *testing.T) {
	for _, a := range algorithms {
		t.Run(algoName(a), func(t *testing.T) {
			p, ok := benchPolicy(a)
			key := uint64(0)
			allocs := testing.AllocsPerRun(1000, func() {
				key++
				p.Pick(key, ok)
			})
			if allocs != 0 {
				t.Errorf("Pick allocates %.1f times per call, want 0", allocs)
			}
		})
	}
}

// benchPolicy is a, over 10 servers with weights 1..10 and some load, and an
// ok that rejects one of them (as cheap as the balancer's atomic loads, so
// that the figures are the policy's own).
func benchPolicy(a config.Algorithm) (Policy, func(int) bool) {
	fs, ss := newServers(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	for i, s := range fs {
		s.active.Store(int64(i * 7 % 5))
	}
	return New(a, ss), func(i int) bool { return i != 4 }
}

func BenchmarkPick(b *testing.B) {
	for _, a := range algorithms[1:] {
		b.Run(a.String(), func(b *testing.B) {
			p, ok := benchPolicy(a)
			b.ReportAllocs()
			key := uint64(0)
			for b.Loop() {
				key++
				p.Pick(key, ok)
			}
		})
	}
}

func BenchmarkPickParallel(b *testing.B) {
	for _, a := range algorithms[1:] {
		b.Run(a.String(), func(b *testing.B) {
			p, ok := benchPolicy(a)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				key := uint64(0)
				for pb.Next() {
					key++
					p.Pick(key, ok)
				}
			})
		})
	}
}
