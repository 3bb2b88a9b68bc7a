package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/api/runtimeapi"
	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
)

// operations is the node's part of HAProxy's operational interfaces: the
// runtime API sockets, the cluster-wide counters and the 15-minute history
// behind them, and the stats page's CSV.
type operations struct {
	runtime  *runtimeapi.Server
	counters *api.Counters
	history  *api.History
	started  time.Time
	lastErr  string // the last socket bind error logged
}

// newOperations builds them and adds their routes to the admin API; they
// bind nothing until Run.
func (a *Agent) newOperations() error {
	a.ops.started = time.Now()
	a.ops.history = api.NewHistory(a.lb, nodeAPI{a})
	a.ops.counters = api.NewCounters(api.CountersConfig{Node: a.cfg.Cluster.Node, Token: a.cfg.API.Token},
		a.lb, a.ops.history, agentPeers{a})
	a.ops.counters.Register(a.api)
	a.api.UseCounters(a.ops.counters)
	a.api.UseStatsPage(statsPage{a})
	var err error
	a.ops.runtime, err = runtimeapi.New(runtimeapi.Config{}, runtimeapi.Deps{Cluster: runtimeCluster{a}, Logger: a.logger})
	return err
}

// syncSockets serves the committed config's stats sockets ("{node}" in an
// address is this node's name). A socket that cannot be bound is logged
// once per distinct error and retried at the next reconcile.
func (a *Agent) syncSockets(cfg *config.Cluster) {
	var socks []runtimeapi.Socket
	for _, s := range cfg.Global.StatsSockets {
		addr, err := config.ParseSocketAddr(strings.ReplaceAll(s.Address, "{node}", a.cfg.Cluster.Node))
		mode, merr := s.FileMode()
		level, lerr := runtimeapi.ParseLevel(s.LevelOrDefault())
		if err != nil || merr != nil || lerr != nil {
			continue // Validate refuses these before they are committed
		}
		socks = append(socks, runtimeapi.Socket{Network: addr.Network, Address: addr.Address, Mode: mode, Level: level})
	}
	a.ops.runtime.SetTimeout(cfg.Global.StatsTimeout.D())
	err := a.ops.runtime.Update(socks)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != a.ops.lastErr && msg != "" {
		a.logger.Error("runtime api socket", "err", err)
	}
	a.ops.lastErr = msg
}

// agentPeers lists the other LB nodes for the counters.
type agentPeers struct{ a *Agent }

func (p agentPeers) Peers() []api.Peer {
	var out []api.Peer
	for _, m := range p.a.node.Members() {
		if m.Name == p.a.cfg.Cluster.Node || m.Role != cluster.RoleVoter {
			continue
		}
		out = append(out, api.Peer{Name: m.Name, APIAddr: m.APIAddr, Gossip: m.Addr,
			Alive: m.Status == cluster.StatusAlive || m.Status == cluster.StatusSuspect})
	}
	return out
}

// statsPage serves HAProxy's CSV on the admin API.
type statsPage struct{ a *Agent }

func (p statsPage) StatsURI() string {
	p.a.mu.Lock()
	cfg := p.a.resolved
	p.a.mu.Unlock()
	if cfg != nil && cfg.Global.StatsURI != "" {
		return cfg.Global.StatsURI
	}
	return config.DefaultStatsURI
}

func (p statsPage) CSV(ctx context.Context) (string, error) {
	v, err := runtimeCluster(p).View(ctx, true)
	if err != nil {
		return "", err
	}
	return runtimeapi.RenderCSV(&v, false), nil // HAProxy hides addresses without "stats show-legends"
}

// runtimeCluster implements runtimeapi.Cluster for this node.
type runtimeCluster struct{ a *Agent }

