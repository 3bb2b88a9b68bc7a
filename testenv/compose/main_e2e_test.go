//go:build e2e

package compose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

// cluster is the compose project every scenario runs on, started once by
// TestMain and repaired by ready() at the start of each scenario.
var cluster *env

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("e2e: no docker engine (%v: %s)", err, bytes.TrimSpace(out))
		if os.Getenv("CI") == "true" {
			fmt.Println(msg + ": FAIL (CI=true needs docker)")
			return 1
		}
		fmt.Println(msg + ": skipping the compose failover suite")
		return 0
	}
	e, err := newEnv()
	if err != nil {
		fmt.Println("e2e:", err)
		return 1
	}
	defer os.RemoveAll(e.sites)
	image := envOr("TANDEM_IMAGE", "tandem-compose:dev")
	if _, err := docker("image", "inspect", image); err != nil {
		fmt.Printf("e2e: image %s not found: build it with make compose-image (or run make e2e)\n", image)
		return 1
	}
	fmt.Printf("e2e: %s -p %s, sites in %s\n", strings.Join(e.compose, " "), e.project, e.sites)
	_ = e.down() // a previous interrupted run
	code := 1
	defer func() {
		if code != 0 {
			fmt.Println("e2e: logs of the whole run in", e.saveLogs("run"))
		}
		if os.Getenv("TANDEM_E2E_KEEP") == "" {
			if err := e.down(); err != nil {
				fmt.Println("e2e: compose down:", err)
			}
		}
	}()
	if err := e.up(); err != nil {
		fmt.Println("e2e:", err)
		return code
	}
	start := time.Now()
	if err := e.waitReady(90 * time.Second); err != nil {
		fmt.Println("e2e: the cluster did not come up:", err)
		return code
	}
	if err := e.waitHolder(20 * time.Second); err != nil {
		fmt.Println("e2e: no VIP holder at setup:", err)
		return code
	}
	fmt.Printf("e2e: cluster ready in %v, lb1 holds the VIP\n", time.Since(start).Round(time.Millisecond))
	cluster = e
	code = m.Run()
	if err := results.write(os.Stdout, filepath.Join(e.dir, "results.txt")); err != nil {
		fmt.Println("e2e:", err)
		code = 1
	}
	return code
}

// ready repairs the cluster after the previous scenario (unpause,
// reconnect, start what is stopped, put deploy.txt back) and waits until
// it is whole: both LB nodes answer with quorum, both servers routed on
// both, and lb1 holds the VIP (when the VIP is wired). Logs are saved
// when the scenario fails.
func ready(t *testing.T) *env {
	t.Helper()
	e := cluster
	if e == nil {
		t.Fatal("no cluster (TestMain did not start it)")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("container logs: %s", e.saveLogs(t.Name()))
		}
	})
	for _, svc := range []string{"lb1", "lb2", "witness", "web1", "web2"} {
		_, _ = e.docker("unpause", svc)
	}
	for _, svc := range lbNodes {
		// Fails with "already exists" when connected: fine.
		if id, err := e.id(svc); err == nil {
			_, _ = docker("network", "connect", "--ip", ipOf[svc], e.network(), id)
		}
	}
	if err := e.restoreSites(); err != nil {
		t.Fatal(err)
	}
	if err := e.repair(); err != nil {
		t.Logf("repair failed (%v): recreating the cluster", err)
		if err := e.down(); err != nil {
			t.Fatal(err)
		}
		if err := e.repair(); err != nil {
			t.Fatalf("cluster not ready before the scenario: %v", err)
		}
	}
	return e
}

// repair starts what is stopped and waits until the cluster is whole.
func (e *env) repair() error {
	if err := e.up(); err != nil {
		return err
	}
	if err := e.waitReady(60 * time.Second); err != nil {
		return err
	}
	return e.waitHolder(45 * time.Second)
}

// waitReady waits until lb1 and lb2 answer with quorum and route to both
// servers.
func (e *env) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = e.whole(); last == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("after %v: %w", timeout, last)
}

func (e *env) whole() error {
	for _, svc := range lbNodes {
		st, err := e.status(svc)
		if err != nil {
			return err
		}
		if !st.Quorum || st.Version == 0 {
			return fmt.Errorf("%s: quorum %v, config version %d", svc, st.Quorum, st.Version)
		}
		for _, s := range st.Servers {
			if !s.Routed {
				return fmt.Errorf("%s: server %s/%s not routed (agreed %s, own %s, admin %s)", svc, s.Backend, s.Server, s.Agreed, s.Own, s.Admin)
			}
		}
	}
	return nil
}

