package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadSettingsReadsBGPPeersFromFileAndFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tandem.yaml")
	if err := os.WriteFile(file, []byte(`node: lb1
advertise_addr: 10.1.0.11
bgp_asn: 65001
bgp_med: 20
bgp_peers:
  - {address: 10.1.0.1, asn: 65000, hold_time: 3s, password: s3cret}
  - {address: 10.1.0.2, asn: 65000, passive: true}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := newAgentCmd(&globals{})
	if err := cmd.ParseFlags([]string{"--config", file}); err != nil {
		t.Fatal(err)
	}
	af := &agentFlags{settingsFile: file}
	n, err := loadSettings(cmd, af)
	if err != nil {
		t.Fatal(err)
	}
	b := n.BGP
	if b.ASN != 65001 || b.RouterID != "10.1.0.11" || b.MED == nil || *b.MED != 20 || len(b.Peers) != 2 {
		t.Fatalf("bgp settings %+v", b)
	}
	if p := b.Peers[0]; p.Password != "s3cret" || p.HoldTime != 3*time.Second || p.Keepalive != time.Second || p.Port != 179 {
		t.Fatalf("peer 0 %+v", p)
	}
	if !b.Peers[1].Passive {
		t.Fatalf("peer 1 %+v", b.Peers[1])
	}
	bc := bgpSettings(n)
	if bc == nil || bc.ASN != 65001 || len(bc.Peers) != 2 || bc.Interface != "lo" {
		t.Fatalf("speaker config %+v", bc)
	}

	cmd = newAgentCmd(&globals{})
	if err := cmd.ParseFlags([]string{"--node", "lb1", "--bgp-asn", "65001", "--bgp-router-id", "10.0.0.9",
		"--bgp-peer", "address=not-an-ip,asn=65000"}); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(empty, []byte("log_level: info\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = loadSettings(cmd, &agentFlags{settingsFile: empty})
	if err == nil || !strings.Contains(err.Error(), `bgp_peers[0].address: want an IP address (got "not-an-ip")`) {
		t.Fatalf("bad peer address: %v", err)
	}
}
