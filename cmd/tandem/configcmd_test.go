package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-lb/tandem/config"
)

// runTandem runs the CLI with args and returns stdout, stderr and the error.
func runTandem(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

// siteDir writes a haproxy.cfg naming a map relative to its directory and
// an error file by absolute path, and returns the cfg's path.
func siteDir(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "maps"), 0o755); err != nil {
		t.Fatal(err)
	}
	errFile := filepath.Join(dir, "503.http")
	cfg := `global
    daemon
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend www
    bind "${TEST_ADDR}:8080"
    errorfile 503 ` + errFile + `
    use_backend %[req.hdr(host),lower,map(maps/hosts.map,web)]
    default_backend web
` + extra + `
backend web
    server w1 10.0.0.1:80 check
backend api
    server a1 10.0.0.2:80 check
`
	for name, data := range map[string]string{
		"haproxy.cfg":    cfg,
		"maps/hosts.map": "api.example.com api\n",
		"503.http":       "HTTP/1.0 503 Service Unavailable\r\n\r\ndown\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "haproxy.cfg")
}

func TestConfigImportReadsFilesAndEnvironment(t *testing.T) {
	t.Setenv("TEST_ADDR", "127.0.0.1")
	cfg := siteDir(t, "")
	// HAProxy reads relative names from where it runs; here, the cfg's
	// directory.
	out, stderr, err := runTandem(t, "config", "import", "--haproxy-dir", filepath.Dir(cfg), cfg)
	if err != nil {
		t.Fatalf("config import: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "haproxy.cfg:2: warning: 'daemon' ignored") {
		t.Errorf("stderr = %q, want the warning about daemon with its line", stderr)
	}
	c, err := config.Load("out.yaml", []byte(out))
	if err != nil {
		t.Fatalf("the imported YAML does not load: %v\n%s", err, out)
	}
	if got := c.Frontends[0].Bind[0]; got != "127.0.0.1:8080" {
		t.Errorf("bind = %q, want TEST_ADDR expanded", got)
	}
	if got := c.Files["maps/hosts.map"]; got != "api.example.com api\n" {
		t.Errorf("map read from the cfg's directory: %q", got)
	}
	// From / (HAProxy under systemd), the relative map is not there.
	if _, _, err := runTandem(t, "config", "import", cfg); err == nil || !strings.Contains(err.Error(), "map file 'maps/hosts.map': cannot read it") {
		t.Errorf("relative map read from /: %v", err)
	}
	if got := c.Files[filepath.Join(filepath.Dir(cfg), "503.http")]; !strings.Contains(got, "503 Service Unavailable") {
		t.Errorf("error file by absolute path: %q", got)
	}
}

func TestConfigImportRefusesAndLenientAccepts(t *testing.T) {
	cfg := siteDir(t, "    option httpclose\n")
	d := filepath.Dir(cfg)
	_, _, err := runTandem(t, "config", "import", "--haproxy-dir", d, cfg)
	if err == nil || !strings.Contains(err.Error(), "haproxy.cfg:13: 'option httpclose': HAProxy closes") || !strings.Contains(err.Error(), "--lenient") {
		t.Fatalf("err = %v, want the refusal with its line and the --lenient hint", err)
	}
	out, stderr, err := runTandem(t, "config", "import", "--haproxy-dir", d, "--lenient", cfg, "-o", filepath.Join(t.TempDir(), "c.yaml"))
	if err != nil {
		t.Fatalf("--lenient: %v", err)
	}
	if !strings.Contains(stderr, "haproxy.cfg:13: warning: --lenient: 'option httpclose'") || out != "" {
		t.Errorf("stdout %q stderr %q, want the YAML in the file and the difference as a warning", out, stderr)
	}
	if _, _, err := runTandem(t, "config", "validate", "--haproxy-dir", d, "-f", cfg); err == nil {
		t.Error("config validate accepted what import refuses")
	}
	out, _, err = runTandem(t, "config", "validate", "--haproxy-dir", d, "--lenient", "-f", cfg)
	if err != nil || !strings.Contains(out, "valid (1 frontends, 2 backends, 2 servers)") {
		t.Errorf("config validate --lenient: %q, %v", out, err)
	}
}

// config diff (and apply) print the YAML difference: a changed rule shows
// as its old and new line.
func TestDiffShowsRuleChanges(t *testing.T) {
	a := siteDir(t, "    http-request set-header X-Env staging\n")
	b := siteDir(t, "    http-request set-header X-Env production\n")
	la, errA := loadFile(a, &bytes.Buffer{}, loadOptions{haproxyDir: filepath.Dir(a)})
	lb, errB := loadFile(b, &bytes.Buffer{}, loadOptions{haproxyDir: filepath.Dir(b)})
	ca, cb := la.cfg, lb.cfg
	if errA != nil || errB != nil {
		t.Fatalf("load: %v %v", errA, errB)
	}
	var out bytes.Buffer
	changed, err := printDiff(&out, ca, 4, cb, "haproxy.cfg")
	if err != nil || !changed {
		t.Fatalf("printDiff: %v %v", changed, err)
	}
	if !strings.Contains(out.String(), "-       - set-header X-Env staging") || !strings.Contains(out.String(), "+       - set-header X-Env production") {
		t.Errorf("diff:\n%s\nwant the old and the new rule", out.String())
	}
}
