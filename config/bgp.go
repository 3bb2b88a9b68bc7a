package config

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// VIP announce methods and BGP modes (VIP.Announce, VIP.Mode).
const (
	AnnounceARP = "arp"
	AnnounceBGP = "bgp"
	BGPModeECMP = "ecmp"
	// BGPModePrimary: the elected holder announces the best path, the
	// other ready nodes a path with a longer AS path.
	BGPModePrimary = "primary"
)

// IsBGP reports whether the VIP is announced by BGP rather than ARP.
func (v VIP) IsBGP() bool { return v.Announce == AnnounceBGP }

// BGPMode is Mode with its default (ecmp).
func (v VIP) BGPMode() string {
	if v.Mode == "" {
		return BGPModeECMP
	}
	return v.Mode
}

func (v *VIP) validateAnnounce(es *Errors, path string) {
	switch v.Announce {
	case "", AnnounceARP:
		if v.Mode != "" || len(v.Communities) > 0 || len(v.LargeCommunities) > 0 {
			es.add(path, "mode, communities and large_communities need announce: bgp")
		}
		return
	case AnnounceBGP:
	default:
		es.add(path+".announce", "want arp or bgp (got %q)", v.Announce)
		return
	}
	if m := v.Mode; m != "" && m != BGPModeECMP && m != BGPModePrimary {
		es.add(path+".mode", "want ecmp or primary (got %q)", m)
	}
	if v.PreemptDelay > 0 {
		es.add(path+".preempt_delay", "not supported with announce: bgp (the primary's path moves at once; preempt: false keeps the current primary)")
	}
	for _, c := range v.Communities {
		if _, err := ParseCommunity(c); err != nil {
			es.add(path+".communities", "%v", err)
		}
	}
	for _, c := range v.LargeCommunities {
		if _, err := ParseLargeCommunity(c); err != nil {
			es.add(path+".large_communities", "%v", err)
		}
	}
}

// ParseCommunity reads an RFC 1997 community "ASN:VALUE" (each 0-65535)
// into its 32-bit value.
func ParseCommunity(s string) (uint32, error) {
	a, b, ok := strings.Cut(s, ":")
	hi, err1 := strconv.ParseUint(a, 10, 16)
	lo, err2 := strconv.ParseUint(b, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("community: want ASN:VALUE, each 0-65535 (got %q)", s)
	}
	return uint32(hi)<<16 | uint32(lo), nil
}

// ParseLargeCommunity reads an RFC 8092 large community "ASN:DATA1:DATA2"
// (each 0-4294967295).
func ParseLargeCommunity(s string) ([3]uint32, error) {
	var out [3]uint32
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return out, fmt.Errorf("large community: want ASN:DATA1:DATA2 (got %q)", s)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return out, fmt.Errorf("large community: want ASN:DATA1:DATA2, each 0-4294967295 (got %q)", s)
		}
		out[i] = uint32(n)
	}
	return out, nil
}

// BGPNode is one node's BGP speaker settings (node settings, never
// replicated; embedded in Node).
type BGPNode struct {
	// ASN is this node's autonomous system number, 1-4294967294. Required
	// with bgp_peers.
	ASN uint32 `mapstructure:"bgp_asn"`
	// RouterID is the BGP identifier, an IPv4 address (default: the
	// advertise address, else the bind address).
	RouterID string `mapstructure:"bgp_router_id"`
	// Peers are the routers this node announces its BGP VIPs to. In a file
	// a list of maps; in env and flags "address=10.0.0.1,asn=65000,..."
	// (one --bgp-peer flag per peer; env: peers separated by ';').
	Peers []BGPPeer `mapstructure:"-"`
	// MED, when set, is sent as MULTI_EXIT_DISC with every announcement.
	MED *uint32 `mapstructure:"-"`
	// VIPInterface is where the addresses of BGP VIPs are bound (default
	// lo). An interface that does not exist is created as a dummy.
	VIPInterface string `mapstructure:"bgp_vip_interface"`
	// ShutdownWait is how long a planned stop or drain announces the VIPs
	// with the GRACEFUL_SHUTDOWN community (RFC 8326) before withdrawing
	// them, so that routers move new flows first (default 2s).
	ShutdownWait time.Duration `mapstructure:"bgp_shutdown_wait"`
	// ListenPort is the port passive peers connect to (default 179, only
	// listened on when a peer is passive).
	ListenPort int `mapstructure:"bgp_listen_port"`
}

