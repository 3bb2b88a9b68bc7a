//go:build e2e

package compose

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/api"
)

// Scenarios e–j: the cluster's state and the servers behind it, under a
// constant load through the VIP.

// serverState is what must survive a restart: admin state and weight.
type serverState struct {
	Admin  string
	Weight int
}

func serverStates(st api.Status) map[string]serverState {
	m := map[string]serverState{}
	for _, s := range st.Servers {
		m[s.Backend+"/"+s.Server] = serverState{Admin: s.Admin.String(), Weight: s.Weight}
	}
	return m
}

// TestE_RestartAllLBNodes: web2 drained and web1 weighted 3, then lb1 and
// lb2 restarted together: both come back at the same config version with
// the same admin states and weights.
func TestE_RestartAllLBNodes(t *testing.T) {
	e := ready(t)
	t.Cleanup(func() {
		_, _ = e.tandem("lb1", "server", "ready", "http-in/web2")
		_, _ = e.tandem("lb1", "server", "weight", "http-in/web1", "1")
	})
	for _, args := range [][]string{{"server", "drain", "http-in/web2"}, {"server", "weight", "http-in/web1", "3"}} {
		if out, err := e.tandem("lb1", args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	want := map[string]serverState{"http-in/web1": {"ready", 3}, "http-in/web2": {"drain", 1}}
	var version uint64
	waitFor(t, "both LB nodes to show the admin changes", 10*time.Second, func() bool {
		st1, err1 := e.status("lb1")
		st2, err2 := e.status("lb2")
		version = st1.Version
		return err1 == nil && err2 == nil && st1.Version == st2.Version &&
			cmp.Equal(serverStates(st1), want) && cmp.Equal(serverStates(st2), want)
	})
	l := e.startLoad(t, loadOpts{rate: 20, concurrency: 2, duration: 25 * time.Second, timeout: 2 * time.Second})
	pass(2 * time.Second)
	lb1, _ := e.id("lb1")
	lb2, _ := e.id("lb2")
	e.forget()
	start := time.Now()
	if _, err := docker("restart", "-t", "10", lb1, lb2); err != nil {
		t.Fatal(err)
	}
	for _, svc := range lbNodes {
		var st api.Status
		took := waitFor(t, svc+" to answer after the restart", 60*time.Second, func() bool {
			var err error
			st, err = e.status(svc)
			return err == nil && st.Version > 0
		})
		t.Logf("%s answers %v after the restart began (waited %v)", svc, time.Since(start).Round(time.Millisecond), took.Round(time.Millisecond))
		check(t, svc+" config version after restart", fmt.Sprint(st.Version), fmt.Sprint(version), st.Version == version)
		diff := cmp.Diff(want, serverStates(st))
		check(t, svc+" admin states after restart", strings.ReplaceAll(fmt.Sprint(serverStates(st)), " ", ""), "web1 ready/3, web2 drain/1", diff == "")
	}
	r := l.wait(t)
	note(t, "failed requests (both LB nodes restarted at once)", fmt.Sprintf("%d of %d (gap %v)", r.Failures, r.Requests, r.gap()))
}

// serverRequests sums a server's request counter over the LB nodes.
func (e *env) serverRequests(t *testing.T, server string) uint64 {
	t.Helper()
	var n uint64
	for _, svc := range lbNodes {
		st, err := e.status(svc)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st.Servers {
			if s.Server == server {
				n += s.Requests
			}
		}
	}
	return n
}

// TestF_ArticleRename is the article's test: rename web1's deploy.txt;
// with check inter 2000 fall 2, web1 gets no request from
// inter×fall+inter = 6 s on, and no request fails; rename it back: web1
// gets requests again (rise 2).
func TestF_ArticleRename(t *testing.T) {
	e := ready(t)
	const inter, fall, rise = 2 * time.Second, 2, 2
	l := e.startLoad(t, loadOpts{rate: 40, concurrency: 4, duration: 24 * time.Second, timeout: 5 * time.Second})
	pass(2 * time.Second)
	site := filepath.Join(e.sites, "web1")
	if err := os.Rename(filepath.Join(site, "deploy.txt"), filepath.Join(site, "deploy1.txt")); err != nil {
		t.Fatal(err)
	}
	renamed := time.Now()
	pass(time.Until(renamed.Add(inter*fall + inter)))
	c1 := e.serverRequests(t, "web1")
	pass(4 * time.Second)
	c2 := e.serverRequests(t, "web1")
	check(t, "web1 requests 6–10 s after the rename", fmt.Sprint(c2-c1), "0", c2 == c1)
	if err := os.Rename(filepath.Join(site, "deploy1.txt"), filepath.Join(site, "deploy.txt")); err != nil {
		t.Fatal(err)
	}
	back := waitFor(t, "web1 to get requests again", 15*time.Second, func() bool {
		return e.serverRequests(t, "web1") > c2
	})
	limit := inter*rise + inter + time.Second
	check(t, "web1 back after the rename back", back.Round(100*time.Millisecond).String(), "≤ "+limit.String(), back <= limit)
	r := l.wait(t)
	check(t, "failed requests", fmt.Sprintf("%d of %d", r.Failures, r.Requests), "0", r.Failures == 0)
}

// TestG_KillServer: web1 is killed (docker kill) under load: no request
// fails beyond those in flight on web1 at that moment (at most one per
// worker).
func TestG_KillServer(t *testing.T) {
	e := ready(t)
	const workers = 4
	l := e.startLoad(t, loadOpts{rate: 40, concurrency: workers, duration: 15 * time.Second, timeout: 15 * time.Second})
	pass(3 * time.Second)
	if _, err := e.docker("kill", "web1"); err != nil {
		t.Fatal(err)
	}
	r := l.wait(t)
	check(t, "failed requests", fmt.Sprintf("%d of %d", r.Failures, r.Requests), fmt.Sprintf("≤ %d (in flight on web1)", workers), r.Failures <= workers)
	note(t, "longest gap / p99", fmt.Sprintf("%v / %.0fms", r.gap(), r.P99MS))
}

// TestH_ApplyOnLB2: `tandem config apply` on lb2 (a follower) changes
// web2's weight; the new version is live on lb1 and lb2 within 5 s and no
// request fails.
func TestH_ApplyOnLB2(t *testing.T) {
	e := ready(t)
	orig, err := os.ReadFile(filepath.Join(e.dir, "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const from = "{name: web2, address: 172.28.0.22:8002, check: true,"
	if !strings.Contains(string(orig), from) {
		t.Fatalf("cluster.yaml has no %q", from)
	}
	changed := strings.Replace(string(orig), from, from+" weight: 2,", 1)
	before, err := e.status("lb2")
	if err != nil {
		t.Fatal(err)
	}
	l := e.startLoad(t, loadOpts{rate: 40, concurrency: 4, duration: 10 * time.Second, timeout: 2 * time.Second})
	pass(2 * time.Second)
	start := time.Now()
	if out, err := e.applyOn("lb2", changed, "e2e: web2 weight 2"); err != nil {
		t.Fatalf("config apply on lb2: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = e.applyOn("lb2", string(orig), "e2e: back to cluster.yaml") })
	waitFor(t, "the new version on lb1 and lb2", 15*time.Second, func() bool {
		for _, svc := range lbNodes {
			st, err := e.status(svc)
			if err != nil || st.Version != before.Version+1 || serverStates(st)["http-in/web2"].Weight != 2 {
				return false
			}
		}
		return true
	})
	live := time.Since(start)
	check(t, "version live on lb1 and lb2 after", live.Round(100*time.Millisecond).String(), "≤ 5s", live <= 5*time.Second)
	r := l.wait(t)
	check(t, "failed requests", fmt.Sprintf("%d of %d", r.Failures, r.Requests), "0", r.Failures == 0)
}

// applyOn copies config text into svc's container and applies it there.
func (e *env) applyOn(svc, text, msg string) (string, error) {
	f := filepath.Join(e.sites, "apply.yaml")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		return "", err
	}
	id, err := e.id(svc)
	if err != nil {
		return "", err
	}
	if _, err := docker("cp", f, id+":/e2e-apply.yaml"); err != nil {
		return "", err
	}
	return e.tandem(svc, "config", "apply", "-f", "/e2e-apply.yaml", "-m", msg)
}

// TestI_LBAndWitnessGone: lb2 and the witness are killed. lb1 alone has
// no Raft quorum: its traffic continues on the last committed config, also
// through the VIP (no other host answers for it on the link), and
// `config apply` fails fast saying there is no quorum.
func TestI_LBAndWitnessGone(t *testing.T) {
	e := ready(t)
	direct := e.startLoad(t, loadOpts{url: "http://" + lb1Addr + "/", rate: 30, concurrency: 3, duration: 20 * time.Second, timeout: 2 * time.Second})
	viaVIP := e.startLoad(t, loadOpts{rate: 20, concurrency: 2, duration: 20 * time.Second, timeout: time.Second})
	pass(3 * time.Second)
	for _, svc := range []string{"lb2", "witness"} {
		if _, err := e.docker("kill", svc); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "lb1 to see no quorum", 30*time.Second, func() bool {
		st, err := e.status("lb1")
		return err == nil && !st.Quorum
	})
	start := time.Now()
	out, err := e.tandem("lb1", "config", "apply", "-f", "/etc/tandem/cluster.yaml", "-m", "e2e: without quorum")
	took := time.Since(start).Round(100 * time.Millisecond)
	msg := strings.TrimSpace(out)
	if err != nil {
		msg = err.Error()
	}
	t.Logf("config apply without quorum (%v): %s", took, msg)
	saysSo := err != nil && strings.Contains(msg, "no quorum")
	check(t, "config apply without quorum", fmt.Sprintf("fails=%v in %v, says no quorum=%v", err != nil, took, saysSo),
		"fails in ≤ 10s, says \"no quorum\"", saysSo && took <= 10*time.Second)
	r := direct.wait(t)
	check(t, "failed requests to lb1's own address", fmt.Sprintf("%d of %d", r.Failures, r.Requests), "0", r.Failures == 0)
	// lb1 sees 1 of 3 voters: it keeps the VIP because its ARP probes
	// find no other host answering for it (vip.probeLink).
	v := viaVIP.wait(t)
	check(t, "failed requests via the VIP (lb1 alone: 1 of 3 voters)", fmt.Sprintf("%d of %d (gap %v)", v.Failures, v.Requests, v.gap()),
		"0", v.Failures == 0)
	if hs, err := e.holders(); err != nil || !slices.Equal(hs, []string{"lb1"}) {
		t.Errorf("VIP holders without quorum: %v (%v), want lb1 alone", hs, err)
	}
}

// TestJ_RollingDeploy: `tandem deploy http-in` under load, one server at
// a time: 0 failed requests. The image has no sh for the deploy hook, so
// the suite runs the host's build of tandem (testenv/compose/tandem, the
// binary in the image) inside lb1's network namespace (nsenter, root):
// it reaches lb1's admin API on the container's loopback and runs the
// hook on the host, where the hook touches the site's directory.
func TestJ_RollingDeploy(t *testing.T) {
	e := ready(t)
	bin := filepath.Join(e.dir, "tandem")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the host build of tandem (make compose-image writes it): %v", err)
	}
	pid, err := e.pid("lb1")
	if err != nil || pid == 0 {
		t.Fatalf("pid of lb1: %d, %v", pid, err)
	}
	l := e.startLoad(t, loadOpts{rate: 40, concurrency: 4, duration: 45 * time.Second, timeout: 5 * time.Second})
	pass(2 * time.Second)
	start := time.Now()
	hook := "touch " + e.sites + "/$TANDEM_SERVER/deployed"
	out, err := run(t.Context(), 40*time.Second, []string{"TANDEM_API_ADDR=127.0.0.1:8404", "TANDEM_TOKEN="},
		"nsenter", "-t", fmt.Sprint(pid), "-n", bin, "deploy", "http-in", "--exec", hook, "--drain-timeout", "10s")
	took := time.Since(start).Round(100 * time.Millisecond)
	t.Logf("tandem deploy http-in (%v):\n%s", took, out)
	if err != nil {
		t.Fatalf("tandem deploy: %v", err)
	}
	for _, s := range []string{"web1", "web2"} {
		if _, err := os.Stat(filepath.Join(e.sites, s, "deployed")); err != nil {
			t.Errorf("the hook did not run for %s: %v", s, err)
		}
	}
	note(t, "deploy of 2 servers took", took.String())
	r := l.wait(t)
	check(t, "failed requests", fmt.Sprintf("%d of %d", r.Failures, r.Requests), "0", r.Failures == 0)
}
