package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Raft timing: hashicorp/raft's defaults (a follower starts an election
// after 1 s without a heartbeat; a leader steps down after 500 ms without
// reaching a quorum). Raft only carries writes; traffic failover rides on
// gossip, so robustness against CPU stalls is worth more here than speed.
// CommitTimeout bounds how long a follower may wait to learn a new commit
// index: it is the main term of write propagation latency (default 50 ms).
const (
	raftHeartbeatTimeout = time.Second
	raftElectionTimeout  = time.Second
	raftLeaseTimeout     = 500 * time.Millisecond
	raftCommitTimeout    = 10 * time.Millisecond
	raftRetainSnapshots  = 2
	raftTransportTimeout = 10 * time.Second
	reconcileInterval    = 5 * time.Second
	barrierTimeout       = time.Minute
)

// Run opens the stores, starts Raft and gossip, bootstraps a new cluster
// when this node has no Raft state and nothing to join, joins cfg.Join
// (retrying with backoff while ctx lives) and serves until ctx is
// cancelled. Then it shuts down in order — leadership transfer if leader,
// gossip Leave and Shutdown, Raft Shutdown, close the stores — and returns
// once every goroutine it started has exited. A forced recovery
// (recovery.go) restarts Raft and gossip inside Run.
func (n *Node) Run(ctx context.Context) error {
	if !n.started.CompareAndSwap(false, true) {
		return errors.New("cluster: Run called twice")
	}
	var recovered *raft.Configuration
	for first := true; ; first = false {
		rt, closeStores, err := n.start(recovered)
		if err == nil {
			// Before up is closed: running() reads rt once up is closed,
			// and a Join that came in while Run started found nil there
			// ("this node is not running") in a CI run.
			n.rt.Store(rt)
		}
		if first {
			n.startErr = err
			close(n.up)
		}
		if err != nil {
			return err
		}
		// startGossip took the meta before rt was visible: a SetMeta in
		// between only reached n.extra. Re-gossip it (runObserver does),
		// or peers would keep this node's first meta until it changes
		// again: a restarted VIP holder stayed "priority 0, ineligible"
		// to its peer, and both held the VIP.
		n.kickMeta()
		recovered = n.serve(ctx, rt)
		n.rt.Store(nil)
		if err := closeStores(); err != nil || recovered == nil {
			return err
		}
	}
}

// serve runs the node's loops until ctx ends (then shuts down gracefully
// and returns nil) or a forced recovery is decided (then stops like a
// crash and returns the configuration to recover to).
func (n *Node) serve(ctx context.Context, rt *running) *raft.Configuration {
	loopCtx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	persistStop := make(chan struct{})
	var persistWG, wg sync.WaitGroup
	persistWG.Add(1)
	go func() { defer persistWG.Done(); n.runPersist(rt, persistStop) }()
	muxDone := make(chan struct{})
	go func() { defer close(muxDone); rt.mux.serve() }()
	loops := []func(context.Context, *running){n.runLeaderLoop, n.runObserver, n.runJoin, n.runRejoin, n.runObserve, n.runRecovery,
		func(ctx context.Context, rt *running) { rt.live.run(ctx) }}
	for _, loop := range loops {
		wg.Add(1)
		go func() { defer wg.Done(); loop(loopCtx, rt) }()
	}

	var recovered *raft.Configuration
	select {
	case <-ctx.Done():
		n.logger.Info("shutting down")
	case c := <-rt.recoverCh:
		recovered = &c
	}
	graceful := !n.crash && recovered == nil // tests stop like a killed process would
	if graceful {
		rt.live.bye() // first: the connections that close from now on are no crash
	}
	if graceful && rt.raft.State() == raft.Leader && n.Raft().Voters > 1 {
		if err := rt.raft.LeadershipTransfer().Error(); err != nil {
			n.logger.Warn("transfer leadership: "+err.Error(), "err", err)
		}
	}
	stopLoops()
	wg.Wait()
	if graceful {
		if err := rt.gossip.leave(time.Second); err != nil {
			n.logger.Warn("gossip leave: "+err.Error(), "err", err)
		}
	}
	if err := rt.gossip.ml.Shutdown(); err != nil {
		n.logger.Warn("gossip shutdown: "+err.Error(), "err", err)
	}
	if err := rt.raft.Shutdown().Error(); err != nil {
		n.logger.Warn("raft shutdown: "+err.Error(), "err", err)
	}
	if err := rt.transport.Close(); err != nil {
		n.logger.Warn("close raft transport: "+err.Error(), "err", err)
	}
	rt.live.close()
	rt.mux.close()
	<-muxDone
	close(persistStop)
	persistWG.Wait()
	return recovered
}

