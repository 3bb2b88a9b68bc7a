package haproxydiff

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/config/haproxy"

	"github.com/tandem-lb/tandem/testenv/agenttest"
	"github.com/tandem-lb/tandem/testenv/debian"
)

// Pair is HAProxy and tandem serving the same config.
type Pair struct {
	// HAProxy and Tandem map a frontend's template name to its address on
	// that load balancer.
	HAProxy, Tandem map[string]string
	// Config is what tandem imported (for tests that look at it).
	Config *config.Cluster
}

var placeholder = regexp.MustCompile(`@(FE|SRV):([A-Za-z0-9_.-]+)@`)

// Setup is what both load balancers serve.
type Setup struct {
	// Config is a haproxy.cfg template: "@FE:name@" is a frontend's
	// listen address, "@SRV:name@" the address Servers gives, "@DIR@" the
	// directory Files are written to.
	Config  string
	Servers map[string]string
	// Files (maps, pattern lists, error files) by path under @DIR@.
	Files map[string]string
}

// Start runs both load balancers on s. It returns once both accept
// connections on every frontend.
func Start(t testing.TB, s Setup) *Pair {
	t.Helper()
	return StartTuned(t, s, nil)
}

// StartTuned is Start with tune applied to the config tandem imported
// before it serves it: for settings the importer does not map yet.
func StartTuned(t testing.TB, s Setup, tune func(*config.Cluster)) *Pair {
	t.Helper()
	haproxyBin := NeedHAProxy(t)
	p := &Pair{HAProxy: map[string]string{}, Tandem: map[string]string{}}
	dir := t.TempDir()
	for name, body := range s.Files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := strings.ReplaceAll(s.Config, "@DIR@", dir)
	servers := s.Servers
	var missing []string
	render := func(fe map[string]string) string {
		return placeholder.ReplaceAllStringFunc(cfg, func(m string) string {
			g := placeholder.FindStringSubmatch(m)
			if g[1] == "SRV" {
				a, ok := servers[g[2]]
				if !ok {
					missing = append(missing, g[2])
				}
				return a
			}
			if fe[g[2]] == "" {
				fe[g[2]] = freeAddr(t)
			}
			return fe[g[2]]
		})
	}
	hcfg, tcfg := render(p.HAProxy), render(p.Tandem)
	if len(missing) > 0 {
		t.Fatalf("haproxydiff: no address for servers %q", missing)
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(hcfg), 0o644); err != nil {
		t.Fatal(err)
	}
	startHAProxy(t, haproxyBin, path, p.HAProxy)
	p.Config = startTandem(t, dir, tcfg, p.Tandem, tune)
	return p
}

// NeedHAProxy returns the haproxy binary, installing Debian's package
// when it is missing and the test runs as root.
func NeedHAProxy(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	miss := func(format string, args ...any) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("haproxydiff: "+format+" (CI=true: the differential tests must run)", args...)
		}
		t.Skipf("haproxydiff: "+format, args...)
	}
	if os.Geteuid() != 0 {
		miss("haproxy is not installed and the test is not root: run `sudo apt-get install -y haproxy`")
	}
	installOnce.Do(func() {
		installErr = aptInstall("haproxy")
	})
	if installErr != nil {
		miss("install haproxy: %v", installErr)
	}
	p, err := exec.LookPath("haproxy")
	if err != nil {
		miss("haproxy not found after installing it")
	}
	return p
}

var (
	installOnce sync.Once
	installErr  error
)

func aptInstall(pkg string) error { return debian.Install(pkg) }

func startHAProxy(t testing.TB, bin, path string, fronts map[string]string) {
	t.Helper()
	if out, err := exec.Command(bin, "-c", "-q", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy refuses the config: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	log := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	for name, addr := range fronts {
		if err := waitListening(addr, 10*time.Second, done); err != nil {
			t.Fatalf("haproxy frontend %s on %s: %v\n%s", name, addr, err, log.String())
		}
	}
}

// startTandem imports cfg as `tandem agent --cluster-config` would and
// serves it with an agent of its own.
func startTandem(t testing.TB, dir, cfg string, fronts map[string]string, tune func(*config.Cluster)) *config.Cluster {
	t.Helper()
	c, warns, err := haproxy.Parse("haproxy.cfg", []byte(cfg), haproxy.Options{
		Files: haproxy.FromFS(os.DirFS("/"), dir),
	})
	if err != nil {
		t.Fatalf("tandem refuses the config: %v", err)
	}
	for _, w := range warns {
		t.Logf("tandem import: %s", w)
	}
	if tune != nil {
		tune(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("tandem refuses the imported config: %v", err)
	}
	apiAddr := freeAddr(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	agenttest.Start(t, "diff", apiAddr, c, logger, 10*time.Second)
	bound := map[string]bool{}
	for _, f := range c.Frontends {
		for _, b := range f.Bind {
			bound[b] = true
		}
	}
	for name, addr := range fronts {
		if !bound[addr] {
			continue // a section the import left out (a stats page)
		}
		if err := waitListening(addr, 10*time.Second, nil); err != nil {
			t.Fatalf("tandem frontend %s on %s: %v", name, addr, err)
		}
	}
	// The probes (HAProxy gets them too, and both log them) must be gone
	// before the test's first request: it would count them in %ac.
	cl := api.NewClient(apiAddr, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := cl.Status(context.Background())
		open := int64(0)
		for _, f := range st.Frontends {
			open += f.CurConns
		}
		if err == nil && open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tandem still has %d client connections open after the probes (err %v)", open, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

func waitListening(addr string, timeout time.Duration, died <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-died:
			return fmt.Errorf("the process exited")
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr returns a loopback address whose port was free a moment ago
// and that it never gave before: pairs started in parallel must not get
// the same port, which both would bind (HAProxy and tandem set
// SO_REUSEPORT) and then share the connections of.
func freeAddr(t testing.TB) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if _, dup := givenAddrs.LoadOrStore(addr, true); !dup {
			return addr
		}
	}
}

// givenAddrs are the addresses freeAddr gave in this process.
var givenAddrs sync.Map

// lockedWriter collects a process's output.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
