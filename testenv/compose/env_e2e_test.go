//go:build e2e

package compose

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Addresses fixed in docker-compose.yml and cluster.yaml.
const (
	vipAddr  = "172.28.0.100"
	vipURL   = "http://" + vipAddr + "/"
	lb1Addr  = "172.28.0.11"
	cmdLimit = 45 * time.Second
)

// lbNodes are the LB services; ipOf gives each service's fixed address.
var (
	lbNodes  = []string{"lb1", "lb2"}
	services = []string{"lb1", "lb2", "witness", "web1", "web2", "client"}
	ipOf     = map[string]string{
		"lb1": "172.28.0.11", "lb2": "172.28.0.12", "witness": "172.28.0.13",
		"web1": "172.28.0.21", "web2": "172.28.0.22", "client": "172.28.0.31",
	}
)

// env is the running compose project the scenarios share.
type env struct {
	compose []string // "docker compose" or "docker-compose", split
	project string
	dir     string // this directory, absolute
	sites   string // host directory bind-mounted as web1's and web2's /site
	logs    string // where container logs of failed scenarios go

	mu   sync.Mutex
	ids  map[string]string // service → container ID
	pids map[string]int    // service → PID on the host, for /proc/<pid>/net
}

// newEnv reads the suite's settings from the environment (set by
// compose.mk) and prepares the sites directory and the cluster key.
func newEnv() (*env, error) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	e := &env{
		project: envOr("TANDEM_E2E_PROJECT", "tandem-e2e"),
		dir:     dir,
		logs:    filepath.Join(dir, "logs"),
		ids:     map[string]string{},
		pids:    map[string]int{},
	}
	e.compose = strings.Fields(os.Getenv("TANDEM_COMPOSE"))
	if len(e.compose) == 0 {
		e.compose = detectCompose()
	}
	sites, err := os.MkdirTemp("", "tandem-e2e-sites-")
	if err != nil {
		return nil, fmt.Errorf("create sites dir: %w", err)
	}
	e.sites = sites
	for _, s := range []string{"web1", "web2"} {
		if err := os.MkdirAll(filepath.Join(sites, s), 0o755); err != nil {
			return nil, fmt.Errorf("create site %s: %w", s, err)
		}
	}
	if err := e.restoreSites(); err != nil {
		return nil, err
	}
	return e, ensureClusterEnv(filepath.Join(dir, "cluster.env"))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// detectCompose prefers `docker compose` (v2) and falls back to
// docker-compose (v1).
func detectCompose() []string {
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	return []string{"docker-compose"}
}

// ensureClusterEnv writes a cluster key (like `tandem keygen`) unless
// make compose-up already did.
func ensureClusterEnv(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("make cluster key: %w", err)
	}
	line := "TANDEM_CLUSTER_KEY=" + base64.StdEncoding.EncodeToString(key) + "\n"
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		return fmt.Errorf("write cluster key: %w", err)
	}
	return nil
}

// restoreSites puts deploy.txt back into both sites (scenario f renames it).
func (e *env) restoreSites() error {
	for _, s := range []string{"web1", "web2"} {
		dir := filepath.Join(e.sites, s)
		_ = os.Remove(filepath.Join(dir, "deploy1.txt"))
		if err := os.WriteFile(filepath.Join(dir, "deploy.txt"), []byte("ok\n"), 0o644); err != nil {
			return fmt.Errorf("write deploy.txt of %s: %w", s, err)
		}
	}
	return nil
}

// run runs a command with a bound and returns its stdout; the error
// carries stderr.
func run(ctx context.Context, limit time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s%s", name, strings.Join(args, " "), err,
			strings.TrimSpace(errb.String()), strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// composeCmd runs compose in this directory on the suite's project.
func (e *env) composeCmd(limit time.Duration, args ...string) (string, error) {
	full := append(append(e.compose[1:len(e.compose):len(e.compose)], "-p", e.project), args...)
	envv := []string{"TANDEM_SITES=" + e.sites}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.compose[0], full...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), envv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", strings.Join(e.compose, " "), strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func docker(args ...string) (string, error) {
	return run(context.Background(), cmdLimit, nil, "docker", args...)
}

// up starts every service that is not running (again) and forgets cached
// container IDs and PIDs.
func (e *env) up() error {
	e.forget()
	if _, err := e.composeCmd(3*time.Minute, "up", "-d", "--remove-orphans"); err != nil {
		return fmt.Errorf("compose up: %w", err)
	}
	return nil
}

// down removes the project's containers, network and volumes.
func (e *env) down() error {
	e.forget()
	_, err := e.composeCmd(3*time.Minute, "down", "-v", "--remove-orphans", "-t", "5")
	return err
}

