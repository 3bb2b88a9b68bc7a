package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

// fakeCluster is a hand-written cluster of LB nodes behind the Client
// interface: admin states, per-node connection counts and health, and
// deploy records with the "one running deploy per backend" rule.
type fakeCluster struct {
	t  *testing.T
	mu sync.Mutex

	cfg     *config.Cluster
	nodes   []string // LB nodes
	dead    map[string]bool
	down    map[string]bool // node whose API does not answer
	admin   map[string]config.AdminState
	weight  map[string]*int
	conns   map[string]map[string]int64 // node → server → open connections
	own     map[string]map[string]config.Health
	records map[string]api.DeployRecord

	actions    []string
	violations []string
	maxOut     int // most servers out of rotation at once
	// stuck keeps connections open (drain never finishes).
	stuck map[string]bool
}

func newFakeCluster(t *testing.T, servers ...string) *fakeCluster {
	t.Helper()
	c := &fakeCluster{
		t: t, nodes: []string{"lb1", "lb2"}, dead: map[string]bool{}, down: map[string]bool{},
		admin: map[string]config.AdminState{}, weight: map[string]*int{},
		conns: map[string]map[string]int64{}, own: map[string]map[string]config.Health{},
		records: map[string]api.DeployRecord{}, stuck: map[string]bool{},
	}
	b := config.Backend{Name: "web", HealthCheck: &config.HealthCheck{Path: "/deploy.txt"}}
	for i, s := range servers {
		b.Servers = append(b.Servers, config.Server{Name: s, Address: fmt.Sprintf("127.0.0.1:%d", 8001+i), Check: true,
			CheckTiming: config.CheckTiming{Inter: config.Duration(5 * time.Millisecond), Rise: 2, Fall: 2}})
	}
	c.cfg = &config.Cluster{Backends: []config.Backend{b},
		Frontends: []config.Frontend{{Name: "web", Bind: []string{"127.0.0.1:0"}, DefaultBackend: "web"}}}
	for _, n := range c.nodes {
		c.conns[n] = map[string]int64{}
		c.own[n] = map[string]config.Health{}
		for _, s := range servers {
			c.conns[n][s] = 3
			c.own[n][s] = config.HealthUp
		}
	}
	return c
}

func (c *fakeCluster) setHealth(server string, h config.Health) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		c.own[n][server] = h
	}
}

func (c *fakeCluster) act(format string, args ...any) {
	c.actions = append(c.actions, fmt.Sprintf(format, args...))
}

func (c *fakeCluster) client(node string) *fakeAPI { return &fakeAPI{c: c, node: node} }

func (c *fakeCluster) deps(out *syncBuffer) Deps {
	return Deps{
		API:  c.client("lb1"),
		Dial: func(addr string) StatusReader { return c.client(addr) },
		Out:  out,
	}
}

func (c *fakeCluster) snapshotActions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.actions...)
}

func (c *fakeCluster) adminOf(s string) config.AdminState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.admin[s]
}

func (c *fakeCluster) record(backend string) api.DeployRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.records[backend]
}

// fakeAPI is one node's admin API.
type fakeAPI struct {
	c    *fakeCluster
	node string
}

func (f *fakeAPI) Status(ctx context.Context) (api.Status, error) {
	c := f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down[f.node] {
		return api.Status{}, fmt.Errorf("dial %s: connection refused", f.node)
	}
	st := api.Status{Node: f.node, Role: "voter", Version: 1, Quorum: true, Deploys: c.records}
	for _, n := range append(append([]string(nil), c.nodes...), "witness") {
		role, status := "voter", "alive"
		if n == "witness" {
			role = "witness"
		}
		if c.dead[n] {
			status = "dead"
		}
		st.Members = append(st.Members, api.Member{Name: n, Role: role, Status: status, APIAddr: n})
	}
	for _, s := range c.cfg.Backends[0].Servers {
		if c.admin[s.Name] != config.AdminReady && !c.stuck[s.Name] && c.conns[f.node][s.Name] > 0 {
			c.conns[f.node][s.Name]-- // connections finish as time goes by
		}
		views := map[string]config.Health{}
		up := 0
		for _, n := range c.nodes {
			views[n] = c.own[n][s.Name]
			if views[n] == config.HealthUp {
				up++
			}
		}
		agreed := config.HealthDown
		if up > len(c.nodes)/2 {
			agreed = config.HealthUp
		}
		w := 1
		if c.weight[s.Name] != nil {
			w = *c.weight[s.Name]
		}
		st.Servers = append(st.Servers, api.ServerStatus{Backend: "web", Server: s.Name, Address: s.Address,
			Admin: c.admin[s.Name], Weight: w, Agreed: agreed, Views: views, Own: c.own[f.node][s.Name],
			CurConns: c.conns[f.node][s.Name]})
	}
	return st, nil
}

func (f *fakeAPI) Config(ctx context.Context) (api.ConfigResponse, error) {
	return api.ConfigResponse{Version: 1, Config: f.c.cfg.Clone()}, nil
}

func (f *fakeAPI) SetServer(ctx context.Context, key config.ServerKey, req api.ServerRequest) error {
	c := f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.Admin != nil {
		if *req.Admin == config.AdminMaint {
			for _, n := range c.nodes {
				if !c.dead[n] && c.conns[n][key.Server] > 0 && !c.stuck[key.Server] {
					c.violations = append(c.violations, fmt.Sprintf("%s put in maint with %d connections on %s", key.Server, c.conns[n][key.Server], n))
				}
			}
		}
		c.admin[key.Server] = *req.Admin
		c.act("%s %s", key.Server, *req.Admin)
		out := 0
		for _, a := range c.admin {
			if a != config.AdminReady {
				out++
			}
		}
		c.maxOut = max(c.maxOut, out)
	}
	if req.Weight != nil {
		w := *req.Weight
		if w < 0 {
			c.weight[key.Server] = nil
		} else {
			c.weight[key.Server] = &w
		}
	}
	return nil
}

func (f *fakeAPI) Deploys(ctx context.Context) (map[string]api.DeployRecord, error) {
	c := f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]api.DeployRecord{}
	for k, v := range c.records {
		out[k] = v
	}
	return out, nil
}

func (f *fakeAPI) RecordDeploy(ctx context.Context, rec api.DeployRecord) error {
	c := f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.records[rec.Backend]; ok && !cur.Done && cur.ID != rec.ID {
		return &api.Error{Status: 409, Code: "conflict", Msg: "a deploy of " + rec.Backend + " is running"}
	}
	rec.Node = f.node
	c.records[rec.Backend] = rec
	return nil
}

// syncBuffer is a goroutine-safe output buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var errTest = errors.New("test")
