package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

func statusFixture() api.Status {
	return api.Status{
		Node: "lb1", Role: "voter", Version: 3, Quorum: true,
		Members: []api.Member{{Name: "lb1", Addr: "127.0.0.1:7946", Role: "voter", Status: "alive", Voter: true, Leader: true, Version: 3},
			{Name: "lb2-long-name", Addr: "127.0.0.1:17946", Role: "voter", Status: "dead", Voter: true}},
		Raft:      &api.RaftStatus{State: "Leader", Leader: "lb1", Term: 2, Voters: 2},
		Frontends: []api.FrontendStatus{{Name: "http-in", Mode: "http", Bind: []string{"*:80"}, Ready: true, Requests: 12}},
		Servers: []api.ServerStatus{
			{Backend: "web", Server: "server1", Address: "192.168.1.2:8001", Admin: config.AdminReady, Weight: 1,
				Agreed: config.HealthUp, Own: config.HealthUp, Routed: true,
				Views: map[string]config.Health{"lb1": config.HealthUp, "lb2-long-name": config.HealthDown}, LastCheck: "HTTP 200"},
			{Backend: "web", Server: "server2", Address: "192.168.1.2:8002", Admin: config.AdminDrain, Weight: 1,
				Agreed: config.HealthDown, Own: config.HealthDown, Errors: 4},
		},
		VIPs: []api.VIPStatus{{Name: "front", Address: "192.0.2.10/24", Holder: "lb1", State: "holder",
			Nodes: []api.VIPNode{{Name: "lb1", Alive: true, Priority: 100, Eligible: true, Holding: true}}}},
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

func TestStatusColourChangesNothingButEscapes(t *testing.T) {
	var plain, colour bytes.Buffer
	printStatus(&plain, statusFixture(), false)
	printStatus(&colour, statusFixture(), true)
	if strings.Contains(plain.String(), "\x1b") {
		t.Error("uncoloured output has escape codes")
	}
	if !strings.Contains(colour.String(), "\x1b[31mdown\x1b[0m") {
		t.Error("coloured output does not colour a down server red")
	}
	if diff := cmp.Diff(plain.String(), ansi.ReplaceAllString(colour.String(), "")); diff != "" {
		t.Errorf("coloured output without escapes differs (-plain +stripped):\n%s", diff)
	}
}

func TestStatusTablesAligned(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, statusFixture(), false)
	// In each table, every column starts where its header starts.
	for _, block := range strings.Split(b.String(), "\n\n") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		if len(lines) < 2 || !regexp.MustCompile(`^[A-Z ()]+$`).MatchString(strings.Fields(lines[0])[0]) {
			continue
		}
		starts := columnStarts(lines[0])
		for _, l := range lines[1:] {
			for _, s := range starts[1:] {
				if s >= len(l) || l[s-1] != ' ' || l[s] == ' ' {
					t.Errorf("column at %d misaligned in %q (header %q)", s, l, lines[0])
					break
				}
			}
		}
	}
	for _, want := range []string{"lb1=up,lb2-long-name=down", "server2", "front", "leader"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

// columnStarts returns where header words separated by 2+ spaces start.
func columnStarts(h string) []int {
	var out []int
	for _, m := range regexp.MustCompile(`(^|  )\S`).FindAllStringIndex(h, -1) {
		out = append(out, m[1]-1)
	}
	return out
}

func TestColorModeOnlyOnTerminal(t *testing.T) {
	f, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Setenv("NO_COLOR", "")
	tests := []struct {
		mode string
		w    any
		want bool
	}{
		{"auto", &bytes.Buffer{}, false},
		{"auto", f, false},
		{"always", &bytes.Buffer{}, true},
		{"never", f, false},
	}
	for _, tt := range tests {
		got, err := colorMode(tt.mode, tt.w.(interface{ Write([]byte) (int, error) }))
		if err != nil || got != tt.want {
			t.Errorf("colorMode(%q, %T) = %v, %v; want %v", tt.mode, tt.w, got, err, tt.want)
		}
	}
	if _, err := colorMode("rainbow", f); err == nil {
		t.Error("colorMode(rainbow) accepted")
	}
}

func TestStatusShowsTheClusterSumsAndEachNode(t *testing.T) {
	st := statusFixture()
	st.CounterNodes = []string{"lb1", "lb3"}
	st.MissingNodes = map[string]string{"lb2-long-name": "not alive in gossip"}
	st.Servers[0].Requests = 5
	st.Servers[0].Cluster = &api.Traffic{Requests: 12, CurConns: 3}
	st.Servers[0].ByNode = map[string]api.Traffic{"lb1": {Requests: 5}, "lb3": {Requests: 7}}
	var b bytes.Buffer
	printStatus(&b, st, false)
	out := b.String()
	for _, want := range []string{
		"traffic summed over lb1, lb3; missing lb2-long-name (not alive in gossip)",
		"TRAFFIC BY NODE",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	server1 := regexp.MustCompile(`(?m)^web/server1 .* yes +3 +12 +0 `)
	if !server1.MatchString(out) {
		t.Errorf("server1's row does not show the cluster's 3 conns and 12 requests:\n%s", out)
	}
	byNode := regexp.MustCompile(`(?m)^web/server1 +lb3 +0 +0 +7 +0$`)
	if !byNode.MatchString(out) {
		t.Errorf("no per-node row of lb3 with 7 requests:\n%s", out)
	}
}

func TestStatusWarnsOfExpiringCertificates(t *testing.T) {
	st := statusFixture()
	st.Certificates = []api.CertificateStatus{
		{Name: "www", Frontends: []string{"https-in"}, NotAfter: time.Now().Add(3*24*time.Hour + 5*time.Hour + time.Minute)},
		{Name: "later", Frontends: []string{"https-in"}, NotAfter: time.Now().Add(60 * 24 * time.Hour)},
	}
	var b bytes.Buffer
	printStatus(&b, st, false)
	if !strings.Contains(b.String(), "WARNING: certificate www (https-in) expires in 3d 5h") {
		t.Errorf("no expiry warning for www:\n%s", b.String())
	}
	if strings.Contains(b.String(), "later") {
		t.Errorf("a certificate 60 days from expiry is warned of:\n%s", b.String())
	}
}
