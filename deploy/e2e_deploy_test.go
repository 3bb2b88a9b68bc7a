package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/deploy"
	"github.com/tandem-lb/tandem/testenv"
)

// TestRollingDeployUnderLoadE2E: the article's deploy, done by tandem
// deploy over 2 and 4 servers behind 2 LB nodes (and a witness), under
// keep-alive load, new-connection load and long requests: no failed
// request, every long request completes, no server gets a new request
// between its drain and its ready, and every site is updated.
func TestRollingDeployUnderLoadE2E(t *testing.T) {
	tests := []struct {
		name           string
		servers        int
		maxUnavailable int
		check          []string
	}{
		{"2 servers", 2, 1, nil},
		// The article's rename with disable-on-404: the check says nolb
		// (a drain) rather than down while deploy.txt is renamed.
		{"4 servers disable-on-404", 4, 1, []string{"disable_on_404: true"}},
	}
	for _, tt := range tests {
		n := tt.servers
		t.Run(tt.name, func(t *testing.T) {
			ec := startE2E(t, n, 2, tt.check...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			url := "http://" + ec.front + "/"
			var wg sync.WaitGroup
			var keep, fresh testenv.LoadResult
			wg.Go(func() {
				keep, _ = testenv.RunLoad(ctx, testenv.LoadConfig{URL: url, Concurrency: 4, Rate: 200, KeepAlive: true, Duration: 5 * time.Minute})
			})
			wg.Go(func() {
				fresh, _ = testenv.RunLoad(ctx, testenv.LoadConfig{URL: url, Concurrency: 2, Rate: 40, Duration: 5 * time.Minute})
			})
			longDone := longRequests(ctx, ec.front, 1000, 200*time.Millisecond)

			var mu sync.Mutex
			atMaint := map[string]uint64{}
			out, maxOut := 0, 0
			onStep := func(server string, st deploy.Step) {
				mu.Lock()
				switch st {
				case deploy.StepDrain:
					out++
					maxOut = max(maxOut, out)
				case deploy.StepDone, deploy.StepFailed, deploy.StepAborted:
					out--
				}
				mu.Unlock()
				switch st {
				case deploy.StepMaint: // drained on every LB node
					n := ec.startedRequests(t, server)
					mu.Lock()
					atMaint[server] = n
					mu.Unlock()
				case deploy.StepReady: // before it is put back
					n := ec.startedRequests(t, server)
					mu.Lock()
					if n != atMaint[server] {
						t.Errorf("%s got %d new requests between its drain and its ready", server, n-atMaint[server])
					}
					mu.Unlock()
				}
			}
			d := ec.deployer(t, ec.lbs[0], deploy.Config{Exec: articleHook(ec), DrainTimeout: 20 * time.Second,
				HealthyTimeout: 20 * time.Second, MaxUnavailable: tt.maxUnavailable}, onStep)
			rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Minute)
			sum, err := d.Run(rctx)
			rcancel()
			cancel()
			wg.Wait()
			count, byServer, failures := longDone()
			if err != nil {
				t.Fatalf("deploy: %v", err)
			}
			if maxOut != tt.maxUnavailable {
				t.Errorf("%d servers were out of rotation at once, want %d", maxOut, tt.maxUnavailable)
			}
			if len(sum.Servers) != n {
				t.Errorf("summary has %d servers, want %d", len(sum.Servers), n)
			}
			for _, r := range sum.Servers {
				if r.Result != "ok" || r.Hook < 500*time.Millisecond {
					t.Errorf("summary of %s: %+v", r.Server, r)
				}
			}
			for _, lr := range []struct {
				name string
				r    testenv.LoadResult
			}{{"keep-alive", keep}, {"new connections", fresh}} {
				t.Logf("%s load: %d requests, %d failures, by server %v, errors %v", lr.name, lr.r.Requests, lr.r.Failures, lr.r.ByServer, lr.r.Errors)
				if lr.r.Failures != 0 || lr.r.Requests < 100 {
					t.Errorf("%s load: %d failures of %d requests (%v %v)", lr.name, lr.r.Failures, lr.r.Requests, lr.r.ByStatus, lr.r.Errors)
				}
			}
			t.Logf("long requests: %d, by server %v", count, byServer)
			if len(failures) > 0 {
				t.Errorf("%d of %d long requests failed: %v", len(failures), count, failures)
			}
			for _, s := range ec.servers {
				if byServer[s] == 0 {
					t.Errorf("no long request reached %s", s)
				}
				b, err := os.ReadFile(filepath.Join(ec.roots[s], "version.txt"))
				if err != nil || !strings.HasPrefix(string(b), "v2 "+s+" "+ec.addrs[s]) {
					t.Errorf("%s not updated by the hook: %q, %v", s, b, err)
				}
			}
			st, err := ec.lbs[1].Status()
			if err != nil {
				t.Fatal(err)
			}
			if rec := st.Deploys["http-in"]; rec.Step != "done" || !rec.Done || rec.ID != sum.ID {
				t.Errorf("lb2 shows the deploy as %+v, want done", rec)
			}
		})
	}
}
