package deploy_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/deploy"
	"github.com/tandem-lb/tandem/testenv"
	"github.com/tandem-lb/tandem/testenv/proctest"
)

// e2eCluster is real tandem agents (LB nodes and a witness) in front of
// the article's test sites.
type e2eCluster struct {
	lbs     []*proctest.Node
	witness *proctest.Node
	front   string
	servers []string
	roots   map[string]string // server → site root
	addrs   map[string]string // server → site address
}

// startE2E starts nServers test sites and nLB agents plus a witness, and
// waits until every LB node sees every server up. checkExtra is added to
// the backend's health_check (e.g. "disable_on_404: true").
func startE2E(t *testing.T, nServers, nLB int, checkExtra ...string) *e2eCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts tandem agent processes")
	}
	ec := &e2eCluster{roots: map[string]string{}, addrs: map[string]string{},
		front: fmt.Sprintf("127.0.0.1:%d", frontPort(t))}
	var servers strings.Builder
	for i := range nServers {
		name := fmt.Sprintf("server%d", i+1)
		root := filepath.Join(t.TempDir(), name)
		s, err := testenv.NewSite(testenv.SiteConfig{Name: name, Listen: "127.0.0.1:0", Root: root}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		<-s.Ready()
		ec.servers = append(ec.servers, name)
		ec.roots[name], ec.addrs[name] = root, s.Addr()
		fmt.Fprintf(&servers, "      - {name: %s, address: %s, check: true, inter: 200ms, rise: 2, fall: 2}\n", name, s.Addr())
	}
	extra := ""
	for _, e := range checkExtra {
		extra += ", " + e
	}
	y := fmt.Sprintf(`defaults:
  mode: http
  timeouts: {connect: 5s, client: 50s, server: 50s}
  redispatch: true
frontends:
  - {name: http-in, bind: ["%s"], default_backend: http-in}
backends:
  - name: http-in
    balance: roundrobin
    health_check: {method: HEAD, path: /deploy.txt, version: HTTP/1.0%s}
    servers:
%s`, ec.front, extra, servers.String())
	cfgPath := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(cfgPath, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	first := proctest.NewNode(t, "lb1", "--cluster-config", cfgPath)
	first.Start()
	ec.lbs = append(ec.lbs, first)
	for i := 2; i <= nLB; i++ {
		n := proctest.NewNode(t, fmt.Sprintf("lb%d", i), "--join", first.GossipAddr)
		n.Start()
		ec.lbs = append(ec.lbs, n)
	}
	ec.witness = proctest.NewNode(t, "witness", "--role", "witness", "--join", first.GossipAddr)
	ec.witness.Start()
	for _, n := range ec.lbs {
		ec.waitAllUp(t, n, nLB)
	}
	return ec
}

// frontPort returns a free port below the kernel's ephemeral range
// (32768-60999 by default): an agent that cannot bind the frontend serves
// no config, and a port picked from the ephemeral range may meanwhile be
// taken by any client connection on the machine.
func frontPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port for the frontend")
	return 0
}

// waitAllUp waits until node n serves the config and every server is
// ready, agreed up and reported up by nLB LB nodes.
func (ec *e2eCluster) waitAllUp(t *testing.T, n *proctest.Node, nLB int) {
	t.Helper()
	proctest.WaitFor(t, n.Name+" sees every server up", 60*time.Second, func() bool {
		st, err := n.Status()
		if err != nil || st.Version == 0 || len(st.Servers) != len(ec.servers) {
			return false
		}
		for _, s := range st.Servers {
			ups := 0
			for _, h := range s.Views {
				if h == config.HealthUp {
					ups++
				}
			}
			if s.Admin != config.AdminReady || s.Agreed != config.HealthUp || ups < nLB || !s.Routed {
				return false
			}
		}
		return true
	})
}

// deployer returns a deploy run talking to node n.
func (ec *e2eCluster) deployer(t *testing.T, n *proctest.Node, cfg deploy.Config, onStep func(string, deploy.Step)) *deploy.Deployer {
	t.Helper()
	cfg.Backend = "http-in"
	if cfg.Host == "" {
		cfg.Host = "test@" + n.Name
	}
	d, err := deploy.New(cfg, deploy.Deps{
		API:    n.Client(),
		Dial:   func(addr string) deploy.StatusReader { return api.NewClient(addr, "") },
		Out:    newTestWriter(t),
		OnStep: onStep,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// serverOn returns a server's status on node n.
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
	t.Fatalf("%s does not know %s", n.Name, server)
	return api.ServerStatus{}
}

// startedRequests sums the requests the LB nodes ever sent to server.
func (ec *e2eCluster) startedRequests(t *testing.T, server string) uint64 {
	t.Helper()
	var sum uint64
	for _, n := range ec.lbs {
		if st, err := n.Status(); err == nil {
			for _, s := range st.Servers {
				if s.Server == server {
					sum += s.TotalConns
				}
			}
		}
	}
	return sum
}

// testWriter sends deploy output to the test log, line by line.
type testWriter struct {
	t   *testing.T
	mu  *sync.Mutex
	buf *[]byte
}

func newTestWriter(t *testing.T) testWriter {
	return testWriter{t: t, mu: &sync.Mutex{}, buf: new([]byte)}
}

func (w testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	*w.buf = append(*w.buf, p...)
	for {
		i := strings.IndexByte(string(*w.buf), '\n')
		if i < 0 {
			return len(p), nil
		}
		w.t.Log(string((*w.buf)[:i]))
		*w.buf = (*w.buf)[i+1:]
	}
}

// longRequests starts a /slow request through the frontend every
// interval until ctx ends, and returns a func that waits for all of them
// and reports each failure.
func longRequests(ctx context.Context, front string, ms int, interval time.Duration) func() (n int, byServer map[string]int, failures []string) {
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		byServer = map[string]int{}
		failures []string
		count    int
	)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}
	want := fmt.Sprintf("slow %dms\n", ms)
	one := func() {
		resp, err := client.Get(fmt.Sprintf("http://%s/slow?ms=%d", front, ms))
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		mu.Lock()
		defer mu.Unlock()
		count++
		switch {
		case err != nil:
			failures = append(failures, err.Error())
		case resp.StatusCode != 200 || string(body) != want:
			failures = append(failures, fmt.Sprintf("%d %q", resp.StatusCode, body))
		default:
			byServer[resp.Header.Get("X-Served-By")]++
		}
	}
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			wg.Go(one)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return func() (int, map[string]int, []string) {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return count, byServer, failures
	}
}

// articleHook is the article's workflow: rename deploy.txt (the check
// fails), update the site, rename it back.
func articleHook(ec *e2eCluster) string {
	return ec.hookIn(`mv deploy.txt deploy1.txt && echo "v2 $TANDEM_SERVER $TANDEM_SERVER_ADDR" > version.txt && sleep 0.5 && mv deploy1.txt deploy.txt && echo updated`)
}

// hookIn is a hook that runs body in the site root of $TANDEM_SERVER.
func (ec *e2eCluster) hookIn(body string) string {
	var b strings.Builder
	b.WriteString(`case "$TANDEM_SERVER" in `)
	for _, s := range ec.servers {
		fmt.Fprintf(&b, `%s) cd '%s' ;; `, s, ec.roots[s])
	}
	b.WriteString(`esac && ` + body)
	return b.String()
}

func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
