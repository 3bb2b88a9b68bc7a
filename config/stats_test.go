package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSocketAddr(t *testing.T) {
	tests := []struct {
		in      string
		want    SocketAddr
		wantErr string
	}{
		{"/run/tandem/admin.sock", SocketAddr{"unix", "/run/tandem/admin.sock"}, ""},
		{"unix@/run/x.sock", SocketAddr{"unix", "/run/x.sock"}, ""},
		{"ipv4@127.0.0.1:9999", SocketAddr{"tcp", "127.0.0.1:9999"}, ""},
		{"ipv6@[::1]:9999", SocketAddr{"tcp", "[::1]:9999"}, ""},
		{"127.0.0.1:9999", SocketAddr{"tcp", "127.0.0.1:9999"}, ""},
		{"admin.sock", SocketAddr{"unix", "admin.sock"}, ""},
		{"", SocketAddr{}, "required"},
		{"unix@", SocketAddr{}, "want a path"},
		{"ipv4@[::1]:9", SocketAddr{}, "does not match the address family"},
		{"ipv4@127.0.0.1", SocketAddr{}, "want an IP address and a port"},
		{"abns@x", SocketAddr{}, "unsupported address family"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSocketAddr(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSocketAddr(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSocketAddr(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestStatsValidateNamesThePath(t *testing.T) {
	c := minimalCluster()
	c.Global.StatsSockets = []StatsSocket{
		{Address: "/run/a.sock", Mode: "660", Level: "admin"},
		{Address: "/run/a.sock"},
		{Address: "ipv4@nohost:1", Mode: "9", Level: "root"},
	}
	c.Global.StatsURI = "stats"
	c.Global.StatsTimeout = Duration(-time.Second)
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted bad stats settings")
	}
	for _, want := range []string{
		`global.stats_sockets[1].address: duplicate socket "/run/a.sock"`,
		`global.stats_sockets[2].address: "ipv4@nohost:1": want an IP address`,
		`global.stats_sockets[2].mode: "9": want octal permissions`,
		`global.stats_sockets[2].level: "root": want user, operator or admin`,
		`global.stats_uri: "stats": want a path starting with /`,
		`global.stats_timeout: must not be negative`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestStatsRoundTripsThroughYAML(t *testing.T) {
	y := `global:
  stats_sockets:
    - {address: /run/tandem/admin.sock, mode: "600", level: admin}
    - {address: "ipv4@127.0.0.1:9999", level: user}
  stats_timeout: 30s
  stats_uri: /haproxy?stats
frontends:
  - {name: fe, bind: ["127.0.0.1:8080"], default_backend: be}
backends:
  - name: be
    servers:
      - {name: s1, address: "127.0.0.1:8001", check: true, check_disabled: true}
`
	c, err := Load("cluster.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		StatsSockets: []StatsSocket{{Address: "/run/tandem/admin.sock", Mode: "600", Level: "admin"}, {Address: "ipv4@127.0.0.1:9999", Level: "user"}},
		StatsTimeout: Duration(30 * time.Second),
		StatsURI:     "/haproxy?stats",
	}
	if d := cmp.Diff(want, c.Global.Stats); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
	if !c.Backends[0].Servers[0].CheckDisabled {
		t.Error("check_disabled not read")
	}
	if d := cmp.Diff(c, c.Clone()); d != "" {
		t.Errorf("clone differs:\n%s", d)
	}
	if m, _ := (StatsSocket{}).FileMode(); m != 0o600 {
		t.Errorf("default mode %o, want 600", m)
	}
	if l := (StatsSocket{}).LevelOrDefault(); l != "operator" {
		t.Errorf("default level %q, want operator (HAProxy's)", l)
	}
}

func minimalCluster() *Cluster {
	return &Cluster{
		Frontends: []Frontend{{Name: "fe", Bind: []string{"127.0.0.1:8080"}, DefaultBackend: "be"}},
		Backends:  []Backend{{Name: "be", Servers: []Server{{Name: "s1", Address: "127.0.0.1:8001"}}}},
	}
}
