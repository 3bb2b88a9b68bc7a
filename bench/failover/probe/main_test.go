package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSummarizeGapsSwitchesAndFailures(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name     string
		outcomes []outcome
		end      time.Duration
		want     Result
	}{
		{
			name: "failover from a to b",
			outcomes: []outcome{
				{done: ms(30), ok: true, server: "b"}, // out of order on purpose
				{done: ms(10), ok: true, server: "a"},
				{done: ms(20), err: "refused"},
				{done: ms(400), ok: true, server: "b"},
				{done: ms(25), err: "refused"},
				{done: ms(300), err: "timeout"},
			},
			end: ms(420),
			want: Result{
				Requests: 6, Failures: 3, LongestGapMS: 370,
				Gaps:      []Gap{{StartMS: 30, MS: 370}},
				Switches:  []Switch{{AtMS: 30, GapMS: 20, From: "a", To: "b"}},
				ByServer:  map[string]int{"a": 1, "b": 2},
				Errors:    map[string]int{"refused": 2, "timeout": 1},
				ElapsedMS: 420,
			},
		},
		{
			name:     "nothing answered",
			outcomes: []outcome{{done: ms(50), err: "timeout"}},
			end:      ms(500),
			want: Result{
				Requests: 1, Failures: 1, LongestGapMS: 500,
				Gaps: []Gap{{StartMS: 0, MS: 500}}, Switches: []Switch{},
				ByServer: map[string]int{}, Errors: map[string]int{"timeout": 1}, ElapsedMS: 500,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(tt.outcomes, tt.end, 100*time.Millisecond)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summarize (-want +got):\n%s", diff)
			}
		})
	}
}
