package cluster

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkApplyPropagation measures, on 3 nodes over loopback with the
// key-derived TLS, the time from Apply on a follower until all three nodes'
// State() show the new version.
func BenchmarkApplyPropagation(b *testing.B) {
	nodes := startCluster(b, 3, testKey)
	_, followers := leaderOf(b, nodes)
	subs := make([]<-chan struct{}, len(nodes))
	for i, n := range nodes {
		ch, cancel := n.Subscribe()
		b.Cleanup(cancel)
		subs[i] = ch
	}
	cfg := testConfig("s1", "s2")
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		st, err := followers[0].Apply(ctx, ApplyConfig{Expected: uint64(i), Config: cfg, Node: "bench", Time: start.UTC()})
		if err != nil {
			b.Fatal(err)
		}
		for j, n := range nodes {
			for n.State().Version < st.Version {
				select {
				case <-subs[j]:
				case <-time.After(5 * time.Second):
					b.Fatalf("%s did not reach version %d", n.cfg.Node, st.Version)
				}
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
