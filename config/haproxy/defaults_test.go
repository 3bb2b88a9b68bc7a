package haproxy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-lb/tandem/config"
)

// TestModeTCPByDefault: HAProxy's default mode is tcp; the import writes it
// out so that tandem's own default (http) never applies.
func TestModeTCPByDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  string
		want config.Cluster // only Defaults.Mode and each section's Mode are compared
	}{
		{"no mode anywhere", "frontend f\n bind :5672\n default_backend b\nbackend b\n server s 10.0.0.1:5672\n",
			config.Cluster{Frontends: []config.Frontend{{Mode: config.ModeTCP}}, Backends: []config.Backend{{Mode: config.ModeTCP}}}},
		{"defaults without mode", "defaults\n timeout client 1s\nlisten l\n bind :5672\n server s 10.0.0.1:5672\n",
			config.Cluster{Defaults: config.Defaults{Mode: config.ModeTCP}, Frontends: []config.Frontend{{}}, Backends: []config.Backend{{}}}},
		{"defaults http, one listen tcp", "defaults\n mode http\nlisten l\n bind :3306\n mode tcp\n server s 10.0.0.1:3306\nlisten w\n bind :80\n server s 10.0.0.1:80\n",
			config.Cluster{Defaults: config.Defaults{Mode: config.ModeHTTP},
				Frontends: []config.Frontend{{Mode: config.ModeTCP}, {}}, Backends: []config.Backend{{Mode: config.ModeTCP}, {}}}},
		{"sections under different defaults", "defaults\n mode http\nbackend a\n server s 10.0.0.1:80\ndefaults\nbackend b\n server s 10.0.0.1:80\n",
			config.Cluster{Backends: []config.Backend{{Mode: config.ModeHTTP}, {Mode: config.ModeTCP}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, errs := translateCfg(tc.cfg, Options{})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			got := config.Cluster{Defaults: config.Defaults{Mode: c.Defaults.Mode}}
			for _, f := range c.Frontends {
				got.Frontends = append(got.Frontends, config.Frontend{Mode: f.Mode})
			}
			for _, b := range c.Backends {
				got.Backends = append(got.Backends, config.Backend{Mode: b.Mode})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("modes (-want +got):\n%s", diff)
			}
			if r := c.Resolve(); tc.name == "no mode anywhere" && r.Frontends[0].Mode != config.ModeTCP {
				t.Errorf("resolved mode %v, want tcp", r.Frontends[0].Mode)
			}
		})
	}
}

