package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Stats holds HAProxy's operational interfaces (the global section's
// "stats socket" and "stats timeout", and "stats uri" of a stats-enabled
// proxy). Every LB node serves them.
type Stats struct {
	// StatsSockets are runtime API sockets (HAProxy's "stats socket"),
	// speaking HAProxy's text protocol. A change made on one node's socket
	// goes through the replicated state and applies on every node.
	StatsSockets []StatsSocket `yaml:"stats_sockets,omitempty" json:"stats_sockets,omitempty"`
	// StatsTimeout closes a runtime API connection idle this long
	// (HAProxy's "stats timeout"; 0: DefaultStatsTimeout, 10s).
	StatsTimeout Duration `yaml:"stats_timeout,omitempty" json:"stats_timeout,omitempty"`
	// StatsURI is where the admin API serves HAProxy's stats page: the
	// dashboard at STATS_URI and HAProxy's CSV at STATS_URI;csv (HAProxy's
	// "stats uri"; "": DefaultStatsURI, "/haproxy?stats").
	StatsURI string `yaml:"stats_uri,omitempty" json:"stats_uri,omitempty"`
}

// StatsSocket is one runtime API listener.
type StatsSocket struct {
	// Address is a unix socket path ("/run/tandem/admin.sock", or
	// "unix@PATH") or a TCP address ("ipv4@127.0.0.1:9999",
	// "ipv6@[::1]:9999"). "{node}" in it is replaced by the node's name,
	// so that several nodes on one host get a socket each.
	Address string `yaml:"address" json:"address"`
	// Mode is the unix socket file's permissions in octal, as HAProxy
	// writes them ("600"; default "600": only the agent's user).
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// Level is what the socket may do: "user" (read non-sensitive stats),
	// "operator" (default: read everything, clear max counters) or
	// "admin" (every command, including state changes).
	Level string `yaml:"level,omitempty" json:"level,omitempty"`
}

// Stats defaults (HAProxy's).
const (
	DefaultStatsTimeout = Duration(10 * time.Second)
	DefaultStatsURI     = "/haproxy?stats"
	DefaultStatsMode    = 0o600
	DefaultStatsLevel   = "operator"
)

// SocketAddr is a parsed StatsSocket.Address: Network is "unix" or "tcp".
type SocketAddr struct {
	Network string
	Address string // a path, or host:port
}

// ParseSocketAddr reads a stats socket address as HAProxy writes it.
func ParseSocketAddr(s string) (SocketAddr, error) {
	switch {
	case s == "":
		return SocketAddr{}, fmt.Errorf("required: a unix socket path like /run/tandem/admin.sock or ipv4@127.0.0.1:9999")
	case strings.HasPrefix(s, "unix@"):
		s = strings.TrimPrefix(s, "unix@")
		if s == "" {
			return SocketAddr{}, fmt.Errorf("unix@: want a path after @")
		}
		return SocketAddr{Network: "unix", Address: s}, nil
	case strings.HasPrefix(s, "ipv4@"), strings.HasPrefix(s, "ipv6@"):
		hp := s[len("ipv4@"):]
		ap, err := netip.ParseAddrPort(hp)
		if err != nil {
			return SocketAddr{}, fmt.Errorf("%q: want an IP address and a port like ipv4@127.0.0.1:9999 or ipv6@[::1]:9999", s)
		}
		if v4 := strings.HasPrefix(s, "ipv4@"); v4 != ap.Addr().Is4() {
			return SocketAddr{}, fmt.Errorf("%q: the prefix does not match the address family", s)
		}
		return SocketAddr{Network: "tcp", Address: ap.String()}, nil
	case strings.Contains(s, "@"):
		return SocketAddr{}, fmt.Errorf("%q: unsupported address family (want a path, unix@PATH, ipv4@ or ipv6@)", s)
	case strings.HasPrefix(s, "/"), strings.HasPrefix(s, "."):
		return SocketAddr{Network: "unix", Address: s}, nil
	}
	// HAProxy reads "127.0.0.1:9999" as an IPv4 address, anything else as a path.
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return SocketAddr{Network: "tcp", Address: ap.String()}, nil
	}
	return SocketAddr{Network: "unix", Address: s}, nil
}

// FileMode returns the socket file's permissions (DefaultStatsMode if unset).
func (s StatsSocket) FileMode() (uint32, error) {
	if s.Mode == "" {
		return DefaultStatsMode, nil
	}
	m, err := strconv.ParseUint(s.Mode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("%q: want octal permissions like 600 or 660", s.Mode)
	}
	return uint32(m), nil
}

// LevelOrDefault returns Level, or DefaultStatsLevel when unset.
func (s StatsSocket) LevelOrDefault() string {
	if s.Level == "" {
		return DefaultStatsLevel
	}
	return s.Level
}

func (st *Stats) validate(es *Errors) {
	seen := map[string]bool{}
	for i, s := range st.StatsSockets {
		path := fmt.Sprintf("global.stats_sockets[%d]", i)
		if _, err := ParseSocketAddr(s.Address); err != nil {
			es.add(path+".address", "%v", err)
		} else if seen[s.Address] {
			es.add(path+".address", "duplicate socket %q", s.Address)
		}
		seen[s.Address] = true
		if _, err := s.FileMode(); err != nil {
			es.add(path+".mode", "%v", err)
		}
		switch s.Level {
		case "", "user", "operator", "admin":
		default:
			es.add(path+".level", "%q: want user, operator or admin", s.Level)
		}
	}
	if st.StatsTimeout < 0 {
		es.add("global.stats_timeout", "must not be negative")
	}
	if u := st.StatsURI; u != "" && (!strings.HasPrefix(u, "/") || strings.ContainsAny(u, " \t\r\n#")) {
		es.add("global.stats_uri", "%q: want a path starting with / (a query like /haproxy?stats is allowed)", u)
	}
}
