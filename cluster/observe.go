package cluster

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-lb/tandem/config"
)

const (
	// observeBatch coalesces health transitions into one Raft entry.
	observeBatch = 200 * time.Millisecond
	// observeResync is how often a node re-sends its whole view, so that the
	// cluster heals from any report it missed.
	observeResync = 30 * time.Second
	// observeRetry is the pause after a failed report.
	observeRetry      = time.Second
	observeApplyLimit = 5 * time.Second
)

// observer holds this node's latest health view until runObserve reports it.
type observer struct {
	mu     sync.Mutex
	latest map[config.ServerKey]config.Health // nil until the first Observe
	kick   chan struct{}                      // cap 1
	resync atomic.Bool                        // the next report must be full
}

func (o *observer) init() {
	o.kick = make(chan struct{}, 1)
	o.resync.Store(true)
}

func (o *observer) wake() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// leaderChanged asks for a full report to the new leader.
func (o *observer) leaderChanged() {
	o.resync.Store(true)
	o.wake()
}

// Observe hands over this node's whole current health view (level
// triggered). It never blocks: the view is reported in the background —
// only what changed since the last accepted report, batched every
// ~200 ms, plus the whole view every 30 s and after a new leader appears.
// While there is no quorum nothing is reported; the next full report
// catches up.
func (n *Node) Observe(obs map[config.ServerKey]config.Health) {
	m := maps.Clone(obs)
	n.obs.mu.Lock()
	n.obs.latest = m
	n.obs.mu.Unlock()
	n.obs.wake()
}

// healthDiff returns what changed from accepted to latest; a server no
// longer observed maps to HealthUnknown, which withdraws the report.
func healthDiff(accepted, latest map[config.ServerKey]config.Health) map[config.ServerKey]config.Health {
	diff := map[config.ServerKey]config.Health{}
	for k, h := range latest {
		if old, ok := accepted[k]; !ok || old != h {
			diff[k] = h
		}
	}
	for k := range accepted {
		if _, ok := latest[k]; !ok {
			diff[k] = config.HealthUnknown
		}
	}
	return diff
}

// runObserve reports health views until ctx ends.
func (n *Node) runObserve(ctx context.Context, rt *running) {
	tick := time.NewTicker(observeResync)
	defer tick.Stop()
	var (
		accepted map[config.ServerKey]config.Health // what the cluster holds from this node
		retry    <-chan time.Time
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.obs.kick:
		case <-tick.C:
			n.obs.resync.Store(true)
		case <-retry:
		}
		retry = nil
		select { // let a burst of transitions coalesce
		case <-ctx.Done():
			return
		case <-time.After(observeBatch):
		}
		next, err := n.reportOnce(ctx, rt, accepted)
		if err != nil {
			n.logger.Debug("report health: "+err.Error(), "err", err)
			retry = time.After(observeRetry)
			continue
		}
		accepted = next
	}
}

// reportOnce sends the difference between the latest view and accepted
// (or the whole view when a resync is due) and returns what the cluster
// now holds.
func (n *Node) reportOnce(ctx context.Context, rt *running, accepted map[config.ServerKey]config.Health) (map[config.ServerKey]config.Health, error) {
	n.obs.mu.Lock()
	latest := n.obs.latest
	n.obs.mu.Unlock()
	if latest == nil {
		return accepted, nil
	}
	if _, leader := rt.raft.LeaderWithID(); leader == "" {
		n.obs.resync.Store(true) // no quorum: a new leader brings a full report
		return accepted, nil
	}
	full := n.obs.resync.Swap(false)
	obs := latest
	if !full {
		if obs = healthDiff(accepted, latest); len(obs) == 0 {
			return accepted, nil
		}
	}
	cmd := ReportHealth{Node: n.cfg.Node, Full: full, Obs: obs, Time: time.Now().UTC()}
	ctx, cancel := context.WithTimeout(ctx, observeApplyLimit)
	defer cancel()
	if _, err := n.Apply(ctx, cmd); err != nil {
		n.obs.resync.Store(true) // the outcome is unknown: send everything next time
		return accepted, err
	}
	return maps.Clone(latest), nil
}
