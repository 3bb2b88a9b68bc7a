package cluster

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
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

// BenchmarkHealthReportLoad: 3 nodes, 500 servers, every node's view of
// every server flapping as fast as the loop can call Observe (each
// iteration flips all 500 on every node). Reported: Raft log entries per
// second (reports are batched per ~200 ms and coalesced, so this stays
// near 3 nodes × 5/s however fast servers flap), the process CPU (all
// three nodes) per wall second, and the observations offered per second.
func BenchmarkHealthReportLoad(b *testing.B) {
	const servers = 500
	nodes := startCluster(b, 3, testKey)
	names := make([]string, servers)
	for i := range names {
		names[i] = fmt.Sprintf("s%03d", i)
	}
	applyTestConfig(b, nodes[0], 0, names...)
	waitVersion(b, nodes, 1)
	views := [2]map[config.ServerKey]config.Health{{}, {}}
	for i, name := range names {
		k := config.ServerKey{Backend: "web", Server: name}
		views[0][k], views[1][k] = config.HealthUp, config.HealthDown
		if i%2 == 1 { // half the servers flap in the opposite phase
			views[0][k], views[1][k] = config.HealthDown, config.HealthUp
		}
	}
	startIndex := nodes[0].Raft().CommitIndex
	cpu0 := processCPU(b)
	start := time.Now()
	rounds := 0
	for b.Loop() {
		for _, n := range nodes {
			n.Observe(views[rounds%2])
		}
		rounds++
		time.Sleep(time.Millisecond) // a flap every ms per server: far beyond any real check interval
	}
	elapsed := time.Since(start)
	time.Sleep(2 * observeBatch) // the last batch
	entries := nodes[0].Raft().CommitIndex - startIndex
	cpu := processCPU(b) - cpu0
	b.ReportMetric(float64(entries)/elapsed.Seconds(), "raft-entries/s")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds()*100, "cpu-%")
	b.ReportMetric(float64(rounds*servers*len(nodes))/elapsed.Seconds(), "observations/s")
	if perSec := float64(entries) / elapsed.Seconds(); elapsed > 2*time.Second && perSec > 3*(float64(time.Second)/float64(observeBatch))*2 {
		b.Errorf("%.0f raft entries/s: reports are not batched (want about %d/s)", perSec, 3*int(time.Second/observeBatch))
	}
}

// processCPU is the user+system CPU time of this process so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
