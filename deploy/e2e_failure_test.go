package deploy_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/deploy"
	"github.com/tandem-lb/tandem/testenv/proctest"
)

func runE2E(t *testing.T, d *deploy.Deployer) (deploy.Summary, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return d.Run(ctx)
}

func wantErrContains(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("deploy succeeded, want an error containing %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %q, want it to contain %q", err, w)
		}
	}
}

// wantAdmin checks a server's admin state on every LB node.
func (ec *e2eCluster) wantAdmin(t *testing.T, server string, want config.AdminState) {
	t.Helper()
	for _, n := range ec.lbs {
		waitAdmin(t, n.Name, func() (config.AdminState, error) {
			st, err := n.Status()
			for _, s := range st.Servers {
				if s.Server == server {
					return s.Admin, err
				}
			}
			return -1, err
		}, server, want)
	}
}

func waitAdmin(t *testing.T, node string, read func() (config.AdminState, error), server string, want config.AdminState) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := read()
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on %s is %v (%v), want %s", server, node, got, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDeployFailuresE2E: on real agents (2 LB nodes + witness), each
// failure stops the deploy with a message saying what failed and how to
// resume, leaves the server where it says, and the rest keeps serving.
func TestDeployFailuresE2E(t *testing.T) {
	ec := startE2E(t, 2, 2)
	lb1, lb2 := ec.lbs[0], ec.lbs[1]
	url := "http://" + ec.front + "/"

	t.Run("hook fails, then resume from another node", func(t *testing.T) {
		d := ec.deployer(t, lb1, deploy.Config{Exec: `echo about to fail; exit 3`, HealthyTimeout: 10 * time.Second}, nil)
		_, err := runE2E(t, d)
		wantErrContains(t, err, "server1: hook exited with status 3", "server1 left in maint", "--resume --exec")
		ec.wantAdmin(t, "server1", config.AdminMaint)
		ec.wantAdmin(t, "server2", config.AdminReady)
		if body := getBody(t, url); !strings.Contains(body, "server2") {
			t.Errorf("frontend answered %q, want server2 (server1 is in maint)", body)
		}
		proctest.WaitFor(t, "lb2 to show the failed deploy", 5*time.Second, func() bool {
			st, err := lb2.Status()
			rec := st.Deploys["http-in"]
			return err == nil && rec.Step == "failed" && rec.Server == "server1" && rec.ID == d.ID() && rec.Done
		})

		r := ec.deployer(t, lb2, deploy.Config{Exec: articleHook(ec), Resume: true, HealthyTimeout: 20 * time.Second}, nil)
		sum, err := runE2E(t, r)
		if err != nil {
			t.Fatalf("resume from lb2: %v", err)
		}
		if sum.ID != d.ID() || len(sum.Servers) != 2 {
			t.Errorf("resume: id %s servers %d, want id %s and both servers", sum.ID, len(sum.Servers), d.ID())
		}
		ec.wantAdmin(t, "server1", config.AdminReady)
	})

	t.Run("cli: failure exits 1 with the resume command, resume from lb2", func(t *testing.T) {
		ec.waitAllUp(t, lb1, 2)
		tandem := func(n *proctest.Node, args ...string) (string, int) {
			cmd := exec.Command(proctest.Binary(t), append(args, "--api-addr", n.APIAddr)...)
			cmd.Env = append(os.Environ(), "TANDEM_TOKEN=")
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			return string(out), code
		}
		out, code := tandem(lb1, "deploy", "http-in", "--servers", "server1", "--exec", "echo cli hook; exit 5")
		if code != 1 || !strings.Contains(out, "[server1] cli hook") ||
			!strings.Contains(out, "hook exited with status 5; server1 left in maint; fix it and run: tandem deploy http-in --resume") {
			t.Fatalf("tandem deploy with a failing hook: exit %d\n%s", code, out)
		}
		out, code = tandem(lb2, "deploy")
		if code != 0 || !strings.Contains(out, "failed") {
			t.Errorf("tandem deploy (list) on lb2: exit %d\n%s", code, out)
		}
		out, code = tandem(lb2, "deploy", "http-in", "--resume", "--servers", "server1", "--exec", "true")
		if code != 0 || !strings.Contains(out, "deploy http-in done") {
			t.Fatalf("tandem deploy --resume on lb2: exit %d\n%s", code, out)
		}
		ec.wantAdmin(t, "server1", config.AdminReady)
	})

	t.Run("server never healthy", func(t *testing.T) {
		ec.waitAllUp(t, lb1, 2)
		d := ec.deployer(t, lb1, deploy.Config{Servers: []string{"server1"}, Exec: ec.hookIn(`mv deploy.txt gone.txt`),
			HealthyTimeout: 2 * time.Second}, nil)
		_, err := runE2E(t, d)
		wantErrContains(t, err, "server1: did not become healthy within 2s", "lb1=down", "server1 left in maint")
		ec.wantAdmin(t, "server1", config.AdminMaint)
		root := ec.roots["server1"]
		if err := os.Rename(filepath.Join(root, "gone.txt"), filepath.Join(root, "deploy.txt")); err != nil {
			t.Fatal(err)
		}
		ready := config.AdminReady
		if err := lb1.Client().SetServer(context.Background(), config.ServerKey{Backend: "http-in", Server: "server1"}, api.ServerRequest{Admin: &ready}); err != nil {
			t.Fatal(err)
		}
	})

	for _, on := range []deploy.OnTimeout{deploy.OnTimeoutAbort, deploy.OnTimeoutForce} {
		t.Run("drain timeout "+on.String(), func(t *testing.T) {
			ec.waitAllUp(t, lb1, 2)
			ctx, cancel := context.WithCancel(context.Background())
			long := longRequests(ctx, ec.front, 3000, 50*time.Millisecond)
			proctest.WaitFor(t, "long requests on server1", 5*time.Second, func() bool {
				for _, n := range ec.lbs {
					if s := serverOn(t, n, "server1"); s.InFlight > 0 || s.CurConns > 0 {
						return true
					}
				}
				return false
			})
			cancel()
			d := ec.deployer(t, lb1, deploy.Config{Servers: []string{"server1"}, Exec: "true",
				DrainTimeout: 500 * time.Millisecond, OnTimeout: on, HealthyTimeout: 10 * time.Second}, nil)
			_, err := runE2E(t, d)
			count, byServer, failures := long()
			t.Logf("long requests: %d by server %v, failures %v", count, byServer, failures)
			if byServer["server1"] == 0 && on == deploy.OnTimeoutAbort {
				t.Fatalf("no long request reached server1")
			}
			if on == deploy.OnTimeoutForce {
				if err != nil {
					t.Fatalf("force: %v", err)
				}
				return
			}
			wantErrContains(t, err, "server1: connections did not drain within 500ms", "lb1=", "server1 put back to ready")
			if len(failures) > 0 {
				t.Errorf("long requests failed after an aborted drain: %v", failures)
			}
			ec.wantAdmin(t, "server1", config.AdminReady)
		})
	}

	t.Run("abort from another node", func(t *testing.T) {
		ec.waitAllUp(t, lb1, 2)
		var once sync.Once
		aborted := make(chan error, 1)
		onStep := func(server string, st deploy.Step) {
			if st == deploy.StepHook {
				once.Do(func() {
					go func() {
						ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
						defer cancel()
						_, err := deploy.Abort(ctx, lb2.Client(), "http-in", "alice@lb2", false)
						aborted <- err
					}()
				})
			}
		}
		d := ec.deployer(t, lb1, deploy.Config{Exec: "sleep 1", HealthyTimeout: 10 * time.Second}, onStep)
		_, err := runE2E(t, d)
		if !errors.Is(err, deploy.ErrAborted) {
			t.Fatalf("err = %v, want aborted", err)
		}
		wantErrContains(t, err, "alice@lb2", "--resume")
		if err := <-aborted; err != nil {
			t.Errorf("Abort: %v", err)
		}
		ec.wantAdmin(t, "server1", config.AdminMaint) // its hook ran
		ec.wantAdmin(t, "server2", config.AdminReady)
		st, _ := lb1.Status()
		if rec := st.Deploys["http-in"]; rec.Step != "aborted" || !rec.Done {
			t.Errorf("record after abort: %+v", rec)
		}
	})

	// SIGKILL of the other LB node while a hook runs: the deploy waits it
	// out (unreachable, then dead and skipped) and finishes with the
	// surviving node and the witness's quorum. Last: it kills lb2.
	t.Run("LB node killed mid-deploy, resumed", func(t *testing.T) {
		var once sync.Once
		killed := make(chan struct{})
		onStep := func(server string, st deploy.Step) {
			if st == deploy.StepHook {
				once.Do(func() { go func() { lb2.Kill(); close(killed) }() })
			}
		}
		d := ec.deployer(t, lb1, deploy.Config{Exec: "sleep 0.5", Resume: true, HealthyTimeout: 30 * time.Second}, onStep)
		sum, err := runE2E(t, d)
		<-killed
		if err != nil {
			t.Fatalf("deploy with lb2 killed: %v", err)
		}
		for _, r := range sum.Servers {
			if r.Result != "ok" {
				t.Errorf("%s: %s", r.Server, r.Result)
			}
		}
		ec.lbs = ec.lbs[:1]
		ec.wantAdmin(t, "server1", config.AdminReady)
		ec.wantAdmin(t, "server2", config.AdminReady)
	})
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := httpGet(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp
}
