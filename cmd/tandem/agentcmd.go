package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tandem-lb/tandem/acme"
	"github.com/tandem-lb/tandem/agent"
	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/testenv"
	"github.com/tandem-lb/tandem/vip"
	"github.com/tandem-lb/tandem/vip/bgp"
)

const defaultSettingsFile = "/etc/tandem/tandem.yaml"

type agentFlags struct {
	settingsFile  string
	dev           bool
	clusterConfig string
}

func newAgentCmd(g *globals) *cobra.Command {
	af := &agentFlags{}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a tandem node (balancer, health checks, cluster membership, VIPs)",
		Long: `Run a tandem node.

Node settings come from the file given by --config (default ` + defaultSettingsFile + `, if present),
environment variables TANDEM_<SETTING> (e.g. TANDEM_CLUSTER_KEY), and flags, flags winning.

  tandem agent --dev                              the article's two sites on loopback, no setup
  tandem agent --dev --cluster-config haproxy.cfg serve your own config (YAML or haproxy.cfg)
  tandem agent --node lb1 --cluster-config cluster.yaml       first node of a new cluster
  tandem agent --node lb2 --join 10.0.0.1                     another node`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			return runAgent(c.Context(), c, af)
		},
	}
	f := cmd.Flags()
	f.StringVar(&af.settingsFile, "config", "", "node settings file (default "+defaultSettingsFile+" if it exists)")
	f.BoolVar(&af.dev, "dev", false, "one node, temporary data dir, embedded default config with both test sites")
	f.StringVar(&af.clusterConfig, "cluster-config", "", "cluster config to serve: YAML or haproxy.cfg (with --dev or on a new cluster)")
	f.String("node", "", "node name (default: host name)")
	f.String("data-dir", "", "data directory (default "+config.DefaultDataDir+")")
	f.String("bind", "", "IP for gossip and Raft (default 0.0.0.0)")
	f.String("advertise", "", "IP other nodes reach this one at")
	f.Int("gossip-port", config.DefaultGossipPort, "gossip port (TCP+UDP)")
	f.Int("raft-port", config.DefaultRaftPort, "Raft port")
	f.StringSlice("join", nil, "gossip addresses of existing members (repeat or comma-separate)")
	f.String("role", "voter", "voter (LB node) or witness (vote only)")
	f.String("cluster-key", "", "cluster key from `tandem keygen` (env TANDEM_CLUSTER_KEY)")
	f.Bool("insecure", false, "allow gossip/Raft beyond loopback without a cluster key")
	f.String("api-token", "", "token the admin API requires (env TANDEM_API_TOKEN)")
	f.Duration("drain-timeout", config.DefaultDrainTimeout, "bound on finishing in-flight requests at stop")
	f.String("vip-interface", "", "interface that carries the virtual IPs, e.g. eth0 (none: this node moves no VIP)")
	f.String("vip-priority", "", "this node's VIP priorities, NAME=PRIORITY[,NAME=PRIORITY] (default 100 each)")
	f.String("vip-notify", "", "command run on every VIP state change (keepalived notify)")
	f.StringSlice("vip-track-interface", nil, "interfaces that must be up for this node to hold a VIP")
	f.String("vip-track-script", "", "command whose failure makes this node ineligible (keepalived vrrp_script)")
	f.String("failure-detection", "fast", "gossip failure detection: fast (~0.4 s) or lan (~6 s, tolerant of long stalls)")
	f.Duration("acme-lock-ttl", 0, "how long a dead node's ACME lock lasts before another node takes its order over (default 30s)")
	f.Uint32("bgp-asn", 0, "this node's BGP AS number (with --bgp-peer)")
	f.String("bgp-router-id", "", "BGP router ID, an IPv4 address (default: the advertise address)")
	f.StringArray("bgp-peer", nil, "a BGP peer: address=IP,asn=N[,port=N,password=S,hold_time=3s,keepalive=1s,multihop=N,passive=true] (repeat per peer)")
	f.String("bgp-med", "", "MED sent with every BGP announcement (default: none)")
	f.String("bgp-vip-interface", "", "interface the addresses of BGP VIPs are bound on (default lo; created as a dummy if missing)")
	f.Duration("bgp-shutdown-wait", 0, "how long a stop announces GRACEFUL_SHUTDOWN before withdrawing (default 2s)")
	f.Duration("acme-retry-min", 0, "first wait after a failed ACME order or renewal, doubling to 2h (default 2m)")
	return cmd
}

