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
		accepted, latest map[config.ServerKey]config.Health
		want             map[config.ServerKey]config.Health
	}{
		{"nothing accepted yet", nil, map[config.ServerKey]config.Health{sk("b/a"): up}, map[config.ServerKey]config.Health{sk("b/a"): up}},
		{"no change", map[config.ServerKey]config.Health{sk("b/a"): up}, map[config.ServerKey]config.Health{sk("b/a"): up}, map[config.ServerKey]config.Health{}},
		{"one transition", map[config.ServerKey]config.Health{sk("b/a"): up, sk("b/c"): up}, map[config.ServerKey]config.Health{sk("b/a"): down, sk("b/c"): up}, map[config.ServerKey]config.Health{sk("b/a"): down}},
		{"server gone", map[config.ServerKey]config.Health{sk("b/a"): up}, map[config.ServerKey]config.Health{}, map[config.ServerKey]config.Health{sk("b/a"): config.HealthUnknown}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, healthDiff(tc.accepted, tc.latest)); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}
