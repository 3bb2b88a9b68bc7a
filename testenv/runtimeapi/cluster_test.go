package runtimeapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/testenv"
	"github.com/tandem-lb/tandem/testenv/proctest"
)

// pair is two LB agents sharing one frontend port (SO_REUSEPORT), the
// article's two sites, and each node's stats sockets.
type pair struct {
	lb1, lb2 *proctest.Node
	front    string
	dir      string // where the sockets are
}

// admin and user are a node's stats sockets (the config names them with
// {node}, so each node of the one replicated config has its own).
func (p *pair) admin(n *proctest.Node) string { return filepath.Join(p.dir, n.Name+"-admin.sock") }
func (p *pair) user(n *proctest.Node) string  { return filepath.Join(p.dir, n.Name+"-user.sock") }

// startPair starts lb1 with the config and joins lb2, and waits until both
// serve version 1 with both servers up and their sockets bound.
func startPair(t *testing.T) *pair {
	t.Helper()
	var sites []string
	for _, name := range []string{"server1", "server2"} {
		s, err := testenv.NewSite(testenv.SiteConfig{Name: name, Listen: "127.0.0.1:0", Root: filepath.Join(t.TempDir(), name)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		<-s.Ready()
		sites = append(sites, s.Addr())
	}
	// Unix socket paths are limited to 108 bytes: a short directory.
	dir, err := os.MkdirTemp("", "rtapi-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &pair{front: fmt.Sprintf("127.0.0.1:%d", proctest.FreePort(t)), dir: dir}
	y := fmt.Sprintf(`global:
  stats_sockets:
    - {address: "%s/{node}-admin.sock", mode: "600", level: admin}
    - {address: "%s/{node}-user.sock", level: user}
  stats_timeout: 30s
defaults:
  mode: http
  timeouts: {connect: 5s, client: 50s, server: 50s}
  redispatch: true
frontends:
  - {name: http-in, bind: ["%s"], default_backend: http-in}
backends:
  - name: http-in
    balance: roundrobin
    health_check: {method: HEAD, path: /deploy.txt, version: HTTP/1.0}
    servers:
      - {name: server1, address: %s, check: true, inter: 200ms, rise: 2, fall: 2}
      - {name: server2, address: %s, check: true, inter: 200ms, rise: 2, fall: 2}
`, dir, dir, p.front, sites[0], sites[1])
	cfg := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	p.lb1 = proctest.NewNode(t, "lb1", "--cluster-config", cfg)
	p.lb1.Start()
	p.lb2 = proctest.NewNode(t, "lb2", "--join", p.lb1.GossipAddr)
	p.lb2.Start()
	for _, n := range []*proctest.Node{p.lb1, p.lb2} {
		proctest.WaitFor(t, n.Name+" serving version 1, both members alive, both servers up, sockets bound", 60*time.Second, func() bool {
			st, err := n.Status()
			if err != nil || st.Version != 1 || len(st.Members) != 2 || len(st.Servers) != 2 {
				return false
			}
			for _, m := range st.Members {
				if m.Status != "alive" {
					return false
				}
			}
			for _, s := range st.Servers {
				if s.Agreed != config.HealthUp || !s.Routed {
					return false
				}
			}
			_, err1 := os.Stat(p.admin(n))
			_, err2 := os.Stat(p.user(n))
			return err1 == nil && err2 == nil
		})
	}
	return p
}

// socat sends one command the way operators do, `echo CMD | socat stdio SOCKET`.
func socat(t *testing.T, socket, cmd string) string {
	t.Helper()
	bin := need(t, "socat", "socat")
	c := exec.Command(bin, "stdio", socket)
	c.Stdin = strings.NewReader(cmd + "\n")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("echo %q | socat stdio %s: %v\n%s", cmd, socket, err, out)
	}
	return string(out)
}

// load sends n requests through the shared frontend, each on its own
// connection so that the kernel spreads them over both nodes.
func load(t *testing.T, front string, n int) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	for i := range n {
		resp, err := c.Get(fmt.Sprintf("http://%s/?i=%d", front, i))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
	}
}

// own returns a node's own counters (not the cluster's).
func own(t *testing.T, n *proctest.Node) api.NodeCounters {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := n.Client().Counters(ctx, false)
	if err != nil {
		t.Fatalf("counters of %s: %v", n.Name, err)
	}
	return nc
}

// serverRequests is a node's own request count of a server.
func serverRequests(t *testing.T, n *proctest.Node, server string) uint64 {
	t.Helper()
	for _, s := range own(t, n).Stats.Servers {
		if s.Key.Server == server {
			return s.Requests
		}
	}
	t.Fatalf("%s has no server %s", n.Name, server)
	return 0
}

// serverOn is a server's status on a node.
func serverOn(t *testing.T, n *proctest.Node, server string) api.ServerStatus {
	t.Helper()
	st, err := n.Status()
	if err != nil {
		t.Fatalf("status of %s: %v", n.Name, err)
	}
	for _, s := range st.Servers {
		if s.Server == server {
			return s
		}
	}
	t.Fatalf("%s has no server %s", n.Name, server)
	return api.ServerStatus{}
}
