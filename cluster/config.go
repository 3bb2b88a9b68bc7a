package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Failure-detection defaults (memberlist), chosen from the measurements in
// DESIGN.md "VIP election": separate processes, SIGKILL of a peer, 50 ms
// probes with a 25 ms probe timeout, suspicion multiplier 6 and 20 ms
// gossip detected a dead node in a median 0.38–0.39 s and never declared a
// live node dead across a 300 ms freeze (0/30), but did at 400 ms (8/10).
// memberlist's LAN profile (1 s probes, 5 s suspicion) takes ~6 s. Raise
// these on hosts that stall longer than ~300 ms (busy VMs, an agent niced
// below its load); lower SuspicionMult for faster but flappier failover.
const (
	DefaultProbeInterval  = 50 * time.Millisecond
	DefaultProbeTimeout   = 25 * time.Millisecond
	DefaultGossipInterval = 20 * time.Millisecond
	DefaultSuspicionMult  = 6
)

// Config is one node's cluster settings. They are per host and never
// replicated.
type Config struct {
	// Node is this node's unique name; Raft server ID and gossip name.
	Node string
	// DataDir holds raft/raft.db (log and stable store), raft/snapshots
	// and state.json (the last committed state). Created if missing.
	DataDir string
	// BindAddr is the IP gossip and Raft listen on, e.g. 0.0.0.0 or 127.0.0.1.
	BindAddr string
	// AdvertiseAddr is the IP other nodes reach this one at. Default:
	// BindAddr unless it is unspecified (0.0.0.0, ::), else the first
	// private IPv4 address of the host.
	AdvertiseAddr string
	// GossipPort is the memberlist port, TCP and UDP
	// (config.DefaultGossipPort, 7946). 0 picks a free port at Run (tests).
	GossipPort int
	// RaftPort carries Raft and forwarded writes, TCP
	// (config.DefaultRaftPort, 7947). 0 picks a free port at Run (tests).
	RaftPort int
	// APIAddr is this node's admin API address, gossiped so that CLIs and
	// peers can find it.
	APIAddr string
	// Join lists gossip addresses ("host" or "host:port"; without a port,
	// this node's GossipPort) of existing members. Empty on the first node
	// of a new cluster, which then bootstraps Raft with itself.
	Join []string
	// Role is voter (an LB node) or witness (gossip and Raft vote only).
	Role Role
	// ClusterKey, 32 bytes (`tandem keygen` prints it in base64), encrypts
	// gossip (AES-256-GCM) and authenticates and encrypts Raft (mutual
	// TLS 1.3 with a CA derived from the key).
	ClusterKey []byte
	// Insecure allows running without ClusterKey on a non-loopback
	// BindAddr: gossip and Raft in the clear, anyone who can reach the
	// ports can join.
	Insecure bool
	// TLSCA, TLSCert, TLSKey are PEM files for Raft's mutual TLS from the
	// operator's own CA, instead of the key-derived one. All or none.
	TLSCA, TLSCert, TLSKey string
	// ProbeInterval, ProbeTimeout, GossipInterval and SuspicionMult tune
	// memberlist's failure detection; zero takes the Default* constants
	// above (≈0.4 s to declare a dead peer).
	ProbeInterval, ProbeTimeout, GossipInterval time.Duration
	SuspicionMult                               int
}

func (n *Node) validate() error {
	c := &n.cfg
	if c.Node == "" {
		return errors.New("cluster: node name is empty: set node (default: the host name)")
	}
	if c.Role != RoleVoter && c.Role != RoleWitness {
		return fmt.Errorf("cluster: role %v: want voter or witness", c.Role)
	}
	if err := checkDataDir(c.DataDir); err != nil {
		return err
	}
	bind := net.ParseIP(c.BindAddr)
	if bind == nil {
		return fmt.Errorf("cluster: bind_addr %q: want an IP address such as 0.0.0.0 or 127.0.0.1", c.BindAddr)
	}
	if c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil {
		return fmt.Errorf("cluster: advertise_addr %q: want an IP address", c.AdvertiseAddr)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"gossip_port", c.GossipPort}, {"raft_port", c.RaftPort}} {
		if p.v < 0 || p.v > 65535 {
			return fmt.Errorf("cluster: %s %d: want 1-65535", p.name, p.v)
		}
	}
	if c.GossipPort != 0 && c.GossipPort == c.RaftPort {
		return fmt.Errorf("cluster: gossip_port and raft_port are both %d: they must differ", c.GossipPort)
	}
	if len(c.ClusterKey) != 0 && len(c.ClusterKey) != 32 {
		return fmt.Errorf("cluster: cluster_key is %d bytes: want 32 (run `tandem keygen`)", len(c.ClusterKey))
	}
	if c.ProbeInterval < 0 || c.ProbeTimeout < 0 || c.GossipInterval < 0 || c.SuspicionMult < 0 {
		return errors.New("cluster: failure detection settings must not be negative")
	}
	var err error
	if n.tls, err = raftTLS(c); err != nil {
		return err
	}
	if len(c.ClusterKey) == 0 && !bind.IsLoopback() && !c.Insecure {
		return fmt.Errorf("cluster: no cluster_key while binding %s, beyond loopback: anyone who reaches the gossip and raft ports could join and rewrite the config; "+
			"run `tandem keygen` and set the same cluster_key on every node, or pass --insecure on a trusted network", c.BindAddr)
	}
	n.advertise = c.AdvertiseAddr
	if n.advertise == "" {
		n.advertise = c.BindAddr
		if bind.IsUnspecified() {
			ip, err := privateIP()
			if err != nil {
				return fmt.Errorf("cluster: advertise_addr: %w", err)
			}
			n.advertise = ip
		}
	}
	return nil
}

// checkDataDir creates dir if needed and proves it is writable.
func checkDataDir(dir string) error {
	if dir == "" {
		return errors.New("cluster: data_dir is empty: set data_dir (default /var/lib/tandem)")
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("cluster: data_dir %s is not a directory", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "raft", "snapshots"), 0o700); err != nil {
		return fmt.Errorf("cluster: data_dir %s: %w (create it, or run as a user that may write it)", dir, err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("cluster: data_dir %s is not writable: %w (fix its owner or mode, or choose another data_dir)", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// privateIP returns the host's first private IPv4 address.
func privateIP() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsPrivate() {
			return ipn.IP.String(), nil
		}
	}
	return "", errors.New("bind_addr is unspecified and the host has no private IPv4 address: set advertise_addr")
}

// raftTLS returns Raft's TLS config: from the operator's files, else
// derived from the cluster key, else nil (plain TCP).
func raftTLS(c *Config) (*tls.Config, error) {
	files := 0
	for _, f := range []string{c.TLSCA, c.TLSCert, c.TLSKey} {
		if f != "" {
			files++
		}
	}
	var (
		conf *tls.Config
		err  error
	)
	switch {
	case files == 3:
		conf, err = fileTLSConfig(c.TLSCA, c.TLSCert, c.TLSKey)
	case files != 0:
		return nil, errors.New("cluster: tls_ca, tls_cert and tls_key go together: set all three or none")
	case len(c.ClusterKey) == 32:
		conf, err = keyTLSConfig(c.Node, c.ClusterKey, time.Now())
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return conf, nil
}
