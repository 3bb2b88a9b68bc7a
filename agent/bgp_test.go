package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/tandem-lb/tandem/config"
)

// A VIP with announce: bgp on a node without BGP peers is a visible fault,
// and the ARP VIP manager never gets it.
func TestBGPVIPWithoutPeersIsAFault(t *testing.T) {
	s1, s2 := startSite(t, "server1"), startSite(t, "server2")
	c := articleConfig(freeAddr(t), 0, s1, s2)
	c.VIPs = []config.VIP{
		{Name: "web", Address: "192.0.2.10/32", Frontends: []string{c.Frontends[0].Name}, Announce: config.AnnounceBGP},
		{Name: "old", Address: "192.0.2.11/24"},
	}
	ra := startAgent(t, c)
	vips, err := ra.client.VIPs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(vips) != 1 || vips[0].Name != "web" || vips[0].State != "fault" || !strings.Contains(vips[0].Reason, "no BGP peers") {
		t.Fatalf("vips %+v, want web in fault: no BGP peers", vips)
	}
	if got := arpVIPs(c.VIPs); len(got) != 1 || got[0].Name != "old" {
		t.Fatalf("ARP VIPs %+v, want only old", got)
	}
}
