package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-lb/tandem/acme"
	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/balancer/tlskey"
	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/health"
	"github.com/tandem-lb/tandem/vip"
	"github.com/tandem-lb/tandem/vip/bgp"
)

// Config is one node's settings (never replicated).
type Config struct {
	// Cluster is this node's membership and Raft settings; Cluster.Node is
	// the node's name and Cluster.Role decides whether it serves traffic.
	Cluster cluster.Config
	// ClusterConfig is applied once the cluster has a leader and no config
	// yet (dev mode, or the first node of a new cluster); ignored when the
	// cluster already has one.
	ClusterConfig *config.Cluster
	// API is the admin API listener.
	API api.ServerConfig
	// DrainTimeout bounds waiting for in-flight work at shutdown (default 10s).
	DrainTimeout time.Duration
	// VIP configures virtual IPs; VIPs move only when VIP.Interface is set
	// (and never on a witness).
	VIP vip.Config
	// ACME tunes the ACME certificate manager (acme.go); Node and
	// ClusterKey come from Cluster.
	ACME acme.Config
	// BGP, when set, runs a BGP speaker that announces the VIPs with
	// announce: bgp (never on a witness); Node is filled in.
	BGP *bgp.Config
}

// Deps are the agent's collaborators.
type Deps struct {
	Logger *slog.Logger
	// Metrics is the registry /metrics serves (nil: a new one with the Go
	// and process collectors).
	Metrics *prometheus.Registry
}

// Agent is one running node.
type Agent struct {
	cfg    Config
	logger *slog.Logger
	node   *cluster.Node
	store  store
	health *health.Monitor
	lb     *balancer.Balancer
	vips   *vip.Manager // nil: this node moves no VIP
	bgp    *bgp.Speaker // nil: this node announces no BGP VIP
	api    *api.Server
	ops    operations // runtime API sockets, cluster counters, history

	kick      chan struct{} // health changed: reconcile soon
	ready     chan struct{} // closed once the first config's listeners are bound
	readyOnce sync.Once

	mu         sync.Mutex
	acme       acmeParts                   // the ACME manager and challenge answers (acme.go)
	certs      certCache                   // the store's certificates, opened
	checkCerts map[string]*tls.Certificate // the certificates the health checks last got
	applied    *config.Cluster             // the config the balancer serves (unresolved, as committed)
	resolved   *config.Cluster
	version    uint64
	configErr  string
}

// New builds a node; it binds nothing and starts no goroutine.
func New(cfg Config, deps Deps) (*Agent, error) {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	if cfg.ClusterConfig != nil {
		if err := cfg.ClusterConfig.Validate(); err != nil {
			return nil, fmt.Errorf("cluster config: %w", err)
		}
	}
	a := &Agent{cfg: cfg, logger: deps.Logger, kick: make(chan struct{}, 1), ready: make(chan struct{})}
	var err error
	a.node, err = cluster.New(cfg.Cluster, cluster.Deps{Logger: deps.Logger})
	if err != nil {
		return nil, err
	}
	a.store = newClusterStore(a.node, cfg.Cluster.Node)
	a.health, err = health.New(health.Config{}, health.Deps{Logger: deps.Logger, OnTransition: a.onTransition,
		OnAgentWeight: func(config.ServerKey) { a.kickLoop() }})
	if err != nil {
		return nil, fmt.Errorf("create health monitor: %w", err)
	}
	a.newACME(deps.Logger)
	a.lb, err = balancer.New(balancer.Config{DrainTimeout: cfg.DrainTimeout, TicketSecret: cfg.Cluster.ClusterKey}, balancer.Deps{Logger: deps.Logger,
		OnServerFailure: a.health.ReportFailure, OnServerResult: a.health.Observe, ACME: a.acme.answers})
	if err != nil {
		return nil, fmt.Errorf("create balancer: %w", err)
	}
	if cfg.VIP.Interface != "" && cfg.Cluster.Role != cluster.RoleWitness {
		cfg.VIP.Node = cfg.Cluster.Node
		if cfg.VIP.ParkTime == 0 {
			// A handed-over address stays (on lo) while the balancer can
			// still be draining the connections that came to it.
			cfg.VIP.ParkTime = cfg.DrainTimeout + time.Second
		}
		if a.vips, err = vip.New(cfg.VIP, vip.Deps{Logger: deps.Logger}); err != nil {
			return nil, fmt.Errorf("virtual IPs: %w", err)
		}
	}
	if err := a.newBGP(cfg.BGP); err != nil {
		return nil, err
	}
	a.api, err = api.NewServer(cfg.API, nodeAPI{a}, deps.Logger)
	if err != nil {
		return nil, err
	}
	a.api.HandleCertificates(nodeAPI{a})
	if err := a.newOperations(); err != nil {
		return nil, err
	}
	if err := a.observe(deps.Metrics); err != nil {
		return nil, err
	}
	return a, nil
}

