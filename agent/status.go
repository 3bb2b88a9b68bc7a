package agent

import (
	"context"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

// nodeAPI adapts the agent to api.Node.
type nodeAPI struct{ a *Agent }

func (n nodeAPI) Ready() bool {
	a := n.a
	if !a.servesTraffic() {
		return true
	}
	a.mu.Lock()
	cfg := a.resolved
	a.mu.Unlock()
	if cfg == nil {
		return false
	}
	for _, f := range cfg.Frontends {
		if !a.lb.FrontendReady(f.Name) {
			return false
		}
	}
	return true
}

func (n nodeAPI) Config() api.ConfigResponse {
	v := n.a.store.View()
	return api.ConfigResponse{Version: v.Version, Config: v.Config}
}

func (n nodeAPI) ApplyConfig(ctx context.Context, req api.ApplyRequest) (api.ApplyResponse, error) {
	expected := req.ExpectedVersion
	if expected == 0 { // no check asked: base it on what this node last saw committed
		expected = n.a.store.View().Version
	}
	ver, err := n.a.store.ApplyConfig(ctx, expected, req.Config, req.Message)
	if err != nil {
		return api.ApplyResponse{}, clusterErrorKind(err)
	}
	return api.ApplyResponse{Version: ver}, nil
}

func (n nodeAPI) SetServer(ctx context.Context, key config.ServerKey, req api.ServerRequest) error {
	return clusterErrorKind(n.a.store.SetServer(ctx, key, req.Admin, req.Weight))
}

func (n nodeAPI) Status() api.Status {
	st := n.nodeStatus()
	n.clusterStatus(&st)
	return st
}

// nodeStatus is this node's own part of the status: config, frontends,
// servers with their counters and health.
func (n nodeAPI) nodeStatus() api.Status {
	a := n.a
	v := a.store.View()
	a.mu.Lock()
	cfg, version, cerr := a.resolved, a.version, a.configErr
	a.mu.Unlock()
	st := api.Status{Node: a.cfg.Cluster.Node, Role: a.cfg.Cluster.Role.String(), Version: version, ConfigError: cerr, Quorum: v.Quorum}
	if cfg == nil {
		st.Version = v.Version
		return st
	}
	stats := a.lb.Stats()
	own := a.health.Status()
	desired := desiredServers(cfg, v, a.ownHealth())
	applyAgentWeights(cfg, desired, own) // the weight the agent asked for, as the balancer has it
	fstats := map[string]balancer.FrontendStats{}
	for _, f := range stats.Frontends {
		fstats[f.Name] = f
	}
	for _, f := range cfg.Frontends {
		fs := fstats[f.Name]
		st.Frontends = append(st.Frontends, api.FrontendStatus{
			Name: f.Name, Bind: f.Bind, Mode: f.Mode.String(), Ready: a.lb.FrontendReady(f.Name),
			CurConns: fs.CurConns, TotalConns: uint64(fs.TotalConns), Requests: fs.Requests,
		})
	}
	sstats := map[config.ServerKey]balancer.ServerStats{}
	for _, s := range stats.Servers {
		sstats[s.Key] = s
	}
	for _, b := range cfg.Backends {
		for _, s := range b.Servers {
			key := config.ServerKey{Backend: b.Name, Server: s.Name}
			d := desired[key]
			ss, applied := sstats[key]
			// Admin and Routed say what this node's balancer does now; the
			// replicated state reaches it a moment later (a deploy waits
			// for "drain" here before it counts connections). A server
			// the balancer does not have yet is not routed.
			admin := d.Admin
			if applied {
				admin = ss.Admin
			}
			hs := own[key]
			weight := d.Weight
			if weight < 0 {
				weight = *s.Weight
			}
			st.Servers = append(st.Servers, api.ServerStatus{
				Backend: b.Name, Server: s.Name, Address: s.Address,
				Admin: admin, Weight: weight, Agreed: v.Agreed[key], Own: hs.Health,
				Routed:    applied && ss.Routable,
				LastCheck: hs.LastResult, CheckTime: hs.LastDuration, AgentResult: hs.AgentResult, AgentAdmin: hs.AgentAdmin,
				CurConns: ss.CurConns, InFlight: ss.InFlight, QueueLen: ss.QueueLen,
				TotalConns: uint64(ss.TotalConns), Requests: ss.Requests, Errors: ss.ConnectErrors + ss.ResponseErrors,
			})
		}
	}
	st.Certificates = certificateStatus(a.lb.Certificates())
	st.ACME = a.acmeStatus()
	return st
}

// certificateStatus groups the certificates served by name.
func certificateStatus(served []balancer.CertificateStats) []api.CertificateStatus {
	var out []api.CertificateStatus
	at := map[string]int{}
	for _, c := range served {
		i, ok := at[c.Name]
		if !ok {
			i = len(out)
			at[c.Name] = i
			out = append(out, api.CertificateStatus{Name: c.Name, NotAfter: c.NotAfter})
		}
		out[i].Frontends = append(out[i].Frontends, c.Frontend)
	}
	return out
}
