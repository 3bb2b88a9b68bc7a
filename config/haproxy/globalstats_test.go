package haproxy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

const statsBackends = `
defaults
  mode http
  timeout connect 1s
  timeout client 1s
  timeout server 1s
frontend web
  bind :80
  default_backend app
backend app
  server a 10.0.0.1:80
`

func TestGlobalStatsMapped(t *testing.T) {
	cfg := `global
  stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners
  stats socket ipv4@127.0.0.1:9999 level operator
  stats timeout 30s
listen stats
  bind :8404
  stats enable
  stats uri /monitor
listen stats2
  bind :8405
  stats enable
  stats uri /other
` + statsBackends
	c, warns, errs := translateCfg(cfg, Options{})
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errStrings(errs))
	}
	want := config.Stats{
		StatsSockets: []config.StatsSocket{
			{Address: "/run/haproxy/admin.sock", Mode: "660", Level: "admin"},
			{Address: "ipv4@127.0.0.1:9999", Level: "operator"},
		},
		StatsTimeout: config.Duration(30e9),
		StatsURI:     "/monitor",
	}
	if diff := cmp.Diff(want, c.Global.Stats); diff != "" {
		t.Errorf("global stats (-want +got):\n%s", diff)
	}
	ws := strings.Join(warnStrings(warns), "\n")
	for _, w := range []string{"t.cfg:2: ", "'expose-fd listeners' ignored", "serves the stats page at /monitor and its CSV at /monitor;csv", "'stats uri /other' ignored"} {
		if !strings.Contains(ws, w) {
			t.Errorf("warnings lack %q:\n%s", w, ws)
		}
	}
}

func TestGlobalStatsErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"stats", "'stats' wants socket, timeout or maxconn"},
		{"stats socket", "wants a path or an address"},
		{"stats socket abns@admin", "unsupported address family"},
		{"stats socket /a.sock level root", `level "root": want user, operator or admin`},
		{"stats socket /a.sock mode 999", "mode"},
		{"stats socket /a.sock level", "'level' wants a value"},
		{"stats socket /a.sock ssl crt /x.pem", "'ssl' is not supported on a runtime API socket"},
		{"stats socket /a.sock\n  stats socket /a.sock", "declared twice"},
		{"stats timeout", "'stats timeout' wants one duration"},
		{"stats timeout soon", "stats timeout"},
		{"stats frobnicate", "unknown 'stats frobnicate'"},
	}
	for _, tt := range tests {
		_, _, errs := translateCfg("global\n  "+tt.line+"\n"+statsBackends, Options{})
		es := strings.Join(errStrings(errs), "\n")
		if !strings.Contains(es, tt.want) || !strings.Contains(es, "t.cfg:") {
			t.Errorf("%q: errors %q, want one with %q", tt.line, es, tt.want)
		}
	}
}