// Ready is closed once the listeners of the first config are bound.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// APIListening is closed once the admin API accepts connections.
func (a *Agent) APIListening() <-chan struct{} { return a.api.Listening() }

// Run serves until ctx is done, then stops in reverse start order.
func (a *Agent) Run(ctx context.Context) error {
	a.logger.Info("starting", "version", version(), "rsa_signatures", tlskey.Backend())
	var wg sync.WaitGroup
	// The first component to fail ends the loop; the others' errors, if
	// any come while the loop is gone, are logged rather than sent, so no
	// component can block on a full channel during shutdown.
	errc := make(chan error, 1)
	run := func(name string, ctx context.Context, f func(context.Context) error) <-chan struct{} {
		wg.Add(1)
		done := make(chan struct{})
		go func() {
			defer wg.Done()
			defer close(done)
			if err := f(ctx); err != nil {
				err = fmt.Errorf("%s: %w", name, err)
				select {
				case errc <- err:
				default:
					a.logger.Error("component failed during shutdown", "err", err)
				}
			}
		}()
		return done
	}
	// Each component gets its own context so that shutdown runs in reverse
	// start order rather than all at once.
	clusterCtx, stopCluster := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCluster()
	hcCtx, stopHealth := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHealth()
	lbCtx, stopLB := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLB()
	vipCtx, stopVIP := context.WithCancel(context.WithoutCancel(ctx))
	defer stopVIP()
	bgpCtx, stopBGP := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBGP()
	apiCtx, stopAPI := context.WithCancel(ctx)
	defer stopAPI()
	// Planned stop: hand the VIPs over first (the next holder announces),
	// then stop the API, drain the balancer, release addresses, stop the
	// checks, and leave the cluster last.
	var lbDone <-chan struct{}
	stopAll := func() {
		stopAPI()
		stopLB()
		stopVIP()
		if lbDone != nil {
			// The VIPs are handed over or withdrawn already (handOverVIPs,
			// shutdownBGP), so no new connection comes, but their
			// addresses stay until the balancer has drained: the requests
			// in flight answer from them (Linux sends nothing from an
			// address it no longer has). An ARP VIP is parked on lo
			// (vip/park.go), a BGP VIP stays bound on its interface. The
			// VIP manager's loop stops at once all the same: it must not
			// take part in an election while the node drains.
			<-lbDone
		}
		if a.vipEnabled() {
			a.vips.Unpark()
		}
		stopBGP()
		stopHealth()
		stopCluster()
		wg.Wait()
	}

	run("cluster", clusterCtx, a.node.Run)
	// A restarted node serves its last committed config at once, before any
	// leader exists; a node that cannot bind it fails here, clearly.
	if err := a.reconcileOnce(); err != nil {
		stopAll()
		return err
	}
	if a.servesTraffic() {
		run("health", hcCtx, a.health.Run)
		lbDone = run("balancer", lbCtx, a.lb.Run)
		if a.acme.manager != nil {
			run("acme", lbCtx, a.acme.manager.Run)
		}
		run("history", lbCtx, a.ops.history.Run)
		a.syncRuntime()
		run("runtime api", apiCtx, a.ops.runtime.Run)
	}
	if a.vipEnabled() {
		a.syncVIPs()
		run("vip", vipCtx, a.vips.Run)
		run("vip sync", vipCtx, a.runVIPSync)
	}
	if a.bgpEnabled() {
		a.syncBGP()
		run("bgp", bgpCtx, a.bgp.Run)
		run("bgp sync", bgpCtx, a.runBGPSync)
	}
	run("api", apiCtx, a.api.Run)
	if a.cfg.ClusterConfig != nil {
		run("seed config", apiCtx, a.seedConfig)
	}
	err := a.loop(ctx, errc)
	a.shutdownBGP()
	a.handOverVIPs(3 * time.Second)
	stopAll()
	return err
}

// servesTraffic is false for witness nodes: they vote, they do not balance.
func (a *Agent) servesTraffic() bool { return a.cfg.Cluster.Role != cluster.RoleWitness }