// start opens everything Run needs; on error it closes what it opened.
// With recover set, it first forces that Raft configuration (recovery.go).
func (n *Node) start(recover *raft.Configuration) (rt *running, closeStores func() error, err error) {
	var cleanup []func() error
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()
	dir := filepath.Join(n.cfg.DataDir, "raft")
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: open raft store %s: %w (is another tandem using this data_dir?)", filepath.Join(dir, "raft.db"), err)
	}
	cleanup = append(cleanup, store.Close)
	raftLogger := newRaftLogger(n.logger.With("component", "raft"))
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, raftRetainSnapshots, raftLogger)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: open snapshot store: %w", err)
	}
	existing, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: read raft state: %w", err)
	}
	if !existing && n.State().Index > 0 {
		// A cache without a Raft log belongs to a cluster this node no
		// longer has: it must not shadow the new cluster's state.
		n.logger.Warn("discard cached state: the raft log it came from is gone", "index", n.State().Index)
		n.stateMu.Lock()
		n.visible.Store(n.fsm.current())
		n.stateMu.Unlock()
		n.diskIndex = 0 // overwrite it with the new cluster's state
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(n.cfg.BindAddr, strconv.Itoa(n.cfg.RaftPort)))
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: listen on raft port: %w", err)
	}
	cleanup = append(cleanup, ln.Close)
	n.metaMu.Lock()
	n.cfg.RaftPort = ln.Addr().(*net.TCPAddr).Port
	n.metaMu.Unlock()
	rt = &running{
		raftAddr:  net.JoinHostPort(n.advertise, strconv.Itoa(n.cfg.RaftPort)),
		notifyCh:  make(chan bool, 8),
		kick:      make(chan struct{}, 1),
		peersCh:   make(chan struct{}, 1),
		recoverCh: make(chan raft.Configuration, 1),
	}
	rt.mux = newMux(ln, tcpAddr(rt.raftAddr), n.tls, n.logger.With("component", "raft"), func(kind byte, c net.Conn) {
		if kind == connLive {
			rt.live.serve(c)
			return
		}
		n.serveConn(rt, kind, c)
	})
	transport := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: raftLayer{rt.mux}, MaxPool: 3, Timeout: raftTransportTimeout, Logger: raftLogger,
	})
	cleanup = append(cleanup, transport.Close)
	rt.transport = transport

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.Node)
	rc.Logger = raftLogger
	rc.NotifyCh = rt.notifyCh
	rc.HeartbeatTimeout = raftHeartbeatTimeout
	rc.ElectionTimeout = raftElectionTimeout
	rc.LeaderLeaseTimeout = raftLeaseTimeout
	rc.CommitTimeout = raftCommitTimeout
	if recover != nil {
		// RecoverCluster replays the log into a throwaway FSM and writes a
		// snapshot holding the new configuration; n.fsm restores from it.
		if err := raft.RecoverCluster(rc, newFSM(nil), store, store, snaps, transport, *recover); err != nil {
			return nil, nil, fmt.Errorf("cluster: force the raft configuration: %w", err)
		}
		rt.recovered = true
	}
	r, err := raft.NewRaft(rc, n.fsm, store, store, snaps, transport)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: start raft: %w", err)
	}
	rt.raft = r
	cleanup = append(cleanup, func() error { return r.Shutdown().Error() })
	if !existing && len(n.cfg.Join) == 0 {
		n.logger.Info("bootstrap a new cluster with this node as its only voter")
		boot := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: raft.ServerAddress(rt.raftAddr), Suffrage: raft.Voter}}}
		if err := r.BootstrapCluster(boot).Error(); err != nil {
			return nil, nil, fmt.Errorf("cluster: bootstrap raft: %w", err)
		}
	}

	n.metaMu.Lock()
	n.run = newRunID()
	n.metaMu.Unlock()
	if err := n.startGossip(rt); err != nil {
		return nil, nil, err
	}
	rt.live = newLiveness(liveHello{Node: n.cfg.Node, Run: n.run}, rt.mux, rt.gossip, n.logger)
	return rt, store.Close, nil
}

