package api

import "time"

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