// seedConfig applies the initial cluster config once a leader exists, if
// the cluster has none yet.
func (a *Agent) seedConfig(ctx context.Context) error {
	for {
		if v := a.store.View(); v.Version > 0 {
			if v.Version > 0 && a.cfg.ClusterConfig != nil {
				a.logger.Debug("cluster already has a config; initial config not applied", "version", v.Version)
			}
			return nil
		}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := a.store.ApplyConfig(actx, 0, a.cfg.ClusterConfig, "initial config")
		cancel()
		var ce *cluster.ConflictError
		if err == nil || errors.As(err, &ce) {
			return nil
		}
		a.logger.Debug("initial config not applied yet", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// loop reconciles on every store change or health transition.
func (a *Agent) loop(ctx context.Context, errc <-chan error) error {
	resync := time.NewTicker(5 * time.Second) // heals a missed signal
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case <-a.store.Changed():
		case <-a.kick:
			a.store.Observe(a.ownHealth())
		case <-resync.C:
			a.store.Observe(a.ownHealth())
		}
		if err := a.reconcileOnce(); err != nil {
			a.logger.Error("serve committed config", "err", err)
		}
		a.syncRuntime()
	}
}

// syncRuntime serves the stats sockets of the config being served.
func (a *Agent) syncRuntime() {
	if !a.servesTraffic() {
		return
	}
	a.mu.Lock()
	cfg := a.resolved
	a.mu.Unlock()
	if cfg != nil {
		a.syncSockets(cfg)
	}
}

// onTransition is called by the health monitor; it must not block.
func (a *Agent) onTransition(t health.Transition) { a.kickLoop() }

// kickLoop asks the loop to reconcile soon; it never blocks.
func (a *Agent) kickLoop() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func (a *Agent) ownHealth() map[config.ServerKey]config.Health {
	st := a.health.Status()
	out := make(map[config.ServerKey]config.Health, len(st))
	for k, s := range st {
		out[k] = s.Health
	}
	return out
}

// reconcileOnce hands the committed state to health and the balancer. A
// config the balancer cannot serve (a listener cannot bind) is refused as a
// whole: the node keeps serving the previous one and reports why.
func (a *Agent) reconcileOnce() error {
	v := a.store.View()
	if !a.servesTraffic() {
		a.markReady()
		return nil
	}
	provisional := false
	if v.Config == nil {
		if v.Config = a.provisionalConfig(); v.Config == nil {
			return nil
		}
		provisional = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cfg := a.resolved
	if v.Version != a.version || a.applied == nil {
		cfg = v.Config.Resolve()
	}
	d := balancer.Desired{Config: cfg, Servers: desiredServers(cfg, v, a.ownHealth()), Certificates: a.certificates(cfg, v.Certificates)}
	applyAgentWeights(cfg, d.Servers, a.health.Status())
	if err := a.lb.Apply(d); err != nil {
		err = fmt.Errorf("config version %d not served, still serving version %d: %w", v.Version, a.version, err)
		if provisional {
			// Not committed yet: the node keeps running (not ready, so
			// not eligible for a VIP) and retries once it is.
			a.configErr = err.Error()
			a.logger.Error("initial config not served", "err", err)
			return nil
		}
		if a.applied == nil {
			return err
		}
		a.configErr = err.Error()
		return err
	}
	if certsChanged := !maps.Equal(d.Certificates, a.checkCerts); cfg != a.resolved || certsChanged {
		a.checkCerts = d.Certificates
		a.health.SetCertificates(d.Certificates) // TLS checks' client certificates
		a.health.Update(withoutPausedChecks(cfg))
	}
	if cfg != a.resolved {
		a.applied, a.resolved, a.version, a.configErr = v.Config, cfg, v.Version, ""
		a.logger.Info("serving config", "version", v.Version)
	}
	a.markReady()
	return nil
}

// provisionalConfig is the config a node serves before anything is
// committed: the initial config of a node that starts a new cluster (no
// join addresses), which is what it is about to commit as version 1. So
// `agent --dev` and a cluster's first node serve at once instead of after
// the Raft election. A joining node serves nothing until it learns the
// cluster's config: its own might not be the cluster's.
func (a *Agent) provisionalConfig() *config.Cluster {
	if a.cfg.ClusterConfig == nil || len(a.cfg.Cluster.Join) > 0 {
		return nil
	}
	return a.cfg.ClusterConfig
}

// markReady closes ready once: a voter once its first config's listeners
// are bound, a witness (or a node still without config) at once.
func (a *Agent) markReady() {
	a.readyOnce.Do(func() { close(a.ready) })
}

// errorKind maps agent errors onto the API's kinds.
func errorKind(err error) error {
	switch {
	case errors.Is(err, ErrUnknownServer):
		return fmt.Errorf("%w: %w", api.ErrNotFound, err)
	}
	return err
}
