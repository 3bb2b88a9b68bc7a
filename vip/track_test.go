package vip

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTrackStateRiseFall(t *testing.T) {
	tests := []struct {
		name       string
		rise, fall int
		results    string // '+' success, '-' failure
		want       string // ok after each result: 'U' ok, 'D' failing
	}{
		{"starts one success from ok", 3, 2, "+", "U"},
		{"a failure first needs rise successes", 3, 2, "-+++", "DDDU"},
		{"fall consecutive failures", 1, 3, "+--+---", "UUUUUUD"},
		{"rise consecutive successes", 2, 1, "+-+-++", "UDDDDU"},
		{"rise and fall of 1 flip at once", 1, 1, "+-+-", "UDUD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTrackState(tt.rise, tt.fall)
			var got strings.Builder
			prev := s.ok
			for _, r := range tt.results {
				flipped := s.observe(r == '+')
				if flipped != (s.ok != prev) {
					t.Fatalf("observe reported flipped=%v but ok went %v -> %v", flipped, prev, s.ok)
				}
				prev = s.ok
				if s.ok {
					got.WriteByte('U')
				} else {
					got.WriteByte('D')
				}
			}
			if got.String() != tt.want {
				t.Errorf("states = %s, want %s", got.String(), tt.want)
			}
		})
	}
}

func TestEffectivePriority(t *testing.T) {
	tests := []struct {
		name         string
		base         int
		script       *Script
		ok           bool
		wantPrio     int
		wantEligible bool
	}{
		{"no script", 100, nil, false, 100, true},
		{"weight 0 ok", 100, &Script{}, true, 100, true},
		{"weight 0 failing: ineligible", 100, &Script{}, false, 100, false},
		{"positive weight added while ok", 100, &Script{Weight: 20}, true, 120, true},
		{"positive weight not added while failing", 100, &Script{Weight: 20}, false, 100, true},
		{"negative weight added while failing", 100, &Script{Weight: -30}, false, 70, true},
		{"negative weight not added while ok", 100, &Script{Weight: -30}, true, 100, true},
		{"clamped to 255", 250, &Script{Weight: 20}, true, 255, true},
		{"clamped to 1", 10, &Script{Weight: -50}, false, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prio, eligible := effectivePriority(tt.base, tt.script, tt.ok)
			if prio != tt.wantPrio || eligible != tt.wantEligible {
				t.Errorf("effectivePriority = %d, %v; want %d, %v", prio, eligible, tt.wantPrio, tt.wantEligible)
			}
		})
	}
}

func TestRunShellTimesOut(t *testing.T) {
	start := time.Now()
	_, err := runShell(context.Background(), "sleep 10", nil, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("runShell(sleep 10) = %v, want a timeout error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("runShell took %s, want it bounded by the timeout", d)
	}
}

func TestCheckOnceFeedsTheStateMachine(t *testing.T) {
	flag := t.TempDir() + "/ok"
	m, err := New(Config{Node: "a", Interface: "eth0",
		TrackScript: &Script{Command: "test -e " + flag, Rise: 1, Fall: 2}}, Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	step := func() {
		m.checkOnce(context.Background())
		m.mu.Lock()
		got = append(got, m.track.ok)
		m.mu.Unlock()
	}
	step() // no file: fails
	writeFile(t, flag, "")
	step() // passes: ok
	removeFile(t, flag)
	step() // first failure: still ok (fall 2)
	step() // second failure: failing
	if diff := cmp.Diff([]bool{false, true, true, false}, got); diff != "" {
		t.Errorf("track ok after each check (-want +got):\n%s", diff)
	}
}
