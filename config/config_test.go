package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"2000", 2 * time.Second, ""},
		{"5000ms", 5 * time.Second, ""},
		{"50s", 50 * time.Second, ""},
		{"100us", 100 * time.Microsecond, ""},
		{"1m", time.Minute, ""},
		{"2h", 2 * time.Hour, ""},
		{"1d", 24 * time.Hour, ""},
		{"1m30s", 90 * time.Second, ""},
		{"", 0, "empty"},
		{"5 s", 0, "invalid duration"},
		{"-1s", 0, "invalid duration"},
		{"10x", 0, "invalid duration"},
		{"99999999999999999999d", 0, "invalid duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func loadFile(t *testing.T, path string) *Cluster {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, data)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return c
}

func TestArticleConfigResolves(t *testing.T) {
	r := loadFile(t, "testdata/article.yaml").Resolve()
	b := r.Backend("http-in")
	if b == nil {
		t.Fatal("backend http-in missing")
	}
	want := CheckTiming{Inter: Duration(2 * time.Second), FastInter: Duration(2 * time.Second), DownInter: Duration(2 * time.Second), Rise: 2, Fall: 2}
	for _, s := range b.Servers {
		if diff := cmp.Diff(want, s.CheckTiming); diff != "" {
			t.Errorf("server %s timing (-want +got):\n%s", s.Name, diff)
		}
		if *s.Weight != 1 || s.Cookie != s.Name {
			t.Errorf("server %s: weight %d cookie %q", s.Name, *s.Weight, s.Cookie)
		}
	}
	if b.HealthCheck.Type != CheckHTTP || b.HealthCheck.Method != "HEAD" || b.HealthCheck.Version != "HTTP/1.0" {
		t.Errorf("health check = %+v", b.HealthCheck)
	}
	if !*b.Redispatch || *b.Retries != DefaultRetries || b.Balance != AlgoRoundRobin {
		t.Errorf("backend redispatch=%v retries=%d balance=%v", *b.Redispatch, *b.Retries, b.Balance)
	}
	if b.Timeouts.Connect.D() != 5*time.Second || b.Timeouts.Server.D() != 50*time.Second || b.Timeouts.Queue.D() != 5*time.Second {
		t.Errorf("backend timeouts = %+v", b.Timeouts)
	}
	f := r.Frontends[0]
	if f.Mode != ModeHTTP || f.MaxConn != 4096 || f.Timeouts.Client.D() != 50*time.Second || f.Timeouts.HTTPRequest.D() != 50*time.Second {
		t.Errorf("frontend = %+v", f)
	}
}

// Regression: a server's fastinter and downinter default to its own inter,
// not to the defaults section's inter.
func TestFastInterDefaultsToServerInter(t *testing.T) {
	c := loadFile(t, "testdata/article.yaml")
	c.Backends[0].Servers[0].Inter = Duration(20 * time.Millisecond)
	s := c.Resolve().Backends[0].Servers[0]
	if s.FastInter.D() != 20*time.Millisecond || s.DownInter.D() != 20*time.Millisecond {
		t.Fatalf("server timing = %+v, want fastinter = downinter = inter = 20ms", s.CheckTiming)
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	c := loadFile(t, "testdata/article.yaml")
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load("roundtrip.yaml", out)
	if err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	if diff := cmp.Diff(c, back); diff != "" {
		t.Errorf("round trip (-orig +back):\n%s", diff)
	}
	if diff := cmp.Diff(c, c.Clone()); diff != "" {
		t.Errorf("clone differs:\n%s", diff)
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	base, err := os.ReadFile("testdata/article.yaml")
	if err != nil {
		t.Fatal(err)
	}
	article := string(base)
	tests := []struct {
		name string
		yaml string
		want []string // substrings, each must appear
	}{
		{"empty", "", []string{"bad.yaml: empty config"}},
		{"syntax", "frontends: [\n", []string{"bad.yaml:"}},
		{"unknown field", strings.Replace(article, "balance: roundrobin", "balanse: roundrobin", 1), []string{"bad.yaml:17:", "balanse"}},
		{"unknown algorithm", strings.Replace(article, "balance: roundrobin", "balance: fastest", 1), []string{"bad.yaml:17:", `unknown balance algorithm "fastest"`}},
		{"missing port", strings.Replace(article, "127.0.0.1:8001", "127.0.0.1", 1), []string{"bad.yaml:23: backends[http-in].servers[server1].address: missing port"}},
		{"port out of range", strings.Replace(article, "127.0.0.1:8002", "127.0.0.1:70000", 1), []string{"backends[http-in].servers[server2].address: port out of range"}},
		{"duplicate server", strings.Replace(article, "name: server2", "name: server1", 1), []string{`duplicate server name "server1"`}},
		{"missing backend", strings.Replace(article, "default_backend: http-in", "default_backend: nope", 1), []string{`frontends[http-in].default_backend: backend "nope" does not exist`}},
		{"bad duration", strings.Replace(article, "connect: 5000ms", "connect: 5 parsecs", 1), []string{"bad.yaml:7:", "invalid duration"}},
		{"weight", strings.Replace(article, "check: true, inter", "weight: 999, check: true, inter", 1), []string{"servers[server1].weight: want 0-256"}},
		{"several at once", strings.Replace(strings.Replace(article, "127.0.0.1:8001", "x", 1), "rise: 2, fall: 2}\n      - {name: server2", "rise: -1, fall: 2}\n      - {name: server2", 1), []string{"2 problems", "missing port", "rise: must be at least 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("Load accepted bad input")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not config.Errors: %v", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestValidateModesAndVIPs(t *testing.T) {
	c := loadFile(t, "testdata/article.yaml")
	c.Backends[0].Mode = ModeTCP
	c.VIPs = []VIP{{Name: "v1", Address: "10.0.0.100", Frontends: []string{"nope"}}}
	err := c.Validate()
	for _, w := range []string{"cannot use backend", "vips[v1].address", `frontend "nope" does not exist`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() = %v; want it to mention %q", err, w)
		}
	}
}

func FuzzLoad(f *testing.F) {
	base, _ := os.ReadFile("testdata/article.yaml")
	f.Add(base)
	f.Add([]byte("frontends: [{name: a, bind: [':1'], default_backend: b}]\nbackends: [{name: b, servers: [{name: s, address: 'h:1'}]}]"))
	f.Add([]byte("global: {maxconn: -1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load("fuzz.yaml", data)
		if err == nil {
			c.Resolve() // a valid config always resolves
			if _, err := c.YAML(); err != nil {
				t.Fatalf("valid config does not encode: %v", err)
			}
			return
		}
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