// loadSettings merges file, env and flags into node settings. It reads
// them afresh on every call (at start, and on each SIGHUP).
func loadSettings(c *cobra.Command, af *agentFlags) (config.Node, error) {
	v := viper.New()
	for flag, key := range map[string]string{
		"node": "node", "data-dir": "data_dir", "bind": "bind_addr", "advertise": "advertise_addr",
		"gossip-port": "gossip_port", "raft-port": "raft_port", "join": "join", "role": "role",
		"cluster-key": "cluster_key", "insecure": "insecure", "api-token": "api_token", "drain-timeout": "drain_timeout",
		"vip-interface": "vip_interface", "vip-priority": "vip_priority", "vip-notify": "vip_notify",
		"vip-track-interface": "vip_track_interfaces", "vip-track-script": "vip_track_script", "failure-detection": "failure_detection",
		"api-addr": "api_addr", "log-level": "log_level", "acme-lock-ttl": "acme_lock_ttl", "acme-retry-min": "acme_retry_min",
		"bgp-asn": "bgp_asn", "bgp-router-id": "bgp_router_id", "bgp-peer": "bgp_peers", "bgp-med": "bgp_med",
		"bgp-vip-interface": "bgp_vip_interface", "bgp-shutdown-wait": "bgp_shutdown_wait",
	} {
		_ = v.BindPFlag(key, c.Flags().Lookup(flag))
	}
	v.SetEnvPrefix("TANDEM")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	file := af.settingsFile
	if file == "" {
		if _, err := os.Stat(defaultSettingsFile); err == nil {
			file = defaultSettingsFile
		}
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return config.Node{}, fmt.Errorf("read node settings %s: %w", file, err)
		}
	}
	var n config.Node
	err := v.Unmarshal(&n)
	if err != nil {
		return n, fmt.Errorf("node settings: %w", err)
	}
	if n.VIPPriority, err = config.ParsePriorities(v.Get("vip_priority")); err != nil {
		return n, usageError{err}
	}
	if n.BGP.Peers, err = config.ParseBGPPeers(v.Get("bgp_peers")); err != nil {
		return n, usageError{err}
	}
	if n.BGP.MED, err = config.ParseMED(v.Get("bgp_med")); err != nil {
		return n, usageError{err}
	}
	// Env and file may give join as one comma-separated string.
	if len(n.Join) == 1 && strings.Contains(n.Join[0], ",") {
		n.Join = strings.Split(n.Join[0], ",")
	}
	n.ApplyDefaults()
	if err := n.Validate(); err != nil {
		return n, usageError{fmt.Errorf("node settings: %w", err)}
	}
	return n, nil
}

func runAgent(ctx context.Context, c *cobra.Command, af *agentFlags) error {
	// SIGHUP (systemctl reload) must not kill the agent, even while it starts.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	node, err := loadSettings(c, af)
	if err != nil {
		return err
	}
	logger, level, err := newLevelLogger(c.ErrOrStderr(), node.LogLevel)
	if err != nil {
		return err
	}
	var clusterCfg *config.Cluster
	afterReady := func() { logger.Info("node ready", "node", node.Name, "api", node.APIAddr) }
	if af.clusterConfig != "" {
		if clusterCfg, err = loadClusterFile(af.clusterConfig, c.ErrOrStderr()); err != nil {
			return err
		}
	}
	var sites []*testenv.Site
	var devDir string
	if af.dev {
		if devDir, err = os.MkdirTemp("", "tandem-dev-"); err != nil {
			return fmt.Errorf("create dev data dir: %w", err)
		}
		defer os.RemoveAll(devDir)
		devSettings(c, &node, devDir)
		if clusterCfg == nil {
			clusterCfg = agent.DevConfig()
			if sites, err = devSites(devDir, logger); err != nil {
				return err
			}
		}
		afterReady = func() { printDevHelp(c.OutOrStdout(), clusterCfg, node, devDir, len(sites) > 0) }
	}
	cc, err := clusterSettings(node)
	if err != nil {
		return err
	}
	a, err := agent.New(agent.Config{
		Cluster:       cc,
		ClusterConfig: clusterCfg,
		API:           api.ServerConfig{Addr: node.APIAddr, Token: node.APIToken},
		DrainTimeout:  node.DrainTimeout,
		VIP:           vipSettings(node),
		BGP:           bgpSettings(node),
		ACME:          acme.Config{LockTTL: node.ACMELockTTL, RetryMin: node.ACMERetryMin},
	}, agent.Deps{Logger: logger})
	if err != nil {
		return err
	}
	sv := &service{
		logger: logger, level: level, running: node, hup: hup, ready: afterReady,
		sd: systemdNotifier{logger: logger},
		reload: func() (config.Node, error) {
			n, err := loadSettings(c, af)
			if err == nil && af.dev {
				devSettings(c, &n, devDir)
			}
			return n, err
		},
	}
	return runWithSites(ctx, a, sites, sv)
}

// devSettings applies --dev's overrides: a temporary data dir, loopback,
// and free gossip and Raft ports unless given (no clash with a real node).
func devSettings(c *cobra.Command, n *config.Node, dir string) {
	if !c.Flags().Changed("node") {
		n.Name = "dev"
	}
	n.DataDir, n.BindAddr = filepath.Join(dir, "data"), "127.0.0.1"
	if !c.Flags().Changed("gossip-port") {
		n.GossipPort = 0
	}
	if !c.Flags().Changed("raft-port") {
		n.RaftPort = 0
	}
}

