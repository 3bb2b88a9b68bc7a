package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Node is one host's settings, never replicated: file
// /etc/tandem/tandem.yaml (or --config), env TANDEM_<KEY>, flags.
type Node struct {
	// Name is the node's unique name (default: the host name).
	Name string `mapstructure:"node"`
	// DataDir holds Raft's log, snapshots and the last committed state.
	DataDir string `mapstructure:"data_dir"`
	// BindAddr is the IP gossip and Raft listen on (default 0.0.0.0).
	BindAddr string `mapstructure:"bind_addr"`
	// AdvertiseAddr is the IP other nodes reach this one at.
	AdvertiseAddr string `mapstructure:"advertise_addr"`
	// GossipPort (TCP+UDP, default 7946) and RaftPort (default 7947).
	GossipPort int `mapstructure:"gossip_port"`
	RaftPort   int `mapstructure:"raft_port"`
	// APIAddr is the admin API, dashboard and metrics (default 127.0.0.1:8404).
	APIAddr string `mapstructure:"api_addr"`
	// APIToken is required by the API whenever it listens beyond loopback.
	APIToken string `mapstructure:"api_token"`
	// Join lists gossip addresses of existing members.
	Join []string `mapstructure:"join"`
	// Role is "voter" (an LB node) or "witness" (votes, serves no traffic).
	Role string `mapstructure:"role"`
	// ClusterKey (from `tandem keygen`) encrypts gossip and Raft.
	ClusterKey string `mapstructure:"cluster_key"`
	// Insecure allows gossip and Raft beyond loopback without a key.
	Insecure bool `mapstructure:"insecure"`
	// TLSCA, TLSCert, TLSKey: mutual TLS for Raft from your own CA.
	TLSCA   string `mapstructure:"tls_ca"`
	TLSCert string `mapstructure:"tls_cert"`
	TLSKey  string `mapstructure:"tls_key"`
	// VIPInterface carries the virtual IPs (e.g. eth0).
	VIPInterface string `mapstructure:"vip_interface"`
	// VIPPriority maps VIP name to this node's priority 1-255 (default 100).
	// In a file a map; in env and flags "vip1=150,vip2=100".
	VIPPriority map[string]int `mapstructure:"-"`
	// VIPNotify is a command run (sh -c) on every VIP state change with
	// TANDEM_VIP, TANDEM_VIP_ADDRESS, TANDEM_VIP_STATE (holder, backup,
	// fault) and TANDEM_NODE in its environment (keepalived's notify).
	VIPNotify string `mapstructure:"vip_notify"`
	// VIPTrackInterfaces must all be up for this node to hold a VIP.
	VIPTrackInterfaces []string `mapstructure:"vip_track_interfaces"`
	// VIPTrackScript is keepalived's vrrp_script: a command run every
	// VIPTrackInterval; after VIPTrackFall failures (VIPTrackRise successes)
	// it fails (passes). With VIPTrackWeight 0 failing makes the node
	// ineligible; otherwise the weight is added to its priority (keepalived).
	VIPTrackScript   string        `mapstructure:"vip_track_script"`
	VIPTrackInterval time.Duration `mapstructure:"vip_track_interval"`
	VIPTrackRise     int           `mapstructure:"vip_track_rise"`
	VIPTrackFall     int           `mapstructure:"vip_track_fall"`
	VIPTrackWeight   int           `mapstructure:"vip_track_weight"`
	// FailureDetection picks the gossip failure-detection profile: "fast"
	// (default: ~0.4 s to declare a dead peer, tolerates 300 ms stalls) or
	// "lan" (memberlist's LAN defaults: ~6 s, tolerates long stalls).
	FailureDetection string `mapstructure:"failure_detection"`
	// DrainTimeout bounds finishing in-flight work on stop (default 10s).
	DrainTimeout time.Duration `mapstructure:"drain_timeout"`
	// LogLevel: debug, info, warn, error.
	LogLevel string `mapstructure:"log_level"`
	// ACMELockTTL is how long the ACME lock of a node that died outlives
	// it, before another node takes its order over (default 30s).
	ACMELockTTL time.Duration `mapstructure:"acme_lock_ttl"`
	// ACMERetryMin is the first wait after a failed ACME order or renewal;
	// it doubles with each failure, to at most 2 h (default 2m).
	ACMERetryMin time.Duration `mapstructure:"acme_retry_min"`
	// BGP is the BGP speaker's settings, bgp_* (config/bgp.go).
	BGP BGPNode `mapstructure:",squash"`
}

