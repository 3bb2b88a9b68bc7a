package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-lb/tandem/config"
)

// names makes n picks and returns the chosen servers' names ("-" for -1).
func names(p Policy, fs []*fakeServer, ok func(int) bool, n int) []string {
	var got []string
	for k := range n {
		if i := p.Pick(uint64(k), ok); i < 0 {
			got = append(got, "-")
		} else {
			got = append(got, fs[i].name)
		}
	}
	return got
}

func TestRoundRobinIsSmooth(t *testing.T) {
	tests := []struct {
		name    string
		algo    config.Algorithm
		weights []int
		ok      func(int) bool
		want    []string
	}{
		{"nginx 5,1,1", config.AlgoRoundRobin, []int{5, 1, 1}, allOK,
			[]string{"a", "a", "b", "a", "c", "a", "a", "a", "a", "b", "a", "c", "a", "a"}},
		{"unset is roundrobin", config.AlgoUnset, []int{5, 1, 1}, allOK,
			[]string{"a", "a", "b", "a", "c", "a", "a"}},
		{"equal", config.AlgoRoundRobin, []int{1, 1, 1}, allOK,
			[]string{"a", "b", "c", "a", "b", "c"}},
		{"one not ok", config.AlgoRoundRobin, []int{1, 1, 1}, okExcept(1),
			[]string{"a", "c", "a", "c"}},
		{"weight 0 skipped", config.AlgoRoundRobin, []int{2, 0, 1}, allOK,
			[]string{"a", "c", "a", "a", "c", "a"}},
		{"static-rr 5,1,1", config.AlgoStaticRR, []int{5, 1, 1}, allOK,
			[]string{"a", "a", "b", "a", "c", "a", "a", "a", "a", "b", "a", "c", "a", "a"}},
		{"static-rr reduces by gcd", config.AlgoStaticRR, []int{200, 100}, allOK,
			[]string{"a", "b", "a", "a", "b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, ss := newServers(tt.weights...)
			got := names(New(tt.algo, ss), fs, tt.ok, len(tt.want))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("picks (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoundRobinReadsWeightAtPickTime: slow start and runtime weights take
// effect without New; static-rr keeps the weights New saw.
func TestRoundRobinReadsWeightAtPickTime(t *testing.T) {
	tests := []struct {
		algo config.Algorithm
		want []int // picks of a, b over 40 picks after b's weight goes 1 → 3
	}{
		{config.AlgoRoundRobin, []int{10, 30, 0}},
		{config.AlgoStaticRR, []int{20, 20, 0}},
	}
	for _, tt := range tests {
		t.Run(algoName(tt.algo), func(t *testing.T) {
			fs, ss := newServers(1, 1)
			p := New(tt.algo, ss)
			fs[1].weight.Store(3)
			if diff := cmp.Diff(tt.want, counts(t, p, fs, allOK, 40, false)); diff != "" {
				t.Errorf("picks per server (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStaticRRSharesSkippedTurns: a server that is not ok gives its turns to
// every ok server, not only to the one after it in the sequence.
func TestStaticRRSharesSkippedTurns(t *testing.T) {
	fs, ss := newServers(1, 1, 1, 1)
	got := counts(t, New(config.AlgoStaticRR, ss), fs, okExcept(1), 300, false)
	if diff := cmp.Diff([]int{100, 0, 100, 100, 0}, got); diff != "" {
		t.Errorf("picks per server (-want +got):\n%s", diff)
	}
}

func TestLeastConnPicksLowestLoadPerWeight(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		active  []int
		ok      func(int) bool
		want    int
	}{
		{"fewest connections", []int{1, 1, 1}, []int{5, 2, 7}, allOK, 1},
		{"per weight", []int{1, 4, 1}, []int{2, 6, 3}, allOK, 1}, // 2/1 > 6/4
		{"not ok skipped", []int{1, 1, 1}, []int{5, 2, 7}, okExcept(1), 0},
		{"weight 0 last", []int{0, 1}, []int{0, 100}, allOK, 1},
		{"weight 0 by connections", []int{0, 0, 1}, []int{4, 3, 0}, okExcept(2), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, ss := newServers(tt.weights...)
			for i, a := range tt.active {
				fs[i].active.Store(int64(a))
			}
			p := New(config.AlgoLeastConn, ss)
			for k := range 10 { // whatever the rotation
				if got := p.Pick(0, tt.ok); got != tt.want {
					t.Fatalf("pick %d: got %d, want %d", k, got, tt.want)
				}
			}
		})
	}
}

// TestLeastConnBreaksTiesRoundRobin: idle equal servers share the picks
// instead of the first one taking them all.
func TestLeastConnBreaksTiesRoundRobin(t *testing.T) {
	fs, ss := newServers(1, 1, 1)
	got := counts(t, New(config.AlgoLeastConn, ss), fs, allOK, 300, false)
	if diff := cmp.Diff([]int{100, 100, 100, 0}, got); diff != "" {
		t.Errorf("picks per server with no load (-want +got):\n%s", diff)
	}
}

// TestRandomPrefersLessLoaded: of two draws the less loaded wins, so a
// loaded server gets far less than its share, and never when it is loaded
// past every other (the other draw always beats it).
func TestRandomPrefersLessLoaded(t *testing.T) {
	fs, ss := newServers(1, 1, 1, 1)
	fs[0].active.Store(100)
	got := counts(t, New(config.AlgoRandom, ss), fs, allOK, 3000, false)
	if got[0] != 0 {
		t.Errorf("loaded server got %d picks, want 0 (all: %v)", got[0], got)
	}
	wantShare(t, got[:4], []int{0, 1, 1, 1}, 0.1)
}

// TestRandomSharesByWeightWhenIdle: with no load to compare, the first draw
// decides, and it is drawn by weight — on the fast path (every server ok,
// after slow start lowered two weights) and on the counting path (most
// servers excluded, so the draws miss).
func TestRandomSharesByWeightWhenIdle(t *testing.T) {
	t.Run("draws", func(t *testing.T) {
		weights := []int{10, 20, 30, 40}
		fs, ss := newServers(weights...)
		p := New(config.AlgoRandom, ss)
		fs[0].weight.Store(5)
		fs[3].weight.Store(80) // above what New saw
		weights[0], weights[3] = 5, 80
		// ±10% is 6σ for the smallest share (3,700 of 100,000).
		wantShare(t, counts(t, p, fs, allOK, 100_000, false), weights, 0.1)
	})
	t.Run("count", func(t *testing.T) {
		weights := make([]int, 64)
		for i := range weights {
			weights[i] = 1
		}
		weights[10], weights[50] = 1, 3
		fs, ss := newServers(weights...)
		got := counts(t, New(config.AlgoRandom, ss), fs, okOnly(10, 50), 40_000, false)
		wantShare(t, []int{got[10], got[50]}, []int{1, 3}, 0.05)
	})
}

// TestRandomCountingPathBalancesLoad: with most servers excluded, the two
// left share the load.
func TestRandomCountingPathBalancesLoad(t *testing.T) {
	weights := make([]int, 64)
	for i := range weights {
		weights[i] = 1
	}
	fs, ss := newServers(weights...)
	got := counts(t, New(config.AlgoRandom, ss), fs, okOnly(10, 50), 2000, true)
	if got[10] != 1000 || got[50] != 1000 {
		t.Errorf("picks of 10 and 50: %d and %d, want 1000 each (load balances them)", got[10], got[50])
	}
}