// clusterSettings turns node settings into the cluster package's config.
func clusterSettings(n config.Node) (cluster.Config, error) {
	key, err := n.Key()
	if err != nil {
		return cluster.Config{}, usageError{fmt.Errorf("cluster_key: %w", err)}
	}
	var role cluster.Role
	if err := role.UnmarshalText([]byte(n.Role)); err != nil {
		return cluster.Config{}, usageError{fmt.Errorf("role: %w", err)}
	}
	cc := cluster.Config{
		Node: n.Name, DataDir: n.DataDir, BindAddr: n.BindAddr, AdvertiseAddr: n.AdvertiseAddr,
		GossipPort: n.GossipPort, RaftPort: n.RaftPort, APIAddr: n.APIAddr, Join: n.Join, Role: role,
		ClusterKey: key, Insecure: n.Insecure, TLSCA: n.TLSCA, TLSCert: n.TLSCert, TLSKey: n.TLSKey,
	}
	if n.FailureDetection == "lan" { // memberlist's DefaultLANConfig timing
		cc.ProbeInterval, cc.ProbeTimeout, cc.GossipInterval, cc.SuspicionMult = time.Second, 500*time.Millisecond, 200*time.Millisecond, 4
	}
	return cc, nil
}

// vipSettings turns node settings into the VIP manager's config.
func vipSettings(n config.Node) vip.Config {
	vc := vip.Config{Interface: n.VIPInterface, Priority: n.VIPPriority, NotifyCommand: n.VIPNotify, TrackInterfaces: n.VIPTrackInterfaces}
	if n.VIPTrackScript != "" {
		vc.TrackScript = &vip.Script{Command: n.VIPTrackScript, Interval: n.VIPTrackInterval, Rise: n.VIPTrackRise, Fall: n.VIPTrackFall, Weight: n.VIPTrackWeight}
	}
	return vc
}

// bgpSettings turns node settings into the BGP speaker's config; nil
// without peers.
func bgpSettings(n config.Node) *bgp.Config {
	b := n.BGP
	if !b.Enabled() {
		return nil
	}
	return &bgp.Config{ASN: b.ASN, RouterID: b.RouterID, Peers: b.Peers, ListenPort: b.ListenPort, MED: b.MED,
		Interface: b.VIPInterface, ShutdownWait: b.ShutdownWait}
}

// devSites creates the article's two test sites in dir.
func devSites(dir string, logger *slog.Logger) ([]*testenv.Site, error) {
	var sites []*testenv.Site
	for _, s := range []struct{ name, addr string }{{"server1", "127.0.0.1:8001"}, {"server2", "127.0.0.1:8002"}} {
		site, err := testenv.NewSite(testenv.SiteConfig{Name: s.name, Listen: s.addr, Root: filepath.Join(dir, s.name)}, logger)
		if err != nil {
			return nil, fmt.Errorf("create test site %s: %w", s.name, err)
		}
		sites = append(sites, site)
	}
	return sites, nil
}

// runWithSites runs the test sites, the agent and its service loop
// (readiness, reload, stop notifications); the first error or ctx stops
// all of them, and it returns once every goroutine it started has exited.
func runWithSites(ctx context.Context, a *agent.Agent, sites []*testenv.Site, sv *service) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(sites)+1)
	for _, s := range sites {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx); err != nil {
				errc <- fmt.Errorf("test site: %w", err)
				cancel()
			}
		}()
	}
	for _, s := range sites {
		select {
		case <-s.Ready():
		case err := <-errc:
			cancel()
			wg.Wait()
			return err
		}
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer cancel()
		errc <- a.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		sv.run(ctx, a)
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
}

func printDevHelp(w io.Writer, c *config.Cluster, n config.Node, dir string, withSites bool) {
	fmt.Fprintln(w, "tandem is running (dev mode).")
	for _, f := range c.Frontends {
		for _, b := range f.Bind {
			fmt.Fprintf(w, "  frontend %-10s http://%s/\n", f.Name, strings.Replace(b, "*", "127.0.0.1", 1))
		}
	}
	fmt.Fprintf(w, "  admin API           http://%s/api/v1/status   (tandem status)\n", n.APIAddr)
	if withSites {
		fmt.Fprintf(w, `
Refresh http://127.0.0.1:8080/ : answers alternate "HAProxy server1" / "HAProxy server2".
Take server1 out as the article does (renamed deploy.txt → failed checks, 2 × 2 s):
  mv %[1]s/server1/deploy.txt %[1]s/server1/deploy1.txt
Put it back:
  mv %[1]s/server1/deploy1.txt %[1]s/server1/deploy.txt
Or drain it by hand:  tandem server drain http-in/server1   (and: tandem server ready http-in/server1)
`, dir)
	}
}
