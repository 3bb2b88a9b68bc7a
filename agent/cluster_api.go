package agent

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
)

func (n nodeAPI) ConfigVersion(v uint64) (api.ConfigResponse, error) {
	st := n.a.node.State()
	r, ok := st.Revision(v)
	if !ok {
		return api.ConfigResponse{}, fmt.Errorf("%w: config version %d is not in the history (current %d; see tandem config history)", api.ErrNotFound, v, st.Version)
	}
	return api.ConfigResponse{Version: r.Version, Config: r.Config}, nil
}

func (n nodeAPI) History() []api.HistoryEntry {
	st := n.a.node.State()
	out := make([]api.HistoryEntry, 0, len(st.History))
	for _, r := range st.History {
		out = append(out, api.HistoryEntry{Version: r.Version, Time: r.Time, Node: r.Node, Message: r.Message})
	}
	return out
}

func (n nodeAPI) Rollback(ctx context.Context, req api.RollbackRequest) (api.ApplyResponse, error) {
	st, err := n.a.node.Apply(ctx, cluster.Rollback{To: req.To, Expected: req.ExpectedVersion, Node: n.a.cfg.Cluster.Node, Message: req.Message, Time: time.Now().UTC()})
	if err != nil {
		return api.ApplyResponse{}, clusterErrorKind(err)
	}
	return api.ApplyResponse{Version: st.Version}, nil
}

func (n nodeAPI) Join(ctx context.Context, addrs []string) error {
	return clusterErrorKind(n.a.node.Join(ctx, addrs))
}

func (n nodeAPI) Leave(ctx context.Context) error {
	return clusterErrorKind(n.a.node.Leave(ctx))
}

func (n nodeAPI) Remove(ctx context.Context, node string) error {
	if node == "" {
		return fmt.Errorf("%w: want the name of the node to remove", api.ErrBadRequest)
	}
	return clusterErrorKind(n.a.node.Remove(ctx, node))
}

func (n nodeAPI) Recover(ctx context.Context, req api.RecoverRequest) (api.RecoveryPlan, error) {
	var plan cluster.RecoveryPlan
	var err error
	if req.DryRun {
		plan, err = n.a.node.PlanRecovery(ctx, req.Keep)
	} else {
		plan, err = n.a.node.Recover(ctx, req.Keep, req.ExpectDropped)
	}
	if err != nil {
		return api.RecoveryPlan{}, clusterErrorKind(err)
	}
	return api.RecoveryPlan{Voters: plan.Voters, Dropped: plan.Dropped, LastIndex: plan.LastIndex, CommitIndex: plan.CommitIndex,
		AppliedIndex: plan.AppliedIndex, Version: plan.Version, LastContact: plan.LastContact, Risks: plan.Risks}, nil
}

// clusterStatus fills the members, Raft and per-node views of st.
func (n nodeAPI) clusterStatus(st *api.Status) {
	node := n.a.node
	rs := node.Raft()
	st.Raft = &api.RaftStatus{State: rs.State, Leader: rs.Leader, Term: rs.Term, CommitIndex: rs.CommitIndex,
		AppliedIndex: rs.AppliedIndex, LastContact: rs.LastContact, Voters: rs.Voters}
	for _, m := range node.Members() {
		st.Members = append(st.Members, api.Member{Name: m.Name, Addr: m.Addr, Role: m.Role.String(), Status: m.Status.String(),
			Voter: m.Voter, Leader: m.Leader, APIAddr: m.APIAddr, Version: m.Version})
	}
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].Name < st.Members[j].Name })
	st.Deploys = n.Deploys()
	st.VIPs = n.VIPs()
	st.BGP = n.BGP()
	reports := node.State().Reports
	for i := range st.Servers {
		s := &st.Servers[i]
		s.Views = reports[config.ServerKey{Backend: s.Backend, Server: s.Server}]
	}
}

func (n nodeAPI) Deploys() map[string]api.DeployRecord {
	st := n.a.node.State()
	out := make(map[string]api.DeployRecord, len(st.Deploys))
	for b, d := range st.Deploys {
		out[b] = api.DeployRecord{ID: d.ID, Backend: d.Backend, Server: d.Server, Step: d.Step, Host: d.Host, Node: d.Node, Since: d.Since, Done: d.Done}
	}
	return out
}

func (n nodeAPI) RecordDeploy(ctx context.Context, rec api.DeployRecord) error {
	if cfg := n.a.node.State().Config; cfg == nil || cfg.Backend(rec.Backend) == nil {
		return fmt.Errorf("%w: no backend %q", api.ErrNotFound, rec.Backend)
	}
	since := rec.Since
	if since.IsZero() {
		since = time.Now().UTC()
	}
	_, err := n.a.node.Apply(ctx, cluster.DeployProgress{Backend: rec.Backend, Server: rec.Server, Step: rec.Step,
		Node: n.a.cfg.Cluster.Node, Host: rec.Host, ID: rec.ID, Since: since, Done: rec.Done})
	return clusterErrorKind(err)
}