func (n *Node) startGossip(rt *running) error {
	n.metaMu.Lock()
	meta := n.localMeta()
	n.metaMu.Unlock()
	g, err := newGossip(meta, func() {
		n.subs.notify()
		for _, ch := range []chan struct{}{rt.kick, rt.peersCh} {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = n.cfg.Node
	mc.BindAddr = n.cfg.BindAddr
	mc.BindPort = n.cfg.GossipPort
	mc.AdvertiseAddr = n.advertise
	mc.AdvertisePort = n.cfg.GossipPort
	mc.Delegate = g
	mc.Events = g
	mc.Logger = newMemberlistLogger(n.logger.With("component", "gossip"))
	mc.ProbeInterval = orDefault(n.cfg.ProbeInterval, DefaultProbeInterval)
	mc.ProbeTimeout = orDefault(n.cfg.ProbeTimeout, DefaultProbeTimeout)
	mc.GossipInterval = orDefault(n.cfg.GossipInterval, DefaultGossipInterval)
	mc.SuspicionMult = orDefault(n.cfg.SuspicionMult, DefaultSuspicionMult)
	if len(n.cfg.ClusterKey) > 0 {
		mc.SecretKey = n.cfg.ClusterKey
		mc.GossipVerifyIncoming = true
		mc.GossipVerifyOutgoing = true
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return fmt.Errorf("cluster: start gossip on %s:%d: %w", n.cfg.BindAddr, n.cfg.GossipPort, err)
	}
	g.ml = ml
	rt.gossip = g
	n.metaMu.Lock()
	n.cfg.GossipPort = mc.BindPort // the picked port when it was 0
	n.metaMu.Unlock()
	return nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// runObserver turns Raft leader observations into leaderChanged wakeups
// and a full health resync, and re-gossips the meta when the cluster ID
// changed.
func (n *Node) runObserver(ctx context.Context, rt *running) {
	ch := make(chan raft.Observation, 16)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	rt.raft.RegisterObserver(obs)
	defer rt.raft.DeregisterObserver(obs)
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.metaCh:
			n.refreshMeta(rt)
		case o := <-ch:
			lo := o.Data.(raft.LeaderObservation)
			n.logger.Info("raft leader changed", "leader", string(lo.LeaderID), "term", rt.raft.CurrentTerm())
			n.leaderChanged.notify()
			n.obs.leaderChanged()
			n.subs.notify()
		}
	}
}

// runLeaderLoop drains NotifyCh and runs the leader duties (runLeader)
// while this node leads.
func (n *Node) runLeaderLoop(ctx context.Context, rt *running) {
	var (
		stop func()
		wg   sync.WaitGroup
	)
	stopLeader := func() {
		if stop != nil {
			stop()
			wg.Wait()
			stop = nil
		}
	}
	defer stopLeader()
	for {
		select {
		case <-ctx.Done():
			return
		case leader := <-rt.notifyCh:
			if leader && stop == nil {
				lctx, cancel := context.WithCancel(ctx)
				stop = cancel
				wg.Add(1)
				go func() { defer wg.Done(); n.runLeader(lctx, rt) }()
			} else if !leader {
				stopLeader()
			}
		}
	}
}

// runLeader reconciles gossip membership into Raft and into State.Nodes,
// on every membership event and periodically, like Consul's leader loop.
func (n *Node) runLeader(ctx context.Context, rt *running) {
	n.logger.Info("this node is the raft leader", "term", rt.raft.CurrentTerm())
	// The barrier makes the FSM apply every entry of earlier terms before
	// the state is compared with gossip.
	for {
		err := rt.raft.Barrier(barrierTimeout).Error()
		if err == nil {
			break
		}
		n.logger.Warn("raft barrier: "+err.Error(), "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	if rt.recovered {
		// The forced configuration lives only in this node's snapshot; a
		// returning peer whose log matches would never see it. Appending it
		// as a log entry (re-adding this node: no change) replicates it.
		if err := rt.raft.AddVoter(raft.ServerID(n.cfg.Node), raft.ServerAddress(rt.raftAddr), 0, 0).Error(); err != nil {
			n.logger.Warn("log the forced raft configuration: "+err.Error(), "err", err)
		}
	}
	if n.fsm.current().ClusterID == "" {
		if _, err := n.applyLocal(rt, InitCluster{ID: rand.Text(), Node: n.cfg.Node, Time: time.Now().UTC()}); err != nil {
			n.logger.Warn("set the cluster ID: "+err.Error(), "err", err)
		}
	}
	foreign := map[string]bool{} // members of another cluster, logged once
	tick := time.NewTicker(reconcileInterval)
	defer tick.Stop()
	for {
		if err := n.reconcileOnce(rt, foreign); err != nil {
			n.logger.Warn("reconcile membership: "+err.Error(), "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-rt.kick:
		case <-tick.C:
		}
	}
}

// reconcileOnce makes alive gossip members Raft voters and records gossip
// liveness in the state. It never removes a Raft server: a dead node may
// come back; Leave and Remove are explicit.
func (n *Node) reconcileOnce(rt *running, foreign map[string]bool) error {
	f := rt.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	servers := map[string]raft.Server{}
	for _, s := range f.Configuration().Servers {
		servers[string(s.ID)] = s
	}
	state := n.fsm.current()
	seen := map[string]bool{}
	var errs []error
	for _, m := range rt.gossip.members() {
		seen[m.name] = true
		if rt.isLeaving(m.name) {
			continue // removed on its request; gossip may not show it left yet
		}
		if m.meta.Cluster != "" && state.ClusterID != "" && m.meta.Cluster != state.ClusterID {
			if !foreign[m.name] {
				foreign[m.name] = true
				n.logger.Error("member "+m.name+" belongs to another cluster (it bootstrapped one of its own): not adding it to raft; "+
					"stop it, empty its data_dir and start it with --join", "member", m.name, "cluster", m.meta.Cluster)
			}
			continue
		}
		alive := m.status == StatusAlive || m.status == StatusSuspect
		if alive && m.meta.RaftPort != 0 {
			s, ok := servers[m.name]
			if !ok || s.Suffrage != raft.Voter || string(s.Address) != m.raftAddr() {
				n.logger.Info("add raft voter", "member", m.name, "addr", m.raftAddr())
				if err := rt.raft.AddVoter(raft.ServerID(m.name), raft.ServerAddress(m.raftAddr()), 0, 0).Error(); err != nil {
					errs = append(errs, fmt.Errorf("add voter %s: %w", m.name, err))
				}
			}
		}
		ns, known := state.Nodes[m.name]
		if known && ns.Live == alive && ns.Role == m.meta.Role || !known && !alive {
			continue
		}
		if _, err := n.applyLocal(rt, SetNodeLive{Node: m.name, Live: alive, Role: m.meta.Role, Time: time.Now().UTC()}); err != nil {
			errs = append(errs, fmt.Errorf("record %s live=%v: %w", m.name, alive, err))
		}
	}
	for name, ns := range state.Nodes {
		if !seen[name] && ns.Live {
			if _, err := n.applyLocal(rt, SetNodeLive{Node: name, Live: false, Role: ns.Role, Time: time.Now().UTC()}); err != nil {
				errs = append(errs, fmt.Errorf("record %s not live: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// runJoin joins cfg.Join and the peers saved in peers.json, retrying with
// backoff (1 s doubling to 30 s) until one answers or ctx ends.
func (n *Node) runJoin(ctx context.Context, rt *running) {
	addrs := slices.Clone(n.cfg.Join)
	for _, p := range loadPeers(n.peersPath()) {
		if !slices.Contains(addrs, p) {
			addrs = append(addrs, p)
		}
	}
	if len(addrs) == 0 {
		return
	}
	backoff := time.Second
	for {
		err := n.join(rt, addrs)
		if err == nil {
			return
		}
		n.logger.Warn(err.Error()+"; retrying", "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}