// View joins the committed config, this node's view of every server
// (admin state, health, checks) and, with counters, the cluster's
// counters and rates.
func (r runtimeCluster) View(ctx context.Context, counters bool) (runtimeapi.View, error) {
	a := r.a
	a.mu.Lock()
	cfg := a.resolved
	a.mu.Unlock()
	v := runtimeapi.View{Node: a.cfg.Cluster.Node, Version: version(), ReleaseDate: releaseDate(), Pid: os.Getpid(), Started: a.ops.started, Now: time.Now(),
		Threads: goruntime.GOMAXPROCS(0), Tasks: goruntime.NumGoroutine(), MaxSock: maxFiles()}
	if cfg == nil {
		return v, errors.New("no config applied yet")
	}
	v.MaxConn = cfg.Global.MaxConn
	st := nodeAPI{a}.nodeStatus()
	var sum balancer.Stats
	rates := map[string]int{}
	if counters {
		cc := a.ops.counters.Gather(ctx, true)
		sum = cc.Sum()
		v.Nodes, v.Missing = cc.NodeNames(), cc.Missing
		var all []api.Series
		for _, n := range cc.Nodes {
			if n.Series != nil {
				all = append(all, *n.Series)
			}
		}
		for k, d := range api.MergeSeries(all).Objects {
			rates[k] = int(d.Req[len(d.Req)-1]) / int(api.HistoryStep/time.Second)
		}
	} else {
		sum = a.lb.Stats()
	}
	fillView(&v, cfg, st, sum, rates)
	return v, nil
}

func rate(rates map[string]int, k string) int {
	if n, ok := rates[k]; ok {
		return n
	}
	return -1
}

// fillView adds the config's frontends and backends with their counters.
func fillView(v *runtimeapi.View, cfg *config.Cluster, st api.Status, sum balancer.Stats, rates map[string]int) {
	fe := map[string]balancer.FrontendStats{}
	for _, f := range sum.Frontends {
		fe[f.Name] = f
	}
	ready := map[string]bool{}
	for _, f := range st.Frontends {
		ready[f.Name] = f.Ready
	}
	for _, f := range cfg.Frontends {
		v.Frontends = append(v.Frontends, runtimeapi.Frontend{Name: f.Name, Mode: f.Mode, MaxConn: f.MaxConn, Ready: ready[f.Name],
			Counters: fe[f.Name].Counters, ReqRate: rate(rates, "f/"+f.Name), ConnRate: -1})
	}
	be := map[string]balancer.BackendStats{}
	for _, b := range sum.Backends {
		be[b.Name] = b
	}
	srv := map[config.ServerKey]balancer.ServerStats{}
	for _, s := range sum.Servers {
		srv[s.Key] = s
	}
	own := map[config.ServerKey]api.ServerStatus{}
	for _, s := range st.Servers {
		own[config.ServerKey{Backend: s.Backend, Server: s.Server}] = s
	}
	for _, b := range cfg.Backends {
		bv := runtimeapi.Backend{Name: b.Name, Mode: b.Mode, Algo: b.Balance, Counters: be[b.Name].Counters}
		if b.Cookie != nil {
			bv.Cookie = b.Cookie.Name
		}
		for _, s := range b.Servers {
			k := config.ServerKey{Backend: b.Name, Server: s.Name}
			ss, os := srv[k], own[k]
			health := os.Agreed
			if os.Own == config.HealthDown || os.Own == config.HealthNoLB {
				health = os.Own
			}
			bv.Servers = append(bv.Servers, runtimeapi.ServerState{
				Name: s.Name, Address: s.Address, Backup: s.Backup, Cookie: s.Cookie, Admin: os.Admin, Health: health, Routed: os.Routed,
				Checked: s.Check, CheckPaused: s.CheckDisabled, CheckRise: s.Rise, CheckFall: s.Fall,
				CheckResult: os.LastCheck, CheckCode: checkCode(os.LastCheck), CheckDuration: os.CheckTime,
				Weight: os.Weight, InitialWeight: *s.Weight, MaxConn: s.MaxConn,
				Counters: ss.Counters, ResponseTime: ss.ResponseTime, ReqRate: rate(rates, "s/"+k.String()),
			})
		}
		v.Backends = append(v.Backends, bv)
	}
}

// checkCode reads the HTTP status of an "L7OK 200"-like result.
func checkCode(result string) int {
	code, rest, _ := strings.Cut(result, " ")
	if !strings.HasPrefix(code, "L7") {
		return 0
	}
	var n int
	if _, err := fmt.Sscanf(rest, "%d", &n); err != nil {
		return 0
	}
	return n
}

