package agent

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-lb/tandem/acme"
	"github.com/tandem-lb/tandem/api"
)

// acmeParts are the ACME certificate manager of an LB node and the
// answers its balancer gives the CA's challenges, both on the replicated
// state. The manager runs with the balancer (Run) and stops before the
// cluster does.
type acmeParts struct {
	manager *acme.Manager // nil on a witness, or without a cluster key
	answers *acme.Answers
	// unavailable says why this node runs no manager (shown in the status
	// while the config has an acme section).
	unavailable string
}

// newACME sets the ACME parts up; it starts nothing.
func (a *Agent) newACME(logger *slog.Logger) {
	a.acme.answers = acme.NewAnswers(a.node.State)
	if !a.servesTraffic() {
		return
	}
	cfg := a.cfg.ACME
	cfg.Node, cfg.ClusterKey = a.cfg.Cluster.Node, a.cfg.Cluster.ClusterKey
	m, err := acme.New(cfg, a.node, acme.Deps{Logger: logger})
	if err != nil {
		a.acme.unavailable = err.Error()
		return
	}
	a.acme.manager = m
}

// acmeStatus is the state of every ACME name on this node.
func (a *Agent) acmeStatus() []api.ACMEStatus {
	c := a.node.State().Config
	if c == nil || c.ACME == nil {
		return nil
	}
	if a.acme.manager == nil {
		if a.acme.unavailable == "" {
			return nil // a witness: the LB nodes order
		}
		out := make([]api.ACMEStatus, len(c.ACME.Names))
		for i, n := range c.ACME.Names {
			out[i] = api.ACMEStatus{Name: n, Error: "this node orders no certificate: " + a.acme.unavailable}
		}
		return out
	}
	var out []api.ACMEStatus
	for _, s := range a.acme.manager.Status() {
		out = append(out, api.ACMEStatus{Name: s.Name, NotAfter: s.NotAfter, Serial: s.Serial, Error: s.Error,
			ErrorTime: s.ErrorTime, Failures: s.Failures, NextCheck: s.NextCheck, Ordering: acme.OrderingNode(a.node.State(), s.Name)})
	}
	return out
}

// acmeCollector exports the ACME manager's state at scrape time:
// tandem_acme_failures{name} (failed orders or renewals in a row, 0 when
// the last one succeeded) and tandem_acme_challenges_answered_total{type}
// (challenges this node answered for any node's order).
type acmeCollector struct{ a *Agent }

var (
	acmeFailuresDesc = prometheus.NewDesc("tandem_acme_failures", "Failed ACME orders or renewals of a name in a row on this node (0: the last one succeeded).", []string{"name"}, nil)
	acmeAnsweredDesc = prometheus.NewDesc("tandem_acme_challenges_answered_total", "ACME challenges this node answered from the replicated state, by type.", []string{"type"}, nil)
)

func (acmeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- acmeFailuresDesc
	ch <- acmeAnsweredDesc
}

func (c acmeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.a.acmeStatus() {
		ch <- prometheus.MustNewConstMetric(acmeFailuresDesc, prometheus.GaugeValue, float64(s.Failures), s.Name)
	}
	http01, alpn := c.a.acme.answers.Answered()
	ch <- prometheus.MustNewConstMetric(acmeAnsweredDesc, prometheus.CounterValue, float64(http01), "http-01")
	ch <- prometheus.MustNewConstMetric(acmeAnsweredDesc, prometheus.CounterValue, float64(alpn), "tls-alpn-01")
}