func (e *env) forget() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.ids)
	clear(e.pids)
}

// id returns a service's container ID.
func (e *env) id(svc string) (string, error) {
	e.mu.Lock()
	id := e.ids[svc]
	e.mu.Unlock()
	if id != "" {
		return id, nil
	}
	out, err := e.composeCmd(cmdLimit, "ps", "-q", svc)
	if err != nil {
		return "", err
	}
	id = strings.TrimSpace(out)
	if id == "" || strings.Contains(id, "\n") {
		return "", fmt.Errorf("container of %s: compose ps -q says %q", svc, id)
	}
	e.mu.Lock()
	e.ids[svc] = id
	e.mu.Unlock()
	return id, nil
}

// network is the compose network's name.
func (e *env) network() string { return e.project + "_tandem" }

// docker runs `docker VERB <container of svc> args…` and forgets the
// service's PID (VERB may restart it).
func (e *env) docker(verb, svc string, args ...string) (string, error) {
	id, err := e.id(svc)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	delete(e.pids, svc)
	e.mu.Unlock()
	return docker(append([]string{verb, id}, args...)...)
}

// tandem runs /tandem args… in svc's container.
func (e *env) tandem(svc string, args ...string) (string, error) {
	id, err := e.id(svc)
	if err != nil {
		return "", err
	}
	return docker(append([]string{"exec", id, "/tandem"}, args...)...)
}

// status is svc's `tandem status --json`.
func (e *env) status(svc string) (api.Status, error) {
	var st api.Status
	out, err := e.tandem(svc, "status", "--json")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return st, fmt.Errorf("decode status of %s: %w", svc, err)
	}
	return st, nil
}

// pid returns the host PID of svc's main process (0: not running).
func (e *env) pid(svc string) (int, error) {
	e.mu.Lock()
	pid, ok := e.pids[svc]
	e.mu.Unlock()
	if ok {
		return pid, nil
	}
	id, err := e.id(svc)
	if err != nil {
		return 0, err
	}
	out, err := docker("inspect", "-f", "{{.State.Pid}} {{.State.Paused}}", id)
	if err != nil {
		return 0, err
	}
	if _, err := fmt.Sscan(out, &pid); err != nil {
		return 0, fmt.Errorf("pid of %s: %q: %w", svc, out, err)
	}
	e.mu.Lock()
	e.pids[svc] = pid
	e.mu.Unlock()
	return pid, nil
}

// holders returns the LB nodes whose network namespace has the VIP as a
// local address: the kernel's truth, whatever the agents believe.
func (e *env) holders() ([]string, error) {
	var hs []string
	for _, svc := range lbNodes {
		pid, err := e.pid(svc)
		if err != nil {
			return nil, err
		}
		if pid == 0 {
			continue
		}
		held, err := onLink(pid, vipAddr)
		if errors.Is(err, os.ErrNotExist) {
			e.mu.Lock()
			delete(e.pids, svc) // exited since: look again next time
			e.mu.Unlock()
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s's addresses (the suite needs a local docker engine): %w", svc, err)
		}
		if held {
			hs = append(hs, svc)
		}
	}
	return hs, nil
}

// onLink reports whether ip is an address of eth0 in the network namespace
// of process pid: the VIP's holder has it there. An address a node handed
// over and parked on lo for its requests in flight (vip/park.go) claims
// nothing on the link, and a node cut from the network has no eth0.
func onLink(pid int, ip string) (bool, error) {
	ns, err := netns.GetFromPath(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return false, err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return false, err
	}
	defer h.Close()
	l, err := h.LinkByName("eth0")
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if a.IP.String() == ip {
			return true, nil
		}
	}
	return false, nil
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// pass lets a scenario's traffic run for d: the scenarios are timed
// experiments; nothing waits on another goroutine here.
func pass(d time.Duration) { <-time.After(d) }

// saveLogs writes every container's log (and compose ps) to logs/<name>/.
func (e *env) saveLogs(name string) string {
	dir := filepath.Join(e.logs, strings.ReplaceAll(name, "/", "_"))
	_ = os.MkdirAll(dir, 0o755)
	if out, err := e.composeCmd(cmdLimit, "ps"); err == nil {
		_ = os.WriteFile(filepath.Join(dir, "ps.txt"), []byte(out), 0o644)
	}
	for _, svc := range services {
		id, err := e.id(svc)
		if err != nil {
			continue
		}
		cmd := exec.Command("docker", "logs", "--timestamps", id)
		if out, err := cmd.CombinedOutput(); err == nil || len(out) > 0 {
			_ = os.WriteFile(filepath.Join(dir, svc+".log"), out, 0o644)
		}
	}
	return dir
}