// waitHolder waits until lb1, and only lb1, holds the VIP.
func (e *env) waitHolder(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var hs []string
	var err error
	for time.Now().Before(deadline) {
		if hs, err = e.holders(); err == nil && slices.Equal(hs, []string{"lb1"}) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("want lb1 alone holding the VIP after %v, holders %v (err %v)", timeout, hs, err)
}

// target is the URL the client loads: the VIP.
func (e *env) target() string { return vipURL }

// loadOpts are `tandem load` flags.
type loadOpts struct {
	rate, concurrency int
	duration, timeout time.Duration
	keepalive         bool
	url               string
}

// loadResult is `tandem load --json` (cmd/tandem/loadcmd.go LoadJSON).
type loadResult struct {
	Requests     int            `json:"requests"`
	Failures     int            `json:"failures"`
	ByServer     map[string]int `json:"by_server"`
	ByStatus     map[string]int `json:"by_status"`
	Errors       map[string]int `json:"errors"`
	P50MS        float64        `json:"p50_ms"`
	P99MS        float64        `json:"p99_ms"`
	LongestGapMS float64        `json:"longest_gap_ms"`
	ElapsedMS    float64        `json:"elapsed_ms"`
}

func (r loadResult) gap() time.Duration {
	return time.Duration(r.LongestGapMS * float64(time.Millisecond)).Round(time.Millisecond)
}

// loadRun is a `tandem load` running in the client container.
type loadRun struct {
	opts loadOpts
	done chan struct{}
	out  bytes.Buffer
	err  error
}

// startLoad starts a time-bounded load from the client container.
func (e *env) startLoad(t *testing.T, o loadOpts) *loadRun {
	t.Helper()
	if o.url == "" {
		o.url = e.target()
	}
	id, err := e.id("client")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"exec", id, "/tandem", "load", "--json", "--url", o.url,
		"--rate", fmt.Sprint(o.rate), "--concurrency", fmt.Sprint(max(o.concurrency, 1)),
		"--duration", o.duration.String(), "--timeout", o.timeout.String()}
	if o.keepalive {
		args = append(args, "--keepalive")
	}
	l := &loadRun{opts: o, done: make(chan struct{})}
	cmd := exec.Command("docker", args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &l.out, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start load: %v", err)
	}
	go func() {
		defer close(l.done)
		if err := cmd.Wait(); err != nil {
			l.err = fmt.Errorf("tandem load: %w: %s", err, stderr.String())
		}
	}()
	return l
}

// wait returns the load's counts once it has ended (its duration plus a
// margin bounds the wait).
func (l *loadRun) wait(t *testing.T) loadResult {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(l.opts.duration + 30*time.Second):
		t.Fatalf("load of %v did not end", l.opts.duration)
	}
	if l.err != nil {
		t.Fatal(l.err)
	}
	var r loadResult
	if err := json.Unmarshal(l.out.Bytes(), &r); err != nil {
		t.Fatalf("decode load result %q: %v", l.out.String(), err)
	}
	t.Logf("load %s: %d requests, %d failed, gap %v, p99 %.1fms, by server %v, errors %v",
		l.opts.url, r.Requests, r.Failures, r.gap(), r.P99MS, r.ByServer, r.Errors)
	if r.Requests == 0 {
		t.Fatalf("load sent no request")
	}
	return r
}

// row is one line of the results table.
type row struct {
	scenario, figure, value, target, verdict string
}

// table collects the figures of every scenario.
type table struct {
	mu   sync.Mutex
	rows []row
}

var results table

func (tb *table) add(r row) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.rows = append(tb.rows, r)
}

// check records a figure and fails the scenario when it misses its target.
func check(t *testing.T, figure, value, target string, ok bool) {
	t.Helper()
	verdict := "pass"
	if !ok {
		verdict = "FAIL"
		t.Errorf("%s = %s, want %s", figure, value, target)
	}
	results.add(row{scenario: t.Name(), figure: figure, value: value, target: target, verdict: verdict})
}

// note records a figure without a target.
func note(t *testing.T, figure, value string) {
	t.Helper()
	t.Logf("%s = %s", figure, value)
	results.add(row{scenario: t.Name(), figure: figure, value: value, target: "(report)", verdict: "-"})
}

func (tb *table) write(stdout io.Writer, path string) error {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "tandem e2e failover suite, %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintln(tw, "SCENARIO\tFIGURE\tVALUE\tTARGET\tRESULT")
	for _, r := range tb.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.scenario, r.figure, r.value, r.target, r.verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	_, _ = stdout.Write(buf.Bytes())
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}
