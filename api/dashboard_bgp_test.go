package api

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/tandem-lb/tandem/balancer"
)

func TestDashboardShowsBGPAnnouncersAndSessions(t *testing.T) {
	st := dashboardStatus()
	since := time.Date(2026, 11, 25, 9, 0, 0, 0, time.Local)
	st.VIPs = []VIPStatus{{Name: "web", Address: "192.0.2.10/32", Announce: "bgp", Mode: "ecmp", Holder: "lb1,lb2", State: "announcing",
		Nodes: []VIPNode{{Name: "lb1", Alive: true, Eligible: true, Holding: true}, {Name: "lb2", Alive: true, Eligible: true, Holding: true}}}}
	st.BGP = &BGPStatus{ASN: 65001, RouterID: "10.0.0.2", Sessions: []BGPSession{
		{Peer: "10.0.0.1", ASN: 65000, State: "established", Since: &since, PrefixesSent: 1},
		{Peer: "10.0.0.9", ASN: 65000, State: "active"},
	}}
	d, err := NewDashboard(fakeStatus{st}, oneNode(balancer.Stats{}))
	if err != nil {
		t.Fatal(err)
	}
	doc := render(t, d, time.Now())
	vips := text(find(doc, byAttr("id", "vips"))[0])
	for _, want := range []string{"bgp ecmp", "announced by lb1,lb2", "announcing", "BGP sessions", "AS 65001"} {
		if !strings.Contains(vips, want) {
			t.Errorf("VIP panel lacks %q:\n%s", want, vips)
		}
	}
	for peer, want := range map[string]string{"10.0.0.1": "established", "10.0.0.9": "active"} {
		rows := find(doc, byAttr("data-peer", peer))
		if len(rows) != 1 || !strings.Contains(text(rows[0]), want) {
			t.Errorf("session row of %s: %v, want %s", peer, rows, want)
		}
	}
}

func TestMetricsShowBGPSessionsAndAnnouncers(t *testing.T) {
	st := Status{Node: "lb1", VIPs: []VIPStatus{{Name: "web", Address: "192.0.2.10/32", Announce: "bgp", State: "announcing",
		Nodes: []VIPNode{{Name: "lb1"}, {Name: "lb2"}}}},
		BGP: &BGPStatus{Sessions: []BGPSession{{Peer: "10.0.0.1", ASN: 65000, State: "established", UptimeSeconds: 5, PrefixesSent: 1}}}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(fakeStatus{st}, emptyStats{}))
	var buf bytes.Buffer
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	out := buf.String()
	for _, want := range []string{
		`tandem_bgp_session_up{peer="10.0.0.1",peer_asn="65000",state="established"} 1`,
		`tandem_bgp_prefixes_sent{peer="10.0.0.1"} 1`,
		`tandem_vip_announcer{address="192.0.2.10/32",node="lb2",vip="web"} 1`,
		`tandem_vip_local_holding{address="192.0.2.10/32",vip="web"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
