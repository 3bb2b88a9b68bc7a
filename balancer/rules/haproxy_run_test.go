package rules

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/testenv/debian"
)

// The HAProxy side of the differential test in haproxy_test.go: starting
// Debian's HAProxy 2.6 on the cases' config and reading its answers.

type answer struct {
	status int
	fields []string // "name: value", names lower-cased, sorted
	body   string
}

var comparedFields = []string{"location", "set-cookie", "www-authenticate", "x-a", "x-after", "content-type"}

// startHAProxy runs Debian's haproxy on cfg (files written beside it)
// until the test ends, once the listener on port waitPort accepts.
func startHAProxy(t *testing.T, cfg string, files map[string]string, waitPort int) {
	t.Helper()
	bin := haproxyBinary(t)
	dir := t.TempDir()
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "haproxy.cfg")
	full := "global\n  maxconn 200\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n" + cfg
	if err := os.WriteFile(path, []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", path, "-db")
	cmd.Dir = dir
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitListening(t, waitPort, out)
}

var installHAProxy sync.Once

// haproxyBinary finds Debian's haproxy, installing it with apt-get when the
// test runs as root (CI starts from a clean machine). A normal user without
// it skips; under CI=true that is a failure.
func haproxyBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil && os.Geteuid() == 0 {
		installHAProxy.Do(func() {
			if err := debian.Install("haproxy"); err != nil {
				t.Logf("%v", err)
			}
		})
		bin, err = exec.LookPath("haproxy")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("haproxy is not installed and could not be (apt-get install haproxy): %v", err)
		}
		t.Skip("haproxy is not installed (apt-get install haproxy); the differential test needs Debian's HAProxy 2.6")
	}
	return bin
}

func haproxyAnswers(t *testing.T) [][]answer {
	t.Helper()
	ports := freePorts(t, len(diffCases))
	var cfg strings.Builder
	for i, c := range diffCases {
		cfg.WriteString(c.cfg(fmt.Sprintf("f%d", i), ports[i]))
	}
	for _, be := range diffBackends {
		fmt.Fprintf(&cfg, "backend %s\n  http-request %s\n", be, fmt.Sprintf(reflect, be))
	}
	startHAProxy(t, cfg.String(), diffFiles, ports[len(ports)-1])
	all := make([][]answer, len(diffCases))
	for i, c := range diffCases {
		for _, r := range c.requests {
			all[i] = append(all[i], haproxyDo(t, ports[i], r))
		}
	}
	return all
}

func freePorts(t *testing.T, n int) []int {
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func waitListening(t *testing.T, port int, out *bytes.Buffer) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond) // polling a port that is not open yet; bounded
	}
	t.Fatalf("haproxy did not listen on %d within 10s: %s", port, out.String())
}

func rawRequest(r string) string {
	return strings.ReplaceAll(r, "|", "\r\n") + "\r\nConnection: close\r\n\r\n"
}

func haproxyDo(t *testing.T, port int, r string) answer {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(rawRequest(r))); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(r, " ")
	res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%q: %v", r, err)
	}
	defer res.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(res.Body)
	a := answer{status: res.StatusCode, body: body.String()}
	for _, n := range comparedFields {
		for _, v := range res.Header.Values(n) {
			a.fields = append(a.fields, n+": "+v)
		}
	}
	sort.Strings(a.fields)
	return a
}

// htxHead is a head that lower-cases field names as HAProxy's HTX does,
// those added by rules included.
type htxHead struct{ *head }

func (h htxHead) AddField(n, v []byte) { h.head.AddField([]byte(strings.ToLower(string(n))), v) }

// parseRaw turns "METHOD TARGET VERSION|Name: value|..." into a head.
func parseRaw(r string) *head {
	lines := strings.Split(r, "|")
	parts := strings.SplitN(lines[0], " ", 3)
	h := newReq(parts[0], parts[1], lines[1:]...)
	h.version = []byte(parts[2])
	for i := range h.names {
		// HAProxy's HTTP/1 layer lower-cases field names (HTX).
		h.names[i] = []byte(strings.ToLower(string(h.names[i])))
	}
	return h // HAProxy drops the Connection field the client sends: so does the head the core gives
}
