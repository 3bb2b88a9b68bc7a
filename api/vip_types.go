package api

import "time"

// VIPStatus is one virtual IP as this node sees it.
type VIPStatus struct {
	Name        string          `json:"name"`
	Address     string          `json:"address"`
	Holder      string          `json:"holder"` // "" when nobody may hold it
	State       string          `json:"state"`  // this node: init, backup, holder, fault
	Reason      string          `json:"reason,omitempty"`
	Nodes       []VIPNode       `json:"nodes"`
	Transitions []VIPTransition `json:"transitions,omitempty"`
	// Announce is "bgp" for a VIP announced by BGP ("" for ARP): then
	// Mode is ecmp or primary, State is announcing, graceful-shutdown or
	// withdrawn, Holder is the primary (mode primary) or every announcing
	// node (ecmp, comma-separated), and Nodes are the announcing nodes.
	Announce string `json:"announce,omitempty"`
	Mode     string `json:"mode,omitempty"`
}

// VIPNode is a node's standing for one VIP.
type VIPNode struct {
	Name     string `json:"name"`
	Alive    bool   `json:"alive"`
	Priority int    `json:"priority"`
	Eligible bool   `json:"eligible"`
	Holding  bool   `json:"holding"`
}

// VIPTransition is a change of this node's state for a VIP.
type VIPTransition struct {
	Time   time.Time `json:"time"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
}
