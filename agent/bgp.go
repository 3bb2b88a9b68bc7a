package agent

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/vip"
	"github.com/tandem-lb/tandem/vip/bgp"
)

// bgpEnabled: an LB node with BGP peers announces its BGP VIPs.
func (a *Agent) bgpEnabled() bool { return a.bgp != nil }

// newBGP builds the speaker when the node has BGP peers (never on a
// witness).
func (a *Agent) newBGP(cfg *bgp.Config) error {
	if cfg == nil || a.cfg.Cluster.Role == cluster.RoleWitness {
		return nil
	}
	c := *cfg
	c.Node = a.cfg.Cluster.Node
	if c.Priority == nil {
		c.Priority = a.cfg.VIP.Priority
	}
	if c.TrackInterfaces == nil {
		c.TrackInterfaces = a.cfg.VIP.TrackInterfaces
	}
	if c.TrackScript == nil {
		c.TrackScript = a.cfg.VIP.TrackScript
	}
	s, err := bgp.New(c, bgp.Deps{Logger: a.logger})
	if err != nil {
		return fmt.Errorf("bgp: %w", err)
	}
	a.bgp = s
	return nil
}

// arpVIPs are the VIPs the vip.Manager moves: all but announce: bgp.
func arpVIPs(vips []config.VIP) []config.VIP {
	out := make([]config.VIP, 0, len(vips))
	for _, v := range vips {
		if !v.IsBGP() {
			out = append(out, v)
		}
	}
	return out
}

// bgpView turns the gossip membership into the speaker's view.
func (a *Agent) bgpView() bgp.View {
	v := bgp.View{Voters: a.node.Raft().Voters}
	for _, m := range a.node.Members() {
		claims, err := bgp.DecodeMeta(m.Meta)
		if err != nil {
			a.logger.Debug("ignore undecodable bgp meta", "node", m.Name, "err", err)
		}
		v.Members = append(v.Members, bgp.Member{
			Name:   m.Name,
			Alive:  m.Status == cluster.StatusAlive || m.Status == cluster.StatusSuspect,
			Role:   m.Role.String(),
			Claims: claims,
		})
	}
	return v
}

// syncBGP hands the speaker the VIPs, the frontends' readiness and the
// membership view.
func (a *Agent) syncBGP() {
	cfg := a.bgpConfig()
	if cfg != nil {
		a.bgp.Update(cfg.VIPs)
		ready := make(map[string]bool, len(cfg.Frontends))
		for _, f := range cfg.Frontends {
			ready[f.Name] = a.lb.FrontendReady(f.Name)
		}
		a.bgp.SetReady(ready)
	}
	a.bgp.SetView(a.bgpView())
}

// publishMeta gossips the VIP manager's and the BGP speaker's meta.
func (a *Agent) publishMeta() {
	meta := map[string]string{}
	if a.vipEnabled() {
		maps.Copy(meta, vip.EncodeMeta(a.vips.LocalMeta()))
	}
	if a.bgpEnabled() {
		maps.Copy(meta, a.bgp.LocalMeta())
	}
	if err := a.node.SetMeta(meta); err != nil {
		a.logger.Warn("gossip vip state", "err", err)
	}
}

// runBGPSync keeps the speaker's inputs fresh, like runVIPSync.
func (a *Agent) runBGPSync(ctx context.Context) error {
	changes, cancel := a.node.Subscribe()
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.bgp.Changed():
			a.publishMeta()
		case <-changes:
		case <-tick.C:
		}
		a.syncBGP()
	}
}

// shutdownBGP withdraws the BGP VIPs (GRACEFUL_SHUTDOWN first) before the
// listeners close: routers move new flows to the other nodes while this
// one still answers.
func (a *Agent) shutdownBGP() {
	if !a.bgpEnabled() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.bgpShutdownBound())
	defer cancel()
	if err := a.bgp.Shutdown(ctx); err != nil {
		a.logger.Warn("withdraw bgp vips", "err", err)
	}
	// The routers' kernels follow the withdrawal within a few ms; give
	// them a moment before the listeners close.
	time.Sleep(300 * time.Millisecond)
}

func (a *Agent) bgpShutdownBound() time.Duration {
	if a.cfg.BGP != nil && a.cfg.BGP.ShutdownWait > 0 {
		return a.cfg.BGP.ShutdownWait + 3*time.Second
	}
	return config.DefaultBGPShutdownWait + 3*time.Second
}

func (n nodeAPI) BGP() *api.BGPStatus {
	if !n.a.bgpEnabled() {
		return nil
	}
	return bgpStatus(n.a.bgp.Status())
}

func bgpStatus(s bgp.Status) *api.BGPStatus {
	out := &api.BGPStatus{ASN: s.ASN, RouterID: s.RouterID}
	for _, ss := range s.Sessions {
		bs := api.BGPSession{Peer: ss.Peer, ASN: ss.ASN, State: ss.State, PrefixesSent: ss.PrefixesSent}
		if !ss.Since.IsZero() {
			since := ss.Since
			bs.Since = &since
			bs.UptimeSeconds = time.Since(since).Seconds()
		}
		out.Sessions = append(out.Sessions, bs)
	}
	for _, v := range s.VIPs {
		out.VIPs = append(out.VIPs, api.BGPVIP{Name: v.Name, Prefix: v.Address, Mode: v.Mode, Announcing: v.Announcing,
			State: v.State, Reason: v.Reason, Holder: v.Holder, Announcers: v.Announcers, Error: v.Error})
	}
	return out
}

// bgpVIPs are the BGP VIPs in the shape of `tandem vip status`: Nodes
// are the announcing nodes.
func (n nodeAPI) bgpVIPs() []api.VIPStatus {
	var out []api.VIPStatus
	if !n.a.bgpEnabled() {
		cfg := n.a.bgpConfig()
		if cfg == nil || !n.a.servesTraffic() {
			return nil
		}
		for _, v := range cfg.VIPs {
			if v.IsBGP() {
				out = append(out, api.VIPStatus{Name: v.Name, Address: v.Address, Announce: config.AnnounceBGP, Mode: v.BGPMode(),
					State: "fault", Reason: "announce: bgp, but this node has no BGP peers: set bgp_asn and bgp_peers"})
			}
		}
		return out
	}
	for _, v := range n.a.bgp.Status().VIPs {
		vs := api.VIPStatus{Name: v.Name, Address: v.Address, State: v.State, Reason: v.Reason,
			Announce: config.AnnounceBGP, Mode: v.Mode, Holder: v.Holder}
		if v.Mode != config.BGPModePrimary {
			vs.Holder = strings.Join(v.Announcers, ",")
		}
		for _, name := range v.Announcers {
			vs.Nodes = append(vs.Nodes, api.VIPNode{Name: name, Alive: true, Eligible: true, Holding: true})
		}
		out = append(out, vs)
	}
	return out
}

// bgpConfig is the config being served, or else the committed one this
// node could not serve (a frontend cannot bind): its BGP VIPs are then
// shown withdrawn, because their frontends are not ready.
func (a *Agent) bgpConfig() *config.Cluster {
	a.mu.Lock()
	cfg := a.resolved
	a.mu.Unlock()
	if cfg == nil {
		if v := a.store.View(); v.Config != nil {
			cfg = v.Config.Resolve()
		} else if c := a.provisionalConfig(); c != nil {
			cfg = c.Resolve()
		}
	}
	return cfg
}