// Change applies a runtime API change through the replicated state, so it
// applies on every node: admin state and weight as the operator decisions
// they are, address, maxconn and paused checks as a new config version
// (HAProxy forgets those at reload; tandem keeps them, and says so in
// the config history).
func (r runtimeCluster) Change(ctx context.Context, ch runtimeapi.Change) error {
	a := r.a
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if ch.Kind != runtimeapi.ChangeClear && a.store.View().Config == nil {
		// A new cluster's first node serves its initial config before the
		// first commit; there is no replicated state to change yet.
		return fmt.Errorf("%w: the cluster has not committed its first config yet", runtimeapi.ErrNoQuorum)
	}
	var err error
	switch ch.Kind {
	case runtimeapi.ChangeAdmin:
		err = a.store.SetServer(ctx, ch.Key, &ch.Admin, nil)
	case runtimeapi.ChangeWeight:
		err = a.store.SetServer(ctx, ch.Key, nil, &ch.Weight)
	case runtimeapi.ChangeAddr:
		err = a.editServer(ctx, ch.Key, fmt.Sprintf("set server %s addr %s", ch.Key, ch.Addr), func(s *config.Server) { s.Address = ch.Addr })
	case runtimeapi.ChangeMaxConn:
		err = a.editServer(ctx, ch.Key, fmt.Sprintf("set maxconn server %s %d", ch.Key, ch.MaxConn), func(s *config.Server) { s.MaxConn = ch.MaxConn })
	case runtimeapi.ChangeCheck:
		verb := map[bool]string{true: "enable", false: "disable"}[ch.Check]
		err = a.editServer(ctx, ch.Key, verb+" health "+ch.Key.String(), func(s *config.Server) { s.CheckDisabled = !ch.Check })
	case runtimeapi.ChangeClear:
		if missing := a.ops.counters.ClearAll(ctx); len(missing) > 0 {
			var parts []string
			for n, why := range missing {
				parts = append(parts, n+": "+why)
			}
			err = fmt.Errorf("counters cleared on the nodes that answered; not on %s", strings.Join(parts, "; "))
		}
	default:
		err = fmt.Errorf("unknown change %v", ch.Kind)
	}
	switch {
	case errors.Is(err, ErrUnknownServer):
		return fmt.Errorf("%w: %w", runtimeapi.ErrNoSuchServer, err)
	case errors.Is(err, cluster.ErrNoQuorum):
		return fmt.Errorf("%w: %w", runtimeapi.ErrNoQuorum, err)
	}
	return err
}

// editServer commits a new config version with one server changed,
// retrying when another edit committed in between.
func (a *Agent) editServer(ctx context.Context, key config.ServerKey, what string, edit func(*config.Server)) error {
	for attempt := 0; ; attempt++ {
		v := a.store.View()
		if err := checkServer(v.Config, key, nil); err != nil {
			return err
		}
		c := v.Config.Clone()
		edit(c.Backend(key.Backend).Server(key.Server))
		_, err := a.store.ApplyConfig(ctx, v.Version, c, fmt.Sprintf("runtime api on %s: %s", a.cfg.Cluster.Node, what))
		var ce *cluster.ConflictError
		if errors.As(err, &ce) && attempt < 5 {
			continue
		}
		return err
	}
}

// withoutPausedChecks is cfg with the checks paused by "disable health"
// turned off, for the health monitor.
func withoutPausedChecks(cfg *config.Cluster) *config.Cluster {
	paused := false
	for _, b := range cfg.Backends {
		for _, s := range b.Servers {
			paused = paused || (s.Check && s.CheckDisabled)
		}
	}
	if !paused {
		return cfg
	}
	c := cfg.Clone()
	for i := range c.Backends {
		for j := range c.Backends[i].Servers {
			if s := &c.Backends[i].Servers[j]; s.CheckDisabled {
				s.Check = false
			}
		}
	}
	return c
}

// version is tandem's version from the build.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// releaseDate is the build's commit date, or the binary's date, as
// HAProxy's YYYY/MM/DD (hatop requires one).
func releaseDate() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if t, err := time.Parse(time.RFC3339, s.Value); s.Key == "vcs.time" && err == nil {
				return t.UTC().Format("2006/01/02")
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			return fi.ModTime().UTC().Format("2006/01/02")
		}
	}
	return "1970/01/01"
}

// maxFiles is the open file limit (HAProxy's Ulimit-n and Maxsock).
func maxFiles() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return int(min(rl.Cur, 1<<31-1))
}
