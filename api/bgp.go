package api

import (
	"strconv"
	"time"
)

// BGPStatus is this node's BGP speaker: its sessions and BGP VIPs.
type BGPStatus struct {
	ASN      uint32       `json:"asn"`
	RouterID string       `json:"router_id"`
	Sessions []BGPSession `json:"sessions"`
	VIPs     []BGPVIP     `json:"vips,omitempty"`
}

// BGPSession is one BGP peer's session.
type BGPSession struct {
	Peer string `json:"peer"`
	ASN  uint32 `json:"asn"`
	// State: idle, connect, active, opensent, openconfirm, established.
	State string `json:"state"`
	// Since is when the session was established; UptimeSeconds how long ago.
	Since         *time.Time `json:"since,omitempty"`
	UptimeSeconds float64    `json:"uptime_seconds,omitempty"`
	PrefixesSent  uint64     `json:"prefixes_sent"`
}

// BGPVIP is one BGP VIP on this node.
type BGPVIP struct {
	Name       string   `json:"name"`
	Prefix     string   `json:"prefix"`
	Mode       string   `json:"mode"`
	Announcing bool     `json:"announcing"`
	State      string   `json:"state"` // announcing, graceful-shutdown, withdrawn
	Reason     string   `json:"reason,omitempty"`
	Holder     string   `json:"holder,omitempty"` // mode primary: the elected primary
	Announcers []string `json:"announcers"`
	Error      string   `json:"error,omitempty"`
}

// emitBGP sends the BGP sessions and the BGP VIPs' announcers.
func emitBGP(e emitter, st Status) {
	for _, v := range st.VIPs {
		if v.Announce != "bgp" {
			continue
		}
		for _, n := range v.Nodes {
			e.gauge("vip_announcer", 1, v.Name, v.Address, n.Name)
		}
		e.gauge("vip_local_holding", b2f(v.State == "announcing" || v.State == "graceful-shutdown"), v.Name, v.Address)
	}
	if st.BGP == nil {
		return
	}
	for _, s := range st.BGP.Sessions {
		e.gauge("bgp_session_up", b2f(s.State == "established"), s.Peer, strconv.FormatUint(uint64(s.ASN), 10), s.State)
		e.gauge("bgp_session_uptime_seconds", s.UptimeSeconds, s.Peer)
		e.gauge("bgp_prefixes_sent", float64(s.PrefixesSent), s.Peer)
	}
}
