package balancer

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

// textLine is the HAProxy-like access-log line, one capture per field.
var textLine = regexp.MustCompile(`^(\S+):(\d+) \[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3})\] (\S+) (\S+)/(\S+) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(\d+) (\d{3}|-) (\d+) (\d+) (\S\S) (\d+) "([^"]*)"$`)

// logTimers is Tq/Tw/Tc/Tr/Tt of a text access-log line.
func logTimers(t *testing.T, line string) [5]int {
	t.Helper()
	m := textLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("line %q does not match the access-log format", line)
	}
	var ts [5]int
	for i := range ts {
		ts[i], _ = strconv.Atoi(m[7+i])
	}
	return ts
}

// readLog flushes the balancer's access logs and returns the file's lines
// once it has at least n.
func readLog(t *testing.T, e *testEnv, path string, n int) []string {
	t.Helper()
	var lines []string
	waitFor(t, strconv.Itoa(n)+" access-log lines", 5*time.Second, func() bool {
		e.b.flushAccessLogs(false)
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		return len(b) > 0 && len(lines) >= n
	})
	return lines
}

func TestAccessLogTextFields(t *testing.T) {
	s1 := newSite(t, "s1", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	path := filepath.Join(t.TempDir(), "access.log")
	c := cluster(srv("s1", s1.addr()))
	c.Frontends[0].AccessLog = &config.AccessLog{Path: path}
	e := start(t, c)
	before := time.Now()
	code, body, _ := get(t, client(), e.url("/a?b=\"c\""))
	if code != 200 || body != "hello" {
		t.Fatalf("GET: %d %q", code, body)
	}
	line := readLog(t, e, path, 1)[0]
	m := textLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("line %q does not match the access-log format", line)
	}
	ts, err := time.ParseInLocation("02/Jan/2006:15:04:05.000", m[3], time.Local)
	if err != nil || ts.Before(before.Truncate(time.Millisecond)) || ts.After(time.Now()) {
		t.Errorf("date %q (%v) not within the request", m[3], err)
	}
	got := map[string]string{
		"client": m[1], "frontend": m[4], "backend": m[5], "server": m[6],
		"status": m[12], "bytes_out": m[13], "term": m[15], "retries": m[16], "request": m[17],
	}
	want := map[string]string{
		"client": "127.0.0.1", "frontend": "fe", "backend": "be", "server": "s1",
		"status": "200", "bytes_out": m[13], "term": "--", "retries": "0", "request": "GET /a?b=#22c#22 HTTP/1.1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s\nline: %s", diff, line)
	}
	if n, _ := strconv.Atoi(m[13]); n <= len("hello") {
		t.Errorf("bytes_out %d: want head and body", n)
	}
	if n, _ := strconv.Atoi(m[14]); n < len("GET /a HTTP/1.1\r\n\r\n") {
		t.Errorf("bytes_in %d: want at least the request head", n)
	}
	timers := logTimers(t, line)
	for i, v := range timers {
		if v < 0 {
			t.Errorf("timer %d is %d: every step was reached", i, v)
		}
	}
	if sum := timers[0] + timers[1] + timers[2] + timers[3]; sum > timers[4]+1 {
		t.Errorf("Tq+Tw+Tc+Tr = %d > Tt = %d", sum, timers[4])
	}
}

func TestAccessLogJSONAndNoServer(t *testing.T) {
	s1 := newSite(t, "s1", nil)
	path := filepath.Join(t.TempDir(), "access.json")
	c := cluster(srv("s1", s1.addr()))
	c.Frontends[0].AccessLog = &config.AccessLog{Path: path, Format: "json"}
	e := start(t, c)
	get(t, client(), e.url("/ok"))
	// Each get is a new connection, logged by its own goroutine: wait for
	// the first line, so that the two lines are in request order.
	readLog(t, e, path, 1)
	e.setStates(map[config.ServerKey]ServerState{key("s1"): {Admin: config.AdminMaint, Weight: -1}})
	if code, _, _ := get(t, client(), e.url("/none")); code != 503 {
		t.Fatalf("GET with no server: %d, want 503", code)
	}
	lines := readLog(t, e, path, 2)
	type entry struct {
		Frontend, Backend, Server, Termination, Method, URI, Proto string
		Status, Retries                                            int
	}
	var got []entry
	for _, l := range lines {
		var raw map[string]any
		if err := json.Unmarshal([]byte(l), &raw); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		for _, k := range []string{"time", "client", "tq_ms", "tw_ms", "tc_ms", "tr_ms", "tt_ms", "bytes_out", "bytes_in"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("line %q lacks %q", l, k)
			}
		}
		var en entry
		json.Unmarshal([]byte(l), &en)
		got = append(got, en)
	}
	want := []entry{
		{Frontend: "fe", Backend: "be", Server: "s1", Termination: "--", Method: "GET", URI: "/ok", Proto: "HTTP/1.1", Status: 200},
		{Frontend: "fe", Backend: "be", Server: noServer, Termination: "SC", Method: "GET", URI: "/none", Proto: "HTTP/1.1", Status: 503},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestAccessLogTCPConnection(t *testing.T) {
	echo := rawServer(t, func(c net.Conn) { io.Copy(c, c) })
	path := filepath.Join(t.TempDir(), "tcp.log")
	c := cluster(srv("s1", echo))
	c.Defaults.Mode = config.ModeTCP
	c.Frontends[0].AccessLog = &config.AccessLog{Path: path}
	e := start(t, c)
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, conn)
	conn.Close()
	m := textLine.FindStringSubmatch(readLog(t, e, path, 1)[0])
	if m == nil {
		t.Fatalf("TCP line does not match the format")
	}
	got := []string{m[5], m[6], m[7], m[10], m[12], m[13], m[14], m[15], m[17]}
	want := []string{"be", "s1", "-1", "-1", "-", "4", "4", "--", "-"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backend, server, Tq, Tr, status, bytes out/in, term, request (-want +got):\n%s", diff)
	}
}

