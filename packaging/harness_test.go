package packaging

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The namespaces of one test run: the LB host (eth0 10.98.0.2, where the
// agent and its backend run) and a client on the same link (10.98.0.1).
// Only these addresses, inside namespaces the test made, see traffic.
var (
	lbNS     = fmt.Sprintf("tdeb%d-lb", os.Getpid())
	clientNS = fmt.Sprintf("tdeb%d-c", os.Getpid())
)

const (
	lbMAC = "02:98:00:00:00:02"
	vipIP = "10.98.0.100"
)

// clusterYAML: one frontend on port 80 behind the VIP, one backend on the
// LB namespace's test site, checked every 100 ms (Debug lines to look for).
const clusterYAML = `defaults:
  mode: http
  timeouts: {connect: 1s, client: 10s, server: 10s}
frontends:
  - {name: http-in, bind: ["*:80"], default_backend: web}
backends:
  - name: web
    health_check: {method: HEAD, path: /deploy.txt, version: HTTP/1.0}
    servers:
      - {name: local, address: "127.0.0.1:8001", check: true, inter: 100ms, rise: 1, fall: 3}
vips:
  - {name: vip1, address: "` + vipIP + `/24", frontends: [http-in]}
`

type netEnv struct{ t *testing.T }

// newNet makes the two namespaces and the veth between them; t.Cleanup
// deletes them (and so the veth).
func newNet(t *testing.T) *netEnv {
	t.Helper()
	n := &netEnv{t: t}
	for _, ns := range []string{lbNS, clientNS} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "-n", clientNS, "link", "add", "vc", "type", "veth", "peer", "name", "eth0", "netns", lbNS)
	run(t, "ip", "-n", lbNS, "link", "set", "eth0", "address", lbMAC)
	run(t, "ip", "-n", lbNS, "addr", "add", "10.98.0.2/24", "dev", "eth0")
	run(t, "ip", "-n", clientNS, "addr", "add", "10.98.0.1/24", "dev", "vc")
	run(t, "ip", "-n", lbNS, "link", "set", "eth0", "up")
	run(t, "ip", "-n", clientNS, "link", "set", "vc", "up")
	// Learn neighbours from gratuitous ARP (the default ignores unknown ones).
	n.exec(t, clientNS, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/vc/arp_accept")
	return n
}

func (n *netEnv) exec(t *testing.T, ns string, args ...string) string {
	t.Helper()
	return run(t, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

func (n *netEnv) hasAddr(ns, dev, ip string) bool {
	var links []struct {
		AddrInfo []struct {
			Local string `json:"local"`
		} `json:"addr_info"`
	}
	out := run(n.t, "ip", "-j", "-n", ns, "addr", "show", "dev", dev)
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		n.t.Fatalf("ip -j addr: %v: %s", err, out)
	}
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Local == ip {
				return true
			}
		}
	}
	return false
}

func (n *netEnv) neighMAC(ns, ip string) string {
	var ent []struct {
		LLAddr string `json:"lladdr"`
	}
	out := run(n.t, "ip", "-j", "-n", ns, "neigh", "show", ip)
	if err := json.Unmarshal([]byte(out), &ent); err != nil {
		n.t.Fatalf("ip -j neigh: %v: %s", err, out)
	}
	if len(ent) == 0 {
		return ""
	}
	return ent[0].LLAddr
}

// dial connects from inside namespace ns: the socket is made on a thread
// that entered ns and is never returned to the runtime's pool (it ends
// with its goroutine), so no other goroutine runs in the wrong namespace.
func (n *netEnv) dial(ns, addr string) (net.Conn, error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			ch <- res{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- res{nil, fmt.Errorf("enter netns %s: %w", ns, err)}
			return
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		ch <- res{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

func (n *netEnv) get(t *testing.T, ns, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
			return n.dial(ns, addr)
		},
	}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s from %s: %v", url, ns, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s from %s: %s: %s", url, ns, resp.Status, b)
	}
	return string(b)
}

// proc is a process in a namespace whose output (stdout and stderr) is
// kept line by line.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // valid once done is closed

	mu      sync.Mutex
	log     []string
	changed chan struct{} // closed and replaced on every new line
}

// start runs args in namespace ns with a clean TANDEM_* environment and
// NOTIFY_SOCKET pointing into dir; the test's end kills it, and a failed
// test prints its output.
func (n *netEnv) start(t *testing.T, name, dir string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", lbNS}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/var/lib/tandem", "NOTIFY_SOCKET=" + dir + "/notify.sock"}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), changed: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	w.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		}
		r.Close()
	}()
	go func() { wg.Wait(); p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			p.mu.Lock()
			t.Logf("=== output of %s ===\n%s", name, strings.Join(p.log, "\n"))
			p.mu.Unlock()
		}
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// lines is how many lines the process wrote so far.
func (p *proc) lines() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

func (p *proc) linesBetween(from, to int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log[from:to]...)
}

// waitLine waits for a line containing substr at index from or later and
// returns its index; it fails the test on timeout or exit.
func (p *proc) waitLine(t *testing.T, substr string, from int, timeout time.Duration) int {
	t.Helper()
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		for i := from; i < len(p.log); i++ {
			if strings.Contains(p.log[i], substr) {
				p.mu.Unlock()
				return i
			}
		}
		from = len(p.log)
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-p.done:
			t.Fatalf("%s exited (%v) before writing %q", p.name, p.err, substr)
		case <-deadline:
			t.Fatalf("%s wrote no %q within %v", p.name, substr, timeout)
		}
	}
}

// wait waits for the exit and returns its error.
func (p *proc) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %v", p.name, timeout)
	}
}

// notifySock is a NOTIFY_SOCKET the way systemd makes one: a datagram
// socket the service sends sd_notify messages to.
type notifySock struct {
	msgs chan string
}

func listenNotify(t *testing.T, path string) *notifySock {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil { // the agent runs as tandem
		t.Fatal(err)
	}
	s := &notifySock{msgs: make(chan string, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			s.msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return s
}

// expect reads notifications until one has the line want; it fails on
// timeout or if p exits first.
func (s *notifySock) expect(t *testing.T, want string, p *proc, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-s.msgs:
			for _, l := range strings.Split(m, "\n") {
				if l == want {
					return m
				}
			}
		case <-p.done:
			t.Fatalf("%s exited (%v) before notifying %s", p.name, p.err, want)
		case <-deadline:
			t.Fatalf("no %s notification within %v", want, timeout)
		}
	}
}

// waitFor polls cond every 20 ms until it holds, or fails after timeout.
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
