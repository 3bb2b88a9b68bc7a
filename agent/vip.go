package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/vip"
)

// vipEnabled: an LB node with a VIP interface moves VIPs.
func (a *Agent) vipEnabled() bool { return a.vips != nil }

// vipView turns the gossip membership into the VIP manager's plain view.
func (a *Agent) vipView() vip.View {
	members := a.node.Members()
	v := vip.View{Voters: a.node.Raft().Voters}
	for _, m := range members {
		meta, err := vip.DecodeMeta(m.Meta)
		if err != nil {
			a.logger.Debug("ignore undecodable vip meta", "node", m.Name, "err", err)
		}
		v.Members = append(v.Members, vip.Member{
			Name:  m.Name,
			Alive: m.Status == cluster.StatusAlive || m.Status == cluster.StatusSuspect,
			Role:  m.Role.String(),
			Meta:  meta,
		})
	}
	return v
}

// syncVIPs hands the VIP manager the config's VIPs, the membership view and
// this node's frontend readiness.
func (a *Agent) syncVIPs() {
	if !a.vipEnabled() {
		return
	}
	a.mu.Lock()
	cfg := a.resolved
	a.mu.Unlock()
	if cfg != nil {
		a.vips.Update(arpVIPs(cfg.VIPs))
		ready := make(map[string]bool, len(cfg.Frontends))
		for _, f := range cfg.Frontends {
			ready[f.Name] = a.lb.FrontendReady(f.Name)
		}
		a.vips.SetReady(ready)
	}
	a.vips.SetView(a.vipView())
}

// publishVIPMeta gossips the VIP manager's local meta.
func (a *Agent) publishVIPMeta() { a.publishMeta() }

// runVIPSync keeps the VIP manager's view fresh: on every membership or
// state change, on every change of its own meta, and every 500 ms (the
// manager recovers from fencing only on a fresh view).
func (a *Agent) runVIPSync(ctx context.Context) error {
	changes, cancel := a.node.Subscribe()
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.vips.Changed():
			a.publishVIPMeta()
		case <-changes:
		case <-tick.C:
		}
		a.syncVIPs()
	}
}

// handOverVIPs lets the next holder announce before this node lets go
// (planned stop): new connections then reach the new holder while this
// node drains the ones it has.
func (a *Agent) handOverVIPs(timeout time.Duration) {
	if !a.vipEnabled() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := a.vips.Release(ctx, ""); err != nil {
		a.logger.Warn("hand over vips", "err", err)
	}
}

func (n nodeAPI) VIPs() []api.VIPStatus {
	out := n.bgpVIPs()
	if !n.a.vipEnabled() {
		return out
	}
	for _, s := range n.a.vips.Status() {
		vs := api.VIPStatus{Name: s.VIP, Address: s.Address, Holder: s.Holder, State: s.State.String(), Reason: s.Reason}
		for _, nd := range s.Nodes {
			vs.Nodes = append(vs.Nodes, api.VIPNode{Name: nd.Name, Alive: nd.Alive, Priority: nd.Priority, Eligible: nd.Eligible, Holding: nd.Holding})
		}
		for _, t := range s.Transitions {
			vs.Transitions = append(vs.Transitions, api.VIPTransition{Time: t.Time, From: t.From.String(), To: t.To.String(), Reason: t.Reason})
		}
		out = append(out, vs)
	}
	return out
}

func (n nodeAPI) ReleaseVIP(ctx context.Context, name string) error {
	if err := n.checkVIP(name); err != nil {
		return err
	}
	if n.a.bgpEnabled() {
		n.a.bgp.Release(name)
	}
	if !n.a.vipEnabled() {
		return nil
	}
	return n.a.vips.Release(ctx, name)
}

func (n nodeAPI) ReclaimVIP(name string) error {
	if err := n.checkVIP(name); err != nil {
		return err
	}
	if n.a.bgpEnabled() {
		n.a.bgp.Reclaim(name)
	}
	if !n.a.vipEnabled() {
		return nil
	}
	n.a.vips.Reclaim(name)
	return nil
}

func (n nodeAPI) checkVIP(name string) error {
	if !n.a.vipEnabled() && !n.a.bgpEnabled() {
		return fmt.Errorf("%w: this node moves no VIP (set vip_interface or bgp_peers)", api.ErrBadRequest)
	}
	if name == "" {
		return nil
	}
	if cfg := n.a.node.State().Config; cfg != nil {
		for _, v := range cfg.VIPs {
			if v.Name == name {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: no vip %q in the cluster config", api.ErrNotFound, name)
}