// BGPPeer is one BGP neighbour.
type BGPPeer struct {
	// Address is the peer's IP address.
	Address string `mapstructure:"address"`
	// ASN is the peer's AS number.
	ASN uint32 `mapstructure:"asn"`
	// Port is the peer's BGP port (default 179).
	Port int `mapstructure:"port"`
	// Password enables TCP MD5 signatures (RFC 2385) with this key.
	Password string `mapstructure:"password"`
	// HoldTime is the proposed hold time (default 90s; 0 or at least 3s):
	// a killed node's routes are withdrawn by the router after it.
	HoldTime time.Duration `mapstructure:"hold_time"`
	// Keepalive is the keepalive interval (default a third of HoldTime).
	Keepalive time.Duration `mapstructure:"keepalive"`
	// Multihop, when above 0, allows an eBGP peer this many hops away
	// (the TTL of the session's packets).
	Multihop int `mapstructure:"multihop"`
	// Passive waits for the peer to connect instead of connecting.
	Passive bool `mapstructure:"passive"`
}

// Defaults of BGPNode and BGPPeer.
const (
	DefaultBGPVIPInterface = "lo"
	DefaultBGPShutdownWait = 2 * time.Second
	DefaultBGPPort         = 179
	DefaultBGPHoldTime     = 90 * time.Second
)

// ApplyDefaults fills unset BGP settings; advertise is the node's
// advertise (or bind) address.
func (b *BGPNode) ApplyDefaults(advertise string) {
	if b.RouterID == "" {
		if a, err := netip.ParseAddr(advertise); err == nil && a.Is4() && !a.IsUnspecified() {
			b.RouterID = advertise
		}
	}
	b.VIPInterface = pick(b.VIPInterface, DefaultBGPVIPInterface)
	b.ShutdownWait = pick(b.ShutdownWait, DefaultBGPShutdownWait)
	b.ListenPort = pick(b.ListenPort, DefaultBGPPort)
	for i := range b.Peers {
		p := &b.Peers[i]
		p.Port = pick(p.Port, DefaultBGPPort)
		p.HoldTime = pick(p.HoldTime, DefaultBGPHoldTime)
		p.Keepalive = pick(p.Keepalive, p.HoldTime/3)
	}
}

// Enabled reports whether this node runs a BGP speaker.
func (b *BGPNode) Enabled() bool { return len(b.Peers) > 0 }

func (b *BGPNode) validate(es *Errors) {
	if !b.Enabled() {
		return
	}
	if b.ASN == 0 || b.ASN == math.MaxUint32 {
		es.add("bgp_asn", "want an AS number 1-4294967294 (got %d)", b.ASN)
	}
	if a, err := netip.ParseAddr(b.RouterID); err != nil || !a.Is4() {
		es.add("bgp_router_id", "want an IPv4 address (got %q; the default is the advertise address, which is not IPv4 here)", b.RouterID)
	}
	if b.ShutdownWait < 0 {
		es.add("bgp_shutdown_wait", "must not be negative")
	}
	if b.ListenPort < 1 || b.ListenPort > 65535 {
		es.add("bgp_listen_port", "want 1-65535 (got %d)", b.ListenPort)
	}
	seen := map[string]bool{}
	for i, p := range b.Peers {
		path := fmt.Sprintf("bgp_peers[%d]", i)
		a, err := netip.ParseAddr(p.Address)
		switch {
		case err != nil:
			es.add(path+".address", "want an IP address (got %q)", p.Address)
		case seen[a.String()]:
			es.add(path+".address", "duplicate peer %s", a)
		}
		seen[a.String()] = true
		if p.ASN == 0 || p.ASN == math.MaxUint32 {
			es.add(path+".asn", "want an AS number 1-4294967294 (got %d)", p.ASN)
		}
		if p.Port < 1 || p.Port > 65535 {
			es.add(path+".port", "want 1-65535 (got %d)", p.Port)
		}
		if p.HoldTime != 0 && (p.HoldTime < 3*time.Second || p.HoldTime > 65535*time.Second) {
			es.add(path+".hold_time", "want 0 or 3s-65535s (got %s)", p.HoldTime)
		}
		if p.Keepalive < 0 || p.HoldTime > 0 && p.Keepalive >= p.HoldTime {
			es.add(path+".keepalive", "want less than hold_time (got %s)", p.Keepalive)
		}
		if p.Multihop < 0 || p.Multihop > 255 {
			es.add(path+".multihop", "want 0 (off) or a TTL 1-255 (got %d)", p.Multihop)
		}
	}
}