func TestAccessLogOffOpensNothing(t *testing.T) {
	s1 := newSite(t, "s1", nil)
	e := startWith(t, Deps{AccessLog: failWriter{t}}, cluster(srv("s1", s1.addr())))
	get(t, client(), e.url("/"))
	e.b.flushAccessLogs(false)
	e.b.mu.Lock()
	defer e.b.mu.Unlock()
	if n := len(e.b.alogs); n != 0 {
		t.Errorf("%d access logs open with access_log unset", n)
	}
}

// failWriter fails the test when written to.
type failWriter struct{ t *testing.T }

func (w failWriter) Write(p []byte) (int, error) {
	w.t.Errorf("unexpected access-log write %q", p)
	return len(p), nil
}

// startWith is start with deps.
func startWith(t *testing.T, deps Deps, c *config.Cluster) *testEnv {
	t.Helper()
	b, err := New(Config{DrainTimeout: time.Second}, deps)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, b: b}
	e.apply(c, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

func TestAccessLogToDepsWriter(t *testing.T) {
	s1 := newSite(t, "s1", nil)
	pr, pw := io.Pipe()
	t.Cleanup(func() { pr.Close() })
	c := cluster(srv("s1", s1.addr()))
	c.Frontends[0].AccessLog = &config.AccessLog{}
	e := startWith(t, Deps{AccessLog: pw}, c)
	b := e.b
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(pr).ReadString('\n')
		lines <- l
	}()
	get(t, client(), e.url("/x"))
	b.flushAccessLogs(false)
	select {
	case l := <-lines:
		if !strings.Contains(l, `"GET /x HTTP/1.1"`) {
			t.Errorf("line %q: want the request", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no line on Deps.AccessLog")
	}
}

func TestAccessLogUnwritablePathRefusesConfig(t *testing.T) {
	s1 := newSite(t, "s1", nil)
	b, err := New(Config{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c := cluster(srv("s1", s1.addr()))
	c.Frontends[0].AccessLog = &config.AccessLog{Path: filepath.Join(t.TempDir(), "missing", "a.log")}
	err = b.Apply(Desired{Config: c.Resolve()})
	if err == nil || !strings.Contains(err.Error(), "open access log") {
		t.Fatalf("Apply: %v, want an open access log error", err)
	}
	if len(b.Stats().Frontends) != 0 {
		t.Error("a refused config serves frontends")
	}
}

func TestAppendEscapedKeepsOneLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/plain", "/plain"},
		{"/q\"x", "/q#22x"},
		{"/a#b", "/a#23b"},
		{"/\r\n", "/#0D#0A"},
		{"/é", "/#C3#A9"},
	}
	for _, tt := range tests {
		if got := string(appendEscaped(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("appendEscaped(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppendJSONStringIsValidJSON(t *testing.T) {
	for _, in := range []string{"plain", "q\"uote\\", "ctl\x01\n", "é", "bad\xff"} {
		b := appendJSONString(nil, []byte(in))
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("appendJSONString(%q) = %s: %v", in, b, err)
			continue
		}
		want := strings.ToValidUTF8(in, "\uFFFD")
		if got != want {
			t.Errorf("appendJSONString(%q) decodes to %q, want %q", in, got, want)
		}
	}
}

// BenchmarkHTTPKeepAliveAccessLog is BenchmarkHTTPKeepAlive with the text
// access log on (to a file): compare the two for the cost of logging.
func BenchmarkHTTPKeepAliveAccessLog(b *testing.B) {
	s1, s2 := rawHTTPBackend(b, "hello from server1\n"), rawHTTPBackend(b, "hello from server2\n")
	c := cluster(srv("s1", s1), srv("s2", s2))
	c.Frontends[0].AccessLog = &config.AccessLog{Path: filepath.Join(b.TempDir(), "access.log")}
	e := startBench(b, c)
	addr := e.addr("fe")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := newBenchClient(b, addr)
		for pb.Next() {
			if err := c.do(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAccessLogLine is the per-request cost of an access-log line:
// formatting plus the buffered write (to /dev/null).
func BenchmarkAccessLogLine(b *testing.B) {
	l, err := newLogFile(os.DevNull, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.close()
	e := accessEntry{
		client: netip.MustParseAddrPort("192.0.2.7:54321"), start: time.Now(),
		frontend: "http-in", backend: "http-in", srv: "server1",
		tq: time.Millisecond, tw: 0, tc: 2 * time.Millisecond, tr: 5 * time.Millisecond, tt: 9 * time.Millisecond,
		status: 200, bytesOut: 1234, bytesIn: 321, term: "--",
		method: []byte("GET"), uri: []byte("/index.html?x=1"), proto: []byte("HTTP/1.1"),
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendAccessLine(buf[:0], &e)
		l.write(buf)
	}
}

// BenchmarkHistogramObserve is the per-request cost of the response-time
// histogram.
func BenchmarkHistogramObserve(b *testing.B) {
	var h histogram
	b.ReportAllocs()
	for b.Loop() {
		h.observe(7 * time.Millisecond)
	}
}

func TestAppendLogDateMatchesTimeFormat(t *testing.T) {
	for _, ts := range []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.Local),
		time.Date(999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Now(),
	} {
		want := ts.Format("02/Jan/2006:15:04:05.000")
		if got := string(appendLogDate(nil, ts)); got != want {
			t.Errorf("appendLogDate(%v) = %q, want %q", ts, got, want)
		}
	}
}
