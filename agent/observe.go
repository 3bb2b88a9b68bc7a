package agent

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tandem-lb/tandem/api"
)

// observe adds the dashboard (GET /, /dashboard/panels) and Prometheus
// metrics (GET /metrics, registered on reg; nil: a new registry with the
// Go runtime and process collectors) to the admin API. The panels and
// /metrics need the API token when one is set, like every other read.
func (a *Agent) observe(reg *prometheus.Registry) error {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	status := nodeAPI{a}
	if err := reg.Register(api.NewCollector(status, a.lb)); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	if err := reg.Register(acmeCollector{a}); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	d, err := api.NewDashboard(status, a.ops.counters)
	if err != nil {
		return err
	}
	d.Register(a.api)
	a.api.Handle("GET /metrics", api.MetricsHandler(reg), true)
	return nil
}