// ParseBGPPeers reads bgp_peers: a list of maps (file), or strings
// "address=IP,asn=N[,port=N][,password=S][,hold_time=D][,keepalive=D]
// [,multihop=N][,passive=true]" (flags: one per peer; env: ';' between
// peers).
func ParseBGPPeers(raw any) ([]BGPPeer, error) {
	var items []map[string]string
	switch v := raw.(type) {
	case nil:
		return nil, nil
	case string:
		for _, s := range strings.Split(v, ";") {
			if s = strings.TrimSpace(s); s != "" {
				m, err := peerFields(s)
				if err != nil {
					return nil, err
				}
				items = append(items, m)
			}
		}
	case []string:
		for _, s := range v {
			m, err := peerFields(s)
			if err != nil {
				return nil, err
			}
			items = append(items, m)
		}
	case []any:
		for _, x := range v {
			var m map[string]string
			var err error
			switch y := x.(type) {
			case string:
				m, err = peerFields(y)
			case map[string]any:
				m = map[string]string{}
				for k, val := range y {
					m[k] = fmt.Sprint(val)
				}
			default:
				err = fmt.Errorf("bgp_peers: want a map or address=...,asn=... (got %v)", x)
			}
			if err != nil {
				return nil, err
			}
			items = append(items, m)
		}
	default:
		return nil, fmt.Errorf("bgp_peers: want a list of peers (got %v)", raw)
	}
	out := make([]BGPPeer, 0, len(items))
	for i, m := range items {
		p, err := peerFromFields(m)
		if err != nil {
			return nil, fmt.Errorf("bgp_peers[%d]: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func peerFields(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("bgp_peers: want key=value pairs like address=10.0.0.1,asn=65000 (got %q)", s)
		}
		m[k] = v
	}
	return m, nil
}

func peerFromFields(m map[string]string) (BGPPeer, error) {
	var p BGPPeer
	for k, v := range m {
		var err error
		switch k {
		case "address":
			p.Address = v
		case "asn":
			var n uint64
			n, err = strconv.ParseUint(v, 10, 32)
			p.ASN = uint32(n)
		case "port":
			p.Port, err = strconv.Atoi(v)
		case "password":
			p.Password = v
		case "hold_time":
			p.HoldTime, err = parseSeconds(v)
		case "keepalive":
			p.Keepalive, err = parseSeconds(v)
		case "multihop":
			p.Multihop, err = strconv.Atoi(v)
		case "passive":
			p.Passive, err = strconv.ParseBool(v)
		default:
			return p, fmt.Errorf("unknown key %q (want address, asn, port, password, hold_time, keepalive, multihop, passive)", k)
		}
		if err != nil {
			return p, fmt.Errorf("%s: bad value %q", k, v)
		}
	}
	return p, nil
}

// parseSeconds reads a duration ("3s") or a plain number of seconds.
func parseSeconds(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// ParseMED reads bgp_med; nil when unset.
func ParseMED(raw any) (*uint32, error) {
	if raw == nil || fmt.Sprint(raw) == "" {
		return nil, nil
	}
	n, err := strconv.ParseUint(fmt.Sprint(raw), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("bgp_med: want a number 0-4294967295 (got %v)", raw)
	}
	m := uint32(n)
	return &m, nil
}
