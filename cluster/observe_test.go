package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

func TestHealthDiffSendsOnlyChangesAndWithdrawals(t *testing.T) {
	const (
		up   = config.HealthUp
		down = config.HealthDown
	)
	tests := []struct {
		name             string
		accepted, latest map[string]config.Health
		want             map[string]config.Health
	}{
		{"nothing accepted yet", nil, map[string]config.Health{"b/a": up}, map[string]config.Health{"b/a": up}},
		{"no change", map[string]config.Health{"b/a": up}, map[string]config.Health{"b/a": up}, map[string]config.Health{}},
		{"one transition", map[string]config.Health{"b/a": up, "b/c": up}, map[string]config.Health{"b/a": down, "b/c": up}, map[string]config.Health{"b/a": down}},
		{"server gone", map[string]config.Health{"b/a": up}, map[string]config.Health{}, map[string]config.Health{"b/a": config.HealthUnknown}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, healthDiff(tc.accepted, tc.latest)); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}