// Node setting defaults.
const (
	DefaultGossipPort   = 7946
	DefaultRaftPort     = 7947
	DefaultAPIAddr      = "127.0.0.1:8404"
	DefaultDataDir      = "/var/lib/tandem"
	DefaultDrainTimeout = 10 * time.Second
	DefaultVIPPriority  = 100
)

// ApplyDefaults fills unset node settings.
func (n *Node) ApplyDefaults() {
	if n.Name == "" {
		n.Name, _ = os.Hostname()
	}
	n.DataDir = pick(n.DataDir, DefaultDataDir)
	n.BindAddr = pick(n.BindAddr, "0.0.0.0")
	n.GossipPort = pick(n.GossipPort, DefaultGossipPort)
	n.RaftPort = pick(n.RaftPort, DefaultRaftPort)
	n.APIAddr = pick(n.APIAddr, DefaultAPIAddr)
	n.Role = pick(n.Role, "voter")
	n.DrainTimeout = pick(n.DrainTimeout, DefaultDrainTimeout)
	n.LogLevel = pick(n.LogLevel, "info")
	n.FailureDetection = pick(n.FailureDetection, "fast")
	n.BGP.ApplyDefaults(pick(n.AdvertiseAddr, n.BindAddr))
}

// ParsePriorities reads "vip1=150,vip2=100" (env and flags) or a map (file).
func ParsePriorities(raw any) (map[string]int, error) {
	out := map[string]int{}
	switch v := raw.(type) {
	case nil:
		return out, nil
	case map[string]int:
		return v, nil
	case map[string]any:
		for k, x := range v {
			n, err := strconv.Atoi(fmt.Sprint(x))
			if err != nil {
				return nil, fmt.Errorf("vip_priority.%s: want a number 1-255 (got %v)", k, x)
			}
			out[k] = n
		}
		return out, nil
	case string:
		s := strings.Trim(v, "[]")
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, num, ok := strings.Cut(part, "=")
			n, err := strconv.Atoi(num)
			if !ok || err != nil || name == "" {
				return nil, fmt.Errorf("vip_priority: want NAME=PRIORITY[,NAME=PRIORITY] (got %q)", part)
			}
			out[name] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("vip_priority: want NAME=PRIORITY pairs (got %v)", raw)
}

// Validate checks node settings; errors name the setting.
func (n *Node) Validate() error {
	var es Errors
	if n.Name == "" || !nameRE.MatchString(n.Name) {
		es.add("node", "want a name of letters, digits, '.', '_' and '-' (got %q)", n.Name)
	}
	if net.ParseIP(n.BindAddr) == nil {
		es.add("bind_addr", "want an IP address (got %q)", n.BindAddr)
	}
	if n.AdvertiseAddr != "" && net.ParseIP(n.AdvertiseAddr) == nil {
		es.add("advertise_addr", "want an IP address (got %q)", n.AdvertiseAddr)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"gossip_port", n.GossipPort}, {"raft_port", n.RaftPort}} {
		if p.v < 0 || p.v > 65535 {
			es.add(p.name, "want 1-65535 (got %d)", p.v)
		}
	}
	if _, _, err := net.SplitHostPort(n.APIAddr); err != nil {
		es.add("api_addr", "want host:port (got %q)", n.APIAddr)
	}
	if n.Role != "voter" && n.Role != "witness" {
		es.add("role", "want voter or witness (got %q)", n.Role)
	}
	if n.ClusterKey != "" {
		if _, err := n.Key(); err != nil {
			es.add("cluster_key", "%v", err)
		}
	}
	if n.FailureDetection != "fast" && n.FailureDetection != "lan" {
		es.add("failure_detection", "want fast or lan (got %q)", n.FailureDetection)
	}
	for name, p := range n.VIPPriority {
		if p < 1 || p > 255 {
			es.add("vip_priority."+name, "want 1-255 (got %d)", p)
		}
	}
	n.BGP.validate(&es)
	return es.err()
}

// Key decodes ClusterKey (base64 of 32 bytes); nil when unset.
func (n *Node) Key() ([]byte, error) {
	if n.ClusterKey == "" {
		return nil, nil
	}
	k, err := base64.StdEncoding.DecodeString(n.ClusterKey)
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("want the base64 of 32 bytes as printed by `tandem keygen`")
	}
	return k, nil
}
