package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/testenv"
)

func TestDevConfig(t *testing.T) {
	c := DevConfig()
	b := c.Resolve().Backend("http-in")
	if b == nil || len(b.Servers) != 2 || b.HealthCheck.Method != "HEAD" || b.HealthCheck.Path != "/deploy.txt" {
		t.Fatalf("dev config backend = %+v", b)
	}
	for _, s := range b.Servers {
		if s.Inter.D() != 2*time.Second || s.Rise != 2 || s.Fall != 2 || !s.Check {
			t.Errorf("server %s: %+v", s.Name, s)
		}
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// site is a running test site that a test can stop on its own.
type site struct {
	*testenv.Site
	root string
	stop context.CancelFunc
	done chan struct{}
}

func startSite(t *testing.T, name string) *site {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	s, err := testenv.NewSite(testenv.SiteConfig{Name: name, Listen: "127.0.0.1:0", Root: root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st := &site{Site: s, root: root, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(st.done)
		if err := s.Run(ctx); err != nil {
			t.Errorf("site %s: %v", name, err)
		}
	}()
	t.Cleanup(func() { cancel(); <-st.done })
	<-s.Ready()
	return st
}

// articleConfig is the embedded dev config pointed at the given sites and
// frontend address, with the article's check timing unless inter is set.
func articleConfig(front string, inter time.Duration, sites ...*site) *config.Cluster {
	c := DevConfig()
	c.Frontends[0].Bind = []string{front}
	for i := range c.Backends[0].Servers {
		s := &c.Backends[0].Servers[i]
		s.Address = sites[i].Addr()
		if inter != 0 {
			s.Inter = config.Duration(inter)
		}
	}
	return c
}

type runningAgent struct {
	*Agent
	front  string
	client *api.Client
}

// startAgent starts a node on c and returns once c is committed (version
// 1), so admin operations work.
func startAgent(t *testing.T, c *config.Cluster) *runningAgent {
	t.Helper()
	ra := startAgentReady(t, c)
	waitFor(t, "the initial config committed", 10*time.Second, func() bool { return ra.node.State().Version > 0 })
	return ra
}

// startAgentReady starts a node on c and returns once it is ready (its
// frontends listen; the config may not be committed yet).
func startAgentReady(t *testing.T, c *config.Cluster) *runningAgent {
	t.Helper()
	apiAddr := freeAddr(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cc := cluster.Config{Node: "test", DataDir: t.TempDir(), BindAddr: "127.0.0.1", APIAddr: apiAddr,
		ClusterKey: []byte("0123456789abcdef0123456789abcdef")}
	a, err := New(Config{Cluster: cc, ClusterConfig: c, API: api.ServerConfig{Addr: apiAddr}, DrainTimeout: 2 * time.Second}, Deps{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent Run: %v", err)
		}
	})
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("agent stopped: %v", err)
	}
	cl := api.NewClient(apiAddr, "")
	waitFor(t, "admin API", 5*time.Second, func() bool { _, err := cl.Status(context.Background()); return err == nil })
	return &runningAgent{Agent: a, front: "http://" + c.Frontends[0].Bind[0] + "/", client: cl}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestArticleRenameDeployTxt automates the article's test with its own
// timing (inter 2000 rise 2 fall 2): answers alternate; after server1's
// deploy.txt is renamed, within inter×fall + inter only server2 answers and
// no client request fails; renamed back, server1 returns after rise checks.
func TestArticleRenameDeployTxt(t *testing.T) {
	s1, s2 := startSite(t, "server1"), startSite(t, "server2")
	ra := startAgent(t, articleConfig(freeAddr(t), 0, s1, s2))

	var seen []string
	for range 4 {
		code, body := get(t, ra.front)
		if code != 200 {
			t.Fatalf("GET / = %d %q", code, body)
		}
		seen = append(seen, body)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] == seen[i-1] {
			t.Fatalf("answers do not alternate: %q", seen)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loadc := make(chan testenv.LoadResult, 1)
	go func() {
		r, err := testenv.RunLoad(ctx, testenv.LoadConfig{URL: ra.front, Concurrency: 4, Rate: 200, Duration: 20 * time.Second, KeepAlive: true})
		if err != nil {
			t.Errorf("load: %v", err)
		}
		loadc <- r
	}()

	deploy := filepath.Join(s1.root, "deploy.txt")
	renamed := filepath.Join(s1.root, "deploy1.txt")
	if err := os.Rename(deploy, renamed); err != nil {
		t.Fatal(err)
	}
	renamedAt := time.Now()
	// Out within inter×fall + inter = 6 s: then only server2 answers.
	waitFor(t, "server1 out of rotation", 6*time.Second, func() bool { return !routed(t, ra, "server1") })
	t.Logf("server1 out %.1fs after the rename", time.Since(renamedAt).Seconds())
	for range 6 {
		if _, body := get(t, ra.front); body != "HAProxy server2" {
			t.Fatalf("after the rename got %q, want only server2", body)
		}
	}
	if err := os.Rename(renamed, deploy); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	waitFor(t, "server1 back", 7*time.Second, func() bool { return routed(t, ra, "server1") })
	t.Logf("server1 back %.1fs after the rename back", time.Since(back).Seconds())
	cancel()
	r := <-loadc
	t.Logf("load: %d requests, %d failures, by server %v", r.Requests, r.Failures, r.ByServer)
	if r.Failures != 0 || r.Requests < 100 {
		t.Fatalf("load saw %d failures in %d requests (errors %v, statuses %v)", r.Failures, r.Requests, r.Errors, r.ByStatus)
	}
}

func routed(t *testing.T, ra *runningAgent, server string) bool {
	t.Helper()
	st, err := ra.client.Status(context.Background())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	for _, s := range st.Servers {
		if s.Server == server {
			return s.Routed
		}
	}
	t.Fatalf("status has no server %s", server)
	return false
}

// TestServerDeathLosesNoRequest kills server1 under steady load: a request
// that had not reached it is retried on server2, and idempotent requests
// whose pooled connection died are re-sent, so clients see no failure.
func TestServerDeathLosesNoRequest(t *testing.T) {
	s1, s2 := startSite(t, "server1"), startSite(t, "server2")
	ra := startAgent(t, articleConfig(freeAddr(t), 200*time.Millisecond, s1, s2))
	ctx := context.Background()
	loadc := make(chan testenv.LoadResult, 1)
	go func() {
		r, _ := testenv.RunLoad(ctx, testenv.LoadConfig{URL: ra.front, Concurrency: 8, Duration: 3 * time.Second, KeepAlive: true})
		loadc <- r
	}()
	time.Sleep(time.Second) // steady load before the kill: part of the scenario, not synchronisation
	s1.stop()
	<-s1.done
	r := <-loadc
	t.Logf("load: %d requests, %d failures, by server %v", r.Requests, r.Failures, r.ByServer)
	if r.Failures != 0 {
		t.Fatalf("%d failed requests after server1 died (errors %v, statuses %v)", r.Failures, r.Errors, r.ByStatus)
	}
	if r.ByServer["server1"] == 0 || r.ByServer["server2"] == 0 {
		t.Fatalf("load did not reach both servers: %v", r.ByServer)
	}
}

// TestAdminStateThroughAPI drains server1 through the API: it gets no new
// requests; ready brings it back. Unknown servers and bad bodies are
// clear errors.
func TestAdminStateThroughAPI(t *testing.T) {
	s1, s2 := startSite(t, "server1"), startSite(t, "server2")
	ra := startAgent(t, articleConfig(freeAddr(t), 200*time.Millisecond, s1, s2))
	ctx := context.Background()
	drain := config.AdminDrain
	key := config.ServerKey{Backend: "http-in", Server: "server1"}
	if err := ra.client.SetServer(ctx, key, api.ServerRequest{Admin: &drain}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "drain applied", 2*time.Second, func() bool { return !routed(t, ra, "server1") })
	for range 6 {
		if _, body := get(t, ra.front); body != "HAProxy server2" {
			t.Fatalf("drained server1 answered: %q", body)
		}
	}
	ready := config.AdminReady
	if err := ra.client.SetServer(ctx, key, api.ServerRequest{Admin: &ready}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ready applied", 2*time.Second, func() bool { return routed(t, ra, "server1") })

	err := ra.client.SetServer(ctx, config.ServerKey{Backend: "http-in", Server: "nope"}, api.ServerRequest{Admin: &drain})
	if !errors.Is(err, api.ErrNotFound) || !strings.Contains(err.Error(), `no server "nope"`) {
		t.Fatalf("unknown server: err = %v", err)
	}
}

// TestApplyBadConfigKeepsServing: a config whose listener cannot bind is
// refused as a whole and the node keeps serving the previous version.
func TestApplyBadConfigKeepsServing(t *testing.T) {
	s1, s2 := startSite(t, "server1"), startSite(t, "server2")
	c := articleConfig(freeAddr(t), 200*time.Millisecond, s1, s2)
	ra := startAgent(t, c)
	ctx := context.Background()

	// Invalid config: rejected before it is stored.
	bad := c.Clone()
	bad.Backends[0].Servers[0].Address = "127.0.0.1"
	_, err := ra.client.ApplyConfig(ctx, api.ApplyRequest{Config: bad})
	if !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), "backends[http-in].servers[server1].address: missing port") {
		t.Fatalf("invalid config: err = %v", err)
	}
	// Valid but unbindable: a port someone else holds.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	unbindable := c.Clone()
	unbindable.Frontends[0].Bind = append(unbindable.Frontends[0].Bind, busy.Addr().String())
	r, err := ra.client.ApplyConfig(ctx, api.ApplyRequest{Config: unbindable})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "config error reported", 3*time.Second, func() bool {
		st, _ := ra.client.Status(ctx)
		return strings.Contains(st.ConfigError, fmt.Sprintf("config version %d not served", r.Version))
	})
	if code, _ := get(t, ra.front); code != 200 {
		t.Fatalf("node stopped serving the previous config: %d", code)
	}
}

// TestConcurrentAppliesConflict: two edits based on one version, one wins.
func TestConcurrentAppliesConflict(t *testing.T) {
	s1, s2 := startSite(t, "server1"), startSite(t, "server2")
	c := articleConfig(freeAddr(t), 200*time.Millisecond, s1, s2)
	ra := startAgent(t, c)
	ctx := context.Background()
	cur, err := ra.client.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = ra.client.ApplyConfig(ctx, api.ApplyRequest{ExpectedVersion: cur.Version, Config: c})
		}()
	}
	wg.Wait()
	conflicts := 0
	for _, err := range errs {
		if errors.Is(err, api.ErrConflict) {
			conflicts++
		} else if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
	}
	if conflicts != 1 {
		t.Fatalf("want exactly one conflict, got errors %v", errs)
	}
}

func TestNewClusterServesItsConfigBeforeTheElection(t *testing.T) {
	s1, s2 := startSite(t, "server1"), startSite(t, "server2")
	ra := startAgentReady(t, articleConfig(freeAddr(t), 0, s1, s2))
	// Ready fired once the frontend was bound: well before the first
	// Raft election (its timeout alone is a second) could commit anything.
	leader, version := ra.node.Raft().Leader, ra.node.State().Version
	if code, body := get(t, ra.front); code != 200 || !strings.HasPrefix(body, "HAProxy server") {
		t.Fatalf("GET: %d %q", code, body)
	}
	if leader != "" || version != 0 {
		t.Errorf("at ready: leader %q, version %d; want no leader yet and the initial config served as version 0", leader, version)
	}
	waitFor(t, "the initial config committed as version 1", 10*time.Second, func() bool { return ra.node.State().Version == 1 })
	if code, _ := get(t, ra.front); code != 200 {
		t.Fatalf("GET after commit: %d", code)
	}
}

func TestJoiningNodeServesNothingProvisionally(t *testing.T) {
	a := &Agent{cfg: Config{ClusterConfig: DevConfig(), Cluster: cluster.Config{Join: []string{"10.0.0.1"}}}}
	if a.provisionalConfig() != nil {
		t.Fatal("a joining node would serve its own config before learning the cluster's")
	}
	a.cfg.Cluster.Join = nil
	if a.provisionalConfig() == nil {
		t.Fatal("a new cluster's first node would wait for the election")
	}
}