// TestDefaultsInheritance follows configuration.txt section 4: each section
// starts from the last defaults section above it, or the one "from NAME"
// names; a defaults section starts from HAProxy's defaults, or from its own
// "from".
func TestDefaultsInheritance(t *testing.T) {
	cfg := `defaults base
  mode http
  timeout connect 4s
  timeout client 30s
  timeout server 30s
  option redispatch
  retries 5
  default-server inter 3s
  option httpchk GET /ping
  cookie SRV insert indirect nocache
  default_backend main
defaults long from base
  timeout server 10m
  no option redispatch
defaults
  timeout client 7s
frontend plain
  bind :81
backend main
  server s 10.0.0.1:80 check
backend longb from long
  server s 10.0.0.2:80 check cookie s
backend viabase from base
  server s 10.0.0.3:80 cookie s
`
	c, _, errs := translateCfg(cfg, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if c.Defaults != (config.Defaults{}) {
		t.Errorf("Cluster.Defaults = %+v, want empty: the sections do not share one defaults section", c.Defaults)
	}
	plain := c.Frontends[0]
	if plain.Mode != config.ModeTCP || plain.Timeouts.Client != dur(7*time.Second) || plain.DefaultBackend != "" {
		t.Errorf("frontend plain = %+v, want the anonymous defaults only: mode tcp, client 7s, no default_backend", plain)
	}
	main := c.Backend("main")
	if main.Mode != config.ModeTCP || main.HealthCheck != nil || main.Cookie != nil || main.Retries != nil {
		t.Errorf("backend main = %+v, want nothing from 'base'", main)
	}
	long := c.Backend("longb")
	wantLong := config.Timeouts{Connect: dur(4 * time.Second), Server: dur(10 * time.Minute)}
	if long.Mode != config.ModeHTTP || long.Timeouts != wantLong || *long.Redispatch || *long.Retries != 5 ||
		long.HealthCheck == nil || long.HealthCheck.Path != "/ping" || long.Cookie == nil || long.Servers[0].Inter != dur(3*time.Second) {
		t.Errorf("backend longb = %+v, want base's settings with server 10m and no redispatch", long)
	}
	via := c.Backend("viabase")
	if via.Timeouts.Server != dur(30*time.Second) || !*via.Redispatch {
		t.Errorf("backend viabase = %+v, want base unchanged by 'long'", via)
	}
}

// When every section shares one defaults section, it becomes
// Cluster.Defaults and the sections carry only what they change.
func TestSharedDefaultsBecomeClusterDefaults(t *testing.T) {
	cfg := "defaults\n mode http\n timeout client 5s\n timeout server 6s\n option forwardfor\n" +
		"frontend f\n bind :80\n timeout client 9s\n default_backend b\nbackend b\n timeout server 6s\n server s 10.0.0.1:80\n"
	c, _, errs := translateCfg(cfg, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := config.Defaults{Mode: config.ModeHTTP, ForwardFor: ptr(true),
		Timeouts: config.Timeouts{Client: dur(5 * time.Second), Server: dur(6 * time.Second)}}
	if diff := cmp.Diff(want, c.Defaults); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	f, b := c.Frontends[0], c.Backends[0]
	if f.Mode != 0 || f.ForwardFor != nil || f.Timeouts != (config.Timeouts{Client: dur(9 * time.Second)}) {
		t.Errorf("frontend = %+v, want only client 9s", f)
	}
	if b.Mode != 0 || b.ForwardFor != nil || b.Timeouts != (config.Timeouts{}) {
		t.Errorf("backend = %+v, want nothing of its own (server 6s equals the defaults')", b)
	}
}

// TestDefaultsRules: rules in named defaults sections run before the
// section's own, with the defaults' own ACLs (HAProxy 2.6).
func TestDefaultsRules(t *testing.T) {
	cfg := `defaults d
  mode http
  acl blocked src 192.0.2.0/24
  http-request deny if blocked
  http-response del-header Server
frontend f from d
  bind :80
  acl api path_beg /api
  http-request set-header X-Api 1 if api
  default_backend b
backend b from d
`
	c, _, errs := translateCfg(cfg+"  server s 10.0.0.1:80\n", Options{})
	if len(errs) != 1 || errs[0].Line != 11 {
		t.Fatalf("errors %v, want one: frontends and backends sharing a defaults section with rules (line 11)", errs)
	}
	c, _, errs = translateCfg(cfg[:len(cfg)-len("backend b from d\n")]+"defaults\nbackend b\n  server s 10.0.0.1:80\n", Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	f := c.Frontends[0]
	want := config.Rules{
		ACLs:         map[string]config.StringList{"blocked": {"src 192.0.2.0/24"}, "api": {"path_beg /api"}},
		HTTPRequest:  []string{"deny if blocked", "set-header X-Api 1 if api"},
		HTTPResponse: []string{"del-header Server"},
	}
	if diff := cmp.Diff(want, f.Rules); diff != "" {
		t.Errorf("frontend rules (-want +got):\n%s", diff)
	}
}

func TestDefaultsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		errs      []string
	}{
		{"rules in an anonymous defaults section", "defaults\n http-request deny\n acl a path /\n",
			[]string{"2: 'http-request' is not allowed in an anonymous defaults section", "3: 'acl' is not allowed in an anonymous defaults section"}},
		{"keywords no defaults section may hold", "defaults\n bind :80\n server s 10.0.0.1:80\n use_backend b\n description x\n redirect location /\n stick-table type ip size 1\n",
			[]string{"2: 'bind' is not allowed in a defaults section", "3: 'server' is not allowed", "4: 'use_backend' is not allowed",
				"5: 'description' is not allowed", "6: 'redirect' is not allowed", "7: 'stick-table' is not allowed"}},
		{"from an unknown name", "backend b from nope\n server s 10.0.0.1:80\n",
			[]string{"1: no defaults section named 'nope' above this line"}},
		{"from a section below", "frontend f from later\n bind :80\ndefaults later\n",
			[]string{"1: no defaults section named 'later' above this line"}},
		{"from itself", "defaults x from x\n", []string{"1: no defaults section named 'x' above this line"}},
		{"ambiguous name", "defaults d\ndefaults d\nbackend b from d\n server s 10.0.0.1:80\n",
			[]string{"3: defaults section name 'd' is ambiguous: lines 1 and 2"}},
		{"defaults from one with rules", "defaults r\n http-request deny\ndefaults s from r\n",
			[]string{"3: a defaults section cannot take its settings from defaults section 'r' (line 1): it defines TCP/HTTP rules"}},
		{"listen from a defaults section with rules", "defaults r\n mode http\n http-request deny\nlisten l from r\n bind :80\n server s 10.0.0.1:80\n",
			[]string{"4: listen 'l' cannot take its settings from defaults section 'r' (line 1)"}},
		{"from without a name", "backend b from\n", []string{"1: 'from' wants the name of a defaults section"}},
		{"ACL of the defaults in the section's rules", "defaults d\n mode http\n acl a path /a\n http-request deny if a\nfrontend f from d\n bind :80\n http-request deny if a\n default_backend b\ndefaults\nbackend b\n server s 10.0.0.1:80\n",
			[]string{"7: ACL 'a' is defined at line 3 in a defaults section, whose ACLs only its own rules see"}},
		{"same ACL name in defaults and section", "defaults d\n mode http\n acl a path /a\n http-request deny if a\nfrontend f from d\n bind :80\n acl a path /b\n http-request allow if a\n default_backend b\ndefaults\nbackend b\n server s 10.0.0.1:80\n",
			[]string{"7: ACL 'a' is defined both here and in the defaults section at line 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, errs := translateCfg(tc.cfg, Options{})
			checkPrefixes(t, "errors", errStrings(errs), tc.errs, false)
		})
	}
}

// Refusals written in a defaults section count for the sections that use
// it, with their side and mode, unless a section turns them off.
func TestDefaultsRefusalsFollowTheirUsers(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		errs      []string
	}{
		{"used by an http frontend", "defaults\n mode http\n option httpclose\nfrontend f\n bind :80\n default_backend b\nbackend b\n server s 10.0.0.1:80\n",
			[]string{"3: 'option httpclose': HAProxy closes client and server connections"}},
		{"turned off by the section", "defaults\n mode http\n option httpclose\nlisten l\n bind :80\n no option httpclose\n server s 10.0.0.1:80\n", nil},
		{"http keyword, tcp users", "defaults\n option httpclose\nlisten l\n bind :3306\n server s 10.0.0.1:3306\n", nil},
		{"backend keyword, frontend user", "defaults\n option spop-check\nfrontend f\n bind :80\n", nil},
		{"backend keyword, backend user", "defaults\n option spop-check\nbackend b\n server s 10.0.0.1:3306\n",
			[]string{"2: 'option spop-check': HAProxy checks servers with this protocol's exchange"}},
		{"default option restores the default", "defaults\n mode http\n option httpclose\nbackend b\n default option httpclose\n server s 10.0.0.1:80\n", nil},
		{"default applies to (*) options only", "defaults\nbackend b\n default option spop-check\n server s 10.0.0.1:3306\n",
			[]string{"3: 'default' does not apply to 'option spop-check'"}},
		{"unused defaults section", "defaults\n option spop-check\ndefaults\nbackend b\n server s 10.0.0.1:3306\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, errs := translateCfg(tc.cfg, Options{})
			checkPrefixes(t, "errors", errStrings(errs), tc.errs, false)
		})
	}
}
