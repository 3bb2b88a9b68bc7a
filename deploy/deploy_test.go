package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

// fastConfig is a deploy of backend web with short timeouts for the fake.
func fastConfig(exec string) Config {
	return Config{Backend: "web", Exec: exec, DrainTimeout: 2 * time.Second, HealthyTimeout: 2 * time.Second,
		PollInterval: 5 * time.Millisecond, Host: "ops@test"}
}

func runDeploy(t *testing.T, c *fakeCluster, cfg Config, deps Deps) (Summary, error) {
	t.Helper()
	d, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return d.Run(ctx)
}

func TestRollingDeployStepOrder(t *testing.T) {
	c := newFakeCluster(t, "s1", "s2", "s3")
	out := &syncBuffer{}
	log := filepath.Join(t.TempDir(), "hook.log")
	sum, err := runDeploy(t, c, fastConfig(`echo "$TANDEM_BACKEND $TANDEM_SERVER $TANDEM_SERVER_ADDR" >> `+log+`; echo hello from $TANDEM_SERVER`), c.deps(out))
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	want := []string{"s1 drain", "s1 maint", "s1 ready", "s2 drain", "s2 maint", "s2 ready", "s3 drain", "s3 maint", "s3 ready"}
	if diff := cmp.Diff(want, c.snapshotActions()); diff != "" {
		t.Errorf("admin changes (-want +got):\n%s", diff)
	}
	if len(c.violations) > 0 {
		t.Errorf("servers put in maint before they drained: %v", c.violations)
	}
	if c.maxOut != 1 {
		t.Errorf("at most %d servers out at once, want 1", c.maxOut)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	wantHook := "web s1 127.0.0.1:8001\nweb s2 127.0.0.1:8002\nweb s3 127.0.0.1:8003\n"
	if diff := cmp.Diff(wantHook, string(b)); diff != "" {
		t.Errorf("hook environment (-want +got):\n%s", diff)
	}
	for _, want := range []string{"[s2] hello from s2", "SERVER", "deploy web done"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var results []string
	for _, r := range sum.Servers {
		results = append(results, r.Server+"="+r.Result)
	}
	if diff := cmp.Diff([]string{"s1=ok", "s2=ok", "s3=ok"}, results); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	rec := c.record("web")
	if rec.Step != "done" || !rec.Done || rec.ID != sum.ID || rec.Host != "ops@test" {
		t.Errorf("final record = %+v, want done by ops@test with id %s", rec, sum.ID)
	}
}

func TestMaxUnavailableKeepsOneServerInRotation(t *testing.T) {
	tests := []struct {
		name    string
		servers []string
		max     int
		wantMax int
	}{
		{"two of four", []string{"s1", "s2", "s3", "s4"}, 2, 2},
		{"capped by spare", []string{"s1", "s2", "s3"}, 5, 2},
		{"one", []string{"s1", "s2"}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeCluster(t, tt.servers...)
			cfg := fastConfig("true")
			cfg.MaxUnavailable = tt.max
			out := &syncBuffer{}
			if _, err := runDeploy(t, c, cfg, c.deps(out)); err != nil {
				t.Fatalf("Run: %v\n%s", err, out)
			}
			if c.maxOut != tt.wantMax {
				t.Errorf("at most %d servers out at once, want %d", c.maxOut, tt.wantMax)
			}
			for _, s := range tt.servers {
				if a := c.adminOf(s); a != config.AdminReady {
					t.Errorf("%s left %s", s, a)
				}
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(c *fakeCluster)
		cfg     func(*Config)
		wantErr error
		wantMsg string
	}{
		{
			name:    "no other server up",
			setup:   func(c *fakeCluster) { c.setHealth("s2", config.HealthDown) },
			wantErr: ErrCannotSpare, wantMsg: "s2: ready, down",
		},
		{
			name:    "other server in maint",
			setup:   func(c *fakeCluster) { c.admin["s2"] = config.AdminMaint },
			wantErr: ErrCannotSpare, wantMsg: "bring another server up first",
		},
		{
			name: "another deploy running",
			setup: func(c *fakeCluster) {
				c.records["web"] = api.DeployRecord{ID: "other", Backend: "web", Server: "s2", Step: "hook", Host: "bob@box"}
			},
			wantErr: ErrRunning, wantMsg: "bob@box",
		},
		{
			name:    "resume without record",
			cfg:     func(c *Config) { c.Resume = true },
			wantErr: ErrNothingToResume, wantMsg: "no deploy of web is recorded",
		},
		{
			name: "resume a finished deploy",
			setup: func(c *fakeCluster) {
				c.records["web"] = api.DeployRecord{ID: "old", Backend: "web", Step: "done", Done: true}
			},
			cfg:     func(c *Config) { c.Resume = true },
			wantErr: ErrNothingToResume, wantMsg: "finished",
		},
		{
			name:    "unknown server",
			cfg:     func(c *Config) { c.Servers = []string{"s9"} },
			wantMsg: `no server "s9"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeCluster(t, "s1", "s2")
			if tt.setup != nil {
				tt.setup(c)
			}
			cfg := fastConfig("true")
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			_, err := runDeploy(t, c, cfg, c.deps(&syncBuffer{}))
			if err == nil {
				t.Fatal("Run succeeded, want a refusal")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantMsg)
			}
			for _, a := range c.snapshotActions() {
				t.Errorf("refused deploy changed a server: %s", a)
			}
		})
	}
}

func TestHookFailureLeavesServerInMaint(t *testing.T) {
	c := newFakeCluster(t, "s1", "s2")
	out := &syncBuffer{}
	cfg := fastConfig(`echo broken >&2; exit 3`)
	sum, err := runDeploy(t, c, cfg, c.deps(out))
	if err == nil {
		t.Fatal("Run succeeded with a failing hook")
	}
	for _, want := range []string{"s1: hook exited with status 3", "s1 left in maint",
		"fix it and run: tandem deploy web --resume --exec 'echo broken >&2; exit 3'"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to contain %q", err, want)
		}
	}
	if !strings.Contains(out.String(), "[s1] broken") {
		t.Errorf("hook stderr not streamed with prefix:\n%s", out)
	}
	if a := c.adminOf("s1"); a != config.AdminMaint {
		t.Errorf("s1 is %s, want maint", a)
	}
	if diff := cmp.Diff([]string{"s1 drain", "s1 maint"}, c.snapshotActions()); diff != "" {
		t.Errorf("s2 must not be touched (-want +got):\n%s", diff)
	}
	rec := c.record("web")
	if rec.Step != "failed" || !rec.Done || rec.Server != "s1" {
		t.Errorf("record = %+v, want failed at s1", rec)
	}
	if got := sum.Servers[0].Result + "," + sum.Servers[1].Result; got != "failed,pending" {
		t.Errorf("results = %s", got)
	}
}

func TestNeverHealthyLeavesServerInMaint(t *testing.T) {
	c := newFakeCluster(t, "s1", "s2")
	deps := c.deps(&syncBuffer{})
	deps.OnStep = func(server string, st Step) {
		if st == StepHook {
			c.setHealth(server, config.HealthDown) // the hook broke it
		}
	}
	cfg := fastConfig("true")
	cfg.HealthyTimeout = 200 * time.Millisecond
	_, err := runDeploy(t, c, cfg, deps)
	if err == nil {
		t.Fatal("Run succeeded with a server that never came up")
	}
	for _, want := range []string{"s1: did not become healthy within 200ms", "lb1=down lb2=down", "s1 left in maint", "--resume"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to contain %q", err, want)
		}
	}
	if a := c.adminOf("s1"); a != config.AdminMaint {
		t.Errorf("s1 is %s, want maint", a)
	}
	if a := c.adminOf("s2"); a != config.AdminReady {
		t.Errorf("s2 is %s, want ready", a)
	}
}

func TestDrainTimeout(t *testing.T) {
	tests := []struct {
		on        OnTimeout
		wantErr   bool
		wantAdmin config.AdminState
		want      []string
	}{
		{OnTimeoutAbort, true, config.AdminReady, []string{"s1 drain", "s1 ready"}},
		{OnTimeoutForce, false, config.AdminReady, []string{"s1 drain", "s1 maint", "s1 ready", "s2 drain", "s2 maint", "s2 ready"}},
	}
	for _, tt := range tests {
		t.Run(tt.on.String(), func(t *testing.T) {
			c := newFakeCluster(t, "s1", "s2")
			c.stuck["s1"] = true
			cfg := fastConfig("true")
			cfg.DrainTimeout = 100 * time.Millisecond
			cfg.OnTimeout = tt.on
			out := &syncBuffer{}
			_, err := runDeploy(t, c, cfg, c.deps(out))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v\n%s", err, tt.wantErr, out)
			}
			if err != nil {
				for _, want := range []string{"did not drain within 100ms", "lb1=3 lb2=3", "s1 put back to ready"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("err = %q, want it to contain %q", err, want)
					}
				}
			}
			if diff := cmp.Diff(tt.want, c.snapshotActions()); diff != "" {
				t.Errorf("admin changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnreachableNodeIsWaitedForAndDeadNodeSkipped(t *testing.T) {
	c := newFakeCluster(t, "s1", "s2")
	c.down["lb2"] = true
	cfg := fastConfig("true")
	cfg.DrainTimeout = 100 * time.Millisecond
	_, err := runDeploy(t, c, cfg, c.deps(&syncBuffer{}))
	if err == nil || !strings.Contains(err.Error(), "lb2=unreachable") {
		t.Fatalf("err = %v, want a drain timeout naming lb2 unreachable", err)
	}

	c = newFakeCluster(t, "s1", "s2")
	c.dead["lb2"] = true
	c.down["lb2"] = true
	out := &syncBuffer{}
	if _, err := runDeploy(t, c, fastConfig("true"), c.deps(out)); err != nil {
		t.Fatalf("Run with a dead LB node: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "LB node lb2 is not alive: skipped") {
		t.Errorf("no warning about the dead node:\n%s", out)
	}
}

func TestAbortFromAnotherClient(t *testing.T) {
	c := newFakeCluster(t, "s1", "s2")
	c.stuck["s1"] = true // the run waits in drain until aborted
	cfg := fastConfig("true")
	cfg.DrainTimeout = 10 * time.Second
	d, err := New(cfg, c.deps(&syncBuffer{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := d.Run(ctx); done <- err }()
	waitFor(t, "s1 draining", 5*time.Second, func() bool { return c.adminOf("s1") == config.AdminDrain })

	rec, err := Abort(ctx, c.client("lb2"), "web", "alice@other", false)
	if err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if rec.Step != "aborted" || !rec.Done || rec.ID != d.ID() {
		t.Errorf("record after abort = %+v", rec)
	}
	err = <-done
	if !errors.Is(err, ErrAborted) || !strings.Contains(err.Error(), "alice@other") || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("Run err = %v, want aborted by alice@other with a resume hint", err)
	}
	if a := c.adminOf("s1"); a != config.AdminReady {
		t.Errorf("s1 (only drained) is %s after abort, want ready", a)
	}
}

func TestForceAbortOfAGoneClient(t *testing.T) {
	c := newFakeCluster(t, "s1", "s2")
	c.records["web"] = api.DeployRecord{ID: "gone", Backend: "web", Server: "s1", Step: "hook"}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Abort(ctx, c.client("lb1"), "web", "ops", false); err == nil || !strings.Contains(err.Error(), "--abort --force") {
		t.Errorf("Abort without a client = %v, want a timeout suggesting --force", err)
	}
	rec, err := Abort(context.Background(), c.client("lb1"), "web", "ops", true)
	if err != nil || rec.Step != "aborted" || !rec.Done {
		t.Errorf("forced Abort = %+v, %v", rec, err)
	}
}

func TestResumeContinuesFromRecordedServer(t *testing.T) {
	c := newFakeCluster(t, "s1", "s2", "s3")
	c.admin["s2"] = config.AdminMaint // left there by the failed run
	c.records["web"] = api.DeployRecord{ID: "run1", Backend: "web", Server: "s2", Step: "failed", Done: true}
	cfg := fastConfig("true")
	cfg.Resume = true
	out := &syncBuffer{}
	sum, err := runDeploy(t, c, cfg, c.deps(out))
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if sum.ID != "run1" {
		t.Errorf("resumed run has id %q, want run1", sum.ID)
	}
	want := []string{"s2 drain", "s2 maint", "s2 ready", "s3 drain", "s3 maint", "s3 ready"}
	if diff := cmp.Diff(want, c.snapshotActions()); diff != "" {
		t.Errorf("admin changes (-want +got):\n%s", diff)
	}

	// A running (not done) record of a client that died is taken over too.
	c = newFakeCluster(t, "s1", "s2")
	c.records["web"] = api.DeployRecord{ID: "run2", Backend: "web", Server: "s2", Step: "hook"}
	sum, err = runDeploy(t, c, cfg, c.deps(&syncBuffer{}))
	if err != nil || sum.ID != "run2" {
		t.Fatalf("take over: id %q, %v", sum.ID, err)
	}
}

func TestSlowStartRampsWeightAndRestoresIt(t *testing.T) {
	c := newFakeCluster(t, "s1", "s2")
	w := 20
	c.cfg.Backends[0].Servers[0].Weight = &w
	c.weight["s1"] = &w
	var seen []int
	deps := c.deps(&syncBuffer{})
	cfg := fastConfig("true")
	cfg.SlowStart = 100 * time.Millisecond
	cfg.Servers = []string{"s1"}
	deps.OnStep = func(server string, st Step) {
		if st == StepSlowStart {
			c.mu.Lock()
			seen = append(seen, *c.weight["s1"])
			c.mu.Unlock()
		}
	}
	if _, err := runDeploy(t, c, cfg, deps); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{2}, seen); diff != "" {
		t.Errorf("weight when ready (-want +got):\n%s", diff)
	}
	if c.weight["s1"] != nil {
		t.Errorf("weight override left at %d, want cleared (config weight)", *c.weight["s1"])
	}
}

func TestConfigChecks(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no backend", Config{Exec: "true"}, "no backend"},
		{"no exec", Config{Backend: "web"}, "no --exec"},
		{"duplicate servers", Config{Backend: "web", Exec: "x", Servers: []string{"a", "a"}}, "distinct"},
		{"negative", Config{Backend: "web", Exec: "x", DrainTimeout: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, Deps{API: &fakeAPI{}, Dial: func(string) StatusReader { return nil }})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error about %q", err, tt.want)
			}
		})
	}
	if _, err := ParseOnTimeout("FORCE"); err != nil {
		t.Error(err)
	}
	if _, err := ParseOnTimeout("later"); err == nil {
		t.Error("ParseOnTimeout(later) succeeded")
	}
}
