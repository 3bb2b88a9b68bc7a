package cluster

import (
	"testing"

	"github.com/tandem-lb/tandem/config"
)

func TestAgreePolicies(t *testing.T) {
	const (
		up   = config.HealthUp
		down = config.HealthDown
		nolb = config.HealthNoLB
	)
	tests := []struct {
		views                []config.Health
		majority, anyP, allP config.Health
	}{
		{nil, up, up, up},
		{[]config.Health{up}, up, up, up},
		{[]config.Health{down}, down, down, down},
		{[]config.Health{up, down}, up, down, up},
		{[]config.Health{down, down}, down, down, down},
		{[]config.Health{up, down, down}, down, down, up},
		{[]config.Health{up, up, down}, up, down, up},
		{[]config.Health{nolb, up}, up, nolb, up},
		{[]config.Health{nolb, nolb, up}, nolb, nolb, up},
		{[]config.Health{nolb, down, up}, nolb, down, up},
		{[]config.Health{nolb, down}, nolb, down, nolb},
	}
	for _, tc := range tests {
		for _, p := range []struct {
			policy config.HealthPolicy
			want   config.Health
		}{{config.PolicyMajority, tc.majority}, {config.PolicyAny, tc.anyP}, {config.PolicyAll, tc.allP}} {
			if got := agree(p.policy, tc.views); got != p.want {
				t.Errorf("%v of %v: got %v, want %v", p.policy, tc.views, got, p.want)
			}
		}
	}
}

// Only live LB nodes count: a dead node's stale "down" and a witness's
// report must not decide a server's health.
func TestAgreementCountsOnlyLiveVoters(t *testing.T) {
	tests := []struct {
		name   string
		policy config.HealthPolicy
		nodes  map[string]NodeState
		want   config.Health
	}{
		{"majority, all live", config.PolicyMajority, map[string]NodeState{"a": {Live: true}, "b": {Live: true}, "c": {Live: true}}, config.HealthDown},
		{"majority, a down-reporter dead", config.PolicyMajority, map[string]NodeState{"a": {Live: true}, "b": {Live: false}, "c": {Live: true}}, config.HealthUp},
		{"any, both down-reporters dead", config.PolicyAny, map[string]NodeState{"a": {Live: false}, "b": {Live: false}, "c": {Live: true}}, config.HealthUp},
		{"any, one down-reporter live", config.PolicyAny, map[string]NodeState{"a": {Live: true}, "c": {Live: true}}, config.HealthDown},
		{"all, up-reporter dead", config.PolicyAll, map[string]NodeState{"a": {Live: true}, "b": {Live: true}, "c": {Live: false}}, config.HealthDown},
		{"all, all live", config.PolicyAll, map[string]NodeState{"a": {Live: true}, "b": {Live: true}, "c": {Live: true}}, config.HealthUp},
		{"majority, down-reporters are witnesses", config.PolicyMajority, map[string]NodeState{"a": {Live: true, Role: RoleWitness}, "b": {Live: true, Role: RoleWitness}, "c": {Live: true}}, config.HealthUp},
		{"majority, unknown nodes", config.PolicyMajority, map[string]NodeState{"c": {Live: true}}, config.HealthUp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("s1")
			cfg.Global.HealthPolicy = tc.policy
			s := &State{
				Config:  cfg,
				Nodes:   tc.nodes,
				Reports: map[config.ServerKey]map[string]config.Health{sk("web/s1"): {"a": config.HealthDown, "b": config.HealthDown, "c": config.HealthUp}},
			}
			if got := agreed(s)[sk("web/s1")]; got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
