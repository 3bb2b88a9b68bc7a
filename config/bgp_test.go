package config

import (
	"strings"
	"testing"
	"time"
)

func TestBGPNodeSettingsRejectBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		peers string
		asn   uint32
		want  string // "" = valid
	}{
		{"valid", "address=10.0.0.1,asn=65000,hold_time=3s,keepalive=1s,password=s3cret", 65001, ""},
		{"no asn", "address=10.0.0.1,asn=65000", 0, "bgp_asn: want an AS number"},
		{"asn 4294967295", "address=10.0.0.1,asn=65000", 4294967295, "bgp_asn: want an AS number"},
		{"peer not an ip", "address=router1,asn=65000", 65001, `bgp_peers[0].address: want an IP address (got "router1")`},
		{"peer without asn", "address=10.0.0.1", 65001, "bgp_peers[0].asn"},
		{"hold time 1s", "address=10.0.0.1,asn=65000,hold_time=1", 65001, "hold_time: want 0 or 3s-65535s"},
		{"keepalive above hold", "address=10.0.0.1,asn=65000,hold_time=3s,keepalive=5s", 65001, "keepalive: want less than hold_time"},
		{"duplicate", "address=10.0.0.1,asn=65000;address=10.0.0.1,asn=65000", 65001, "duplicate peer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peers, err := ParseBGPPeers(tc.peers)
			if err != nil {
				t.Fatal(err)
			}
			n := Node{Name: "lb1", BindAddr: "10.0.0.2", BGP: BGPNode{ASN: tc.asn, Peers: peers}}
			n.ApplyDefaults()
			err = n.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid settings refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if tc.want == "" {
				p := n.BGP.Peers[0]
				if n.BGP.RouterID != "10.0.0.2" || p.Port != 179 || p.HoldTime != 3*time.Second || p.Keepalive != time.Second || p.Password != "s3cret" {
					t.Fatalf("defaults: router id %q, peer %+v", n.BGP.RouterID, p)
				}
			}
		})
	}
	if _, err := ParseBGPPeers("address=10.0.0.1,asn=x"); err == nil || !strings.Contains(err.Error(), "asn: bad value") {
		t.Fatalf("asn=x: %v", err)
	}
	if _, err := ParseBGPPeers("address=10.0.0.1,color=red"); err == nil || !strings.Contains(err.Error(), `unknown key "color"`) {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestBGPPeersFromAFileList(t *testing.T) {
	peers, err := ParseBGPPeers([]any{map[string]any{"address": "10.0.0.1", "asn": 65000, "passive": true, "multihop": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 1 || peers[0].ASN != 65000 || !peers[0].Passive || peers[0].Multihop != 2 {
		t.Fatalf("peers %+v", peers)
	}
}

func TestVIPAnnounceValidation(t *testing.T) {
	base := func(v VIP) *Cluster {
		return &Cluster{VIPs: []VIP{v}}
	}
	for _, tc := range []struct {
		v    VIP
		want string
	}{
		{VIP{Name: "v", Address: "10.0.0.1/32", Announce: "bgp", Mode: "primary", Communities: []string{"65000:1"}, LargeCommunities: []string{"65000:1:2"}}, ""},
		{VIP{Name: "v", Address: "10.0.0.1/32", Announce: "ospf"}, `announce: want arp or bgp (got "ospf")`},
		{VIP{Name: "v", Address: "10.0.0.1/32", Announce: "bgp", Mode: "anycast"}, `mode: want ecmp or primary`},
		{VIP{Name: "v", Address: "10.0.0.1/32", Announce: "bgp", Communities: []string{"70000:1"}}, "community: want ASN:VALUE"},
		{VIP{Name: "v", Address: "10.0.0.1/32", Announce: "bgp", LargeCommunities: []string{"1:2"}}, "large community: want ASN:DATA1:DATA2"},
		{VIP{Name: "v", Address: "10.0.0.1/32", Mode: "ecmp"}, "need announce: bgp"},
		{VIP{Name: "v", Address: "10.0.0.1/32", Announce: "bgp", Mode: "primary", PreemptDelay: Duration(time.Second)}, "preempt_delay: not supported with announce: bgp"},
	} {
		err := base(tc.v).Validate()
		var msgs []string
		if es, ok := err.(Errors); ok {
			for _, e := range es {
				if strings.HasPrefix(e.Path, "vips") {
					msgs = append(msgs, e.Error())
				}
			}
		}
		got := strings.Join(msgs, "; ")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%+v: errors %q, want %q", tc.v, got, tc.want)
		}
	}
	if c, _ := ParseCommunity("65535:0"); c != 0xFFFF0000 {
		t.Errorf("65535:0 = %#x", c)
	}
}
