package policy

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-lb/tandem/config"
)

const hashKeys = 100_000

// mapping is the server chosen for each of the keys 0..hashKeys-1.
func mapping(p Policy, ok func(int) bool) []int {
	m := make([]int, hashKeys)
	for k := range m {
		m[k] = p.Pick(uint64(k), ok)
	}
	return m
}

// moved counts the keys whose server differs between a and b, and those of
// them that were not on server from.
func moved(a, b []int, from int) (n, stray int) {
	for k := range a {
		if a[k] != b[k] {
			n++
			if a[k] != from {
				stray++
			}
		}
	}
	return n, stray
}

// TestHashMovesOnlyTheLostServersKeys is consistent hashing's point: taking
// 1 of 5 servers out moves only its ~20% of the keys, and they come back.
func TestHashMovesOnlyTheLostServersKeys(t *testing.T) {
	tests := []struct {
		algo    config.Algorithm
		weights []int
		out     int
	}{
		{config.AlgoSource, []int{1, 1, 1, 1, 1}, 2},
		{config.AlgoURI, []int{1, 1, 1, 1, 1}, 0},
		{config.AlgoSource, []int{10, 20, 30, 40, 100}, 1}, // 10% of the weight
	}
	for _, tt := range tests {
		t.Run(algoName(tt.algo), func(t *testing.T) {
			_, ss := newServers(tt.weights...)
			p := New(tt.algo, ss)
			before := mapping(p, allOK)
			during := mapping(p, okExcept(tt.out))

			total := 0
			for _, w := range tt.weights {
				total += w
			}
			share := float64(tt.weights[tt.out]) / float64(total)
			n, stray := moved(before, during, tt.out)
			if stray != 0 {
				t.Errorf("%d keys moved that were not on server %d", stray, tt.out)
			}
			if got := float64(n) / hashKeys; got < share*0.9 || got > share*1.1 {
				t.Errorf("moved %.1f%% of keys, want %.1f%% ±10%%", got*100, share*100)
			}
			if after := mapping(p, allOK); !slices.Equal(before, after) {
				t.Errorf("keys did not return when server %d came back (-before +after):\n%.500s", tt.out, cmp.Diff(before, after))
			}
		})
	}
}

// TestHashWeightChangeMovesOnlyThatServersKeys: slow start ramping one
// server up takes keys only onto it.
func TestHashWeightChangeMovesOnlyThatServersKeys(t *testing.T) {
	fs, ss := newServers(4, 4, 4, 4)
	fs[3].weight.Store(1)
	p := New(config.AlgoSource, ss)
	before := mapping(p, allOK)
	fs[3].weight.Store(4)
	after := mapping(p, allOK)
	for k := range before {
		if before[k] != after[k] && after[k] != 3 {
			t.Fatalf("key %d moved from %d to %d, want moves only onto 3", k, before[k], after[k])
		}
	}
	c := make([]int, 5)
	for _, i := range after {
		c[i]++
	}
	wantShare(t, c, []int{1, 1, 1, 1}, 0.1)
}

// TestHashNamedServersSurviveRebuild: with Named servers, removing a server
// from the configuration (a new slice, shifted indexes) moves only its keys.
func TestHashNamedServersSurviveRebuild(t *testing.T) {
	fs, _ := newServers(1, 1, 1, 1, 1)
	named := make([]Server, len(fs))
	for i, f := range fs {
		named[i] = namedServer{f}
	}
	before := mapping(New(config.AlgoURI, named), allOK)
	without := append(append([]Server{}, named[:1]...), named[2:]...) // b removed
	after := mapping(New(config.AlgoURI, without), allOK)
	n := 0
	for k := range before {
		was, now := fs[before[k]].name, without[after[k]].(namedServer).name
		if was != now {
			n++
			if was != "b" {
				t.Fatalf("key %d moved from %s to %s, want moves only off b", k, was, now)
			}
		}
	}
	if got := float64(n) / hashKeys; got < 0.18 || got > 0.22 {
		t.Errorf("moved %.1f%% of keys, want ~20%%", got*100)
	}
}

// TestHashIsDeterministic: two policies built from equal inputs (as on two
// LB nodes) map every key the same way.
func TestHashIsDeterministic(t *testing.T) {
	_, a := newServers(1, 2, 3)
	_, b := newServers(1, 2, 3)
	ma, mb := mapping(New(config.AlgoSource, a), allOK), mapping(New(config.AlgoSource, b), allOK)
	if !slices.Equal(ma, mb) {
		t.Errorf("mappings differ:\n%.500s", cmp.Diff(ma, mb))
	}
}
