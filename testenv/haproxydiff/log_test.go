package haproxydiff

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// udpLines receives syslog datagrams on loopback.
type udpLines struct {
	conn net.PacketConn
	ch   chan string
}

func listenUDP(t *testing.T) *udpLines {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &udpLines{conn: c, ch: make(chan string, 1000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 70000)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			u.ch <- strings.TrimSuffix(string(buf[:n]), "\n")
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return u
}

func (u *udpLines) addr() string { return u.conn.LocalAddr().String() }

// next returns the next line that contains want and not skip, skipping
// the others (the harness's own readiness probes are logged too).
func (u *udpLines) next(t *testing.T, who, want, skip string) string {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case l := <-u.ch:
			if strings.Contains(l, want) && (skip == "" || !strings.Contains(l, skip)) {
				return l
			}
		case <-timeout:
			t.Fatalf("%s logged no line with %q within 5s", who, want)
			return ""
		}
	}
}

// roundTrip sends one raw request on a connection of its own and reads
// the whole response.
func roundTrip(t *testing.T, addr, raw string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("response from %s: %v", addr, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// withStatus answers like Echo, with 404 for targets under /missing.
func withStatus(name string) func(Received) string {
	echo := Echo(name)
	return func(r Received) string {
		if strings.HasPrefix(string(r.Head.Target), "/missing") {
			return "HTTP/1.1 404 Not Found\r\nX-Served-By: " + name + "\r\nContent-Length: 0\r\n\r\n"
		}
		return echo(r)
	}
}

// logConfig is one haproxy.cfg for both load balancers; %s is where
// HAProxy sends its lines ("log" lines are not imported yet: tune gives
// tandem the same settings).
const logConfig = `
global
    log %s local0
defaults
    mode http
    log global
    timeout connect 2s
    timeout client 3s
    timeout server 3s
frontend web
    bind @FE:web@
    option httplog
    capture request header Host len 15
    capture response header X-Served-By len 20
    default_backend app
frontend web2
    bind @FE:web2@
    option httplog
    default_backend dead
frontend tcpfe
    bind @FE:tcpfe@
    mode tcp
    option tcplog
    default_backend tcpapp
backend app
    server s1 @SRV:s1@
    server s2 @SRV:s2@
backend dead
    retries 1
    server d1 @SRV:dead@
backend tcpapp
    mode tcp
    server t1 @SRV:s1@
`

// tuneLogging gives tandem what logConfig says, through its own schema.
func tuneLogging(target, format string) func(*config.Cluster) {
	// The import maps every log directive as HAProxy reads it; only the
	// socket differs (each load balancer logs to one of its own).
	return func(c *config.Cluster) {
		for i := range c.Global.Log {
			c.Global.Log[i].Address, c.Global.Log[i].Format = target, format
		}
	}
}

func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

var (
	clientPort = regexp.MustCompile(`^(127\.0\.0\.1):\d+ `)
	dateField  = regexp.MustCompile(`\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]`)
	timerField = regexp.MustCompile(` (-?\d+/)+-?\d+ `)
	timer      = regexp.MustCompile(`\d+`)
	bytesField = regexp.MustCompile(`(/-?[N1] -?\d+) \d+ `) // the last timer, %ST, %B
)

// mask hides what two load balancers cannot share: the client's port,
// the dates and the timers' milliseconds (a -1 stays: it says a step was
// never reached). The first "a/b/c..." group is the timers.
func mask(line string) string {
	line = clientPort.ReplaceAllString(line, "$1:PORT ")
	line = dateField.ReplaceAllString(line, "[DATE]")
	loc := timerField.FindStringIndex(line)
	if loc == nil {
		return line
	}
	timers := timer.ReplaceAllStringFunc(line[loc[0]:loc[1]], func(s string) string { return "N" })
	timers = strings.ReplaceAll(timers, "-N", "-1")
	return line[:loc[0]] + timers + line[loc[1]:]
}

// TestLogLinesMatchHAProxy sends the same requests through HAProxy 2.6 and
// tandem, each logging option httplog / tcplog lines to a UDP socket of
// its own, and compares the lines byte for byte with ports, dates and
// timer values masked (doc/configuration.txt 8.2.2 and 8.2.3).
func TestLogLinesMatchHAProxy(t *testing.T) {
	hlog, tlog := listenUDP(t), listenUDP(t)
	s1, s2 := NewRecorder(t, withStatus("s1")), NewRecorder(t, withStatus("s2"))
	cfg := fmt.Sprintf(logConfig, hlog.addr()+" format raw")
	p := StartTuned(t, Setup{Config: cfg, Servers: map[string]string{"s1": s1.Addr, "s2": s2.Addr, "dead": deadAddr(t)}},
		tuneLogging("udp@"+tlog.addr(), "raw"))
	// HTTP lines differ in one value, %B: tandem logs the bytes the
	// client received (what section 8.2.3 says), HAProxy 2.6 the size of
	// its internal HTX message (21 + the status line's three parts + each
	// field's name and value + the payload: 70 for the 63 bytes of the
	// first case). TCP lines count wire bytes on both.
	cases := []struct {
		name, fe, raw, want string
		maskBytes           bool
	}{
		{"httplog 200 with captures", "web", "GET /a/b?c=d HTTP/1.1\r\nHost: example.test\r\nUser-Agent: t\r\n\r\n", "/a/b?c=d", true},
		{"httplog 404", "web", "GET /missing HTTP/1.1\r\nHost: example.test\r\n\r\n", "/missing", true},
		{"httplog HTTP/1.0, no Host", "web", "GET /x HTTP/1.0\r\n\r\n", "/x", true},
		{"httplog 503, no server", "web2", "GET /dead HTTP/1.1\r\nHost: example.test\r\n\r\n", "/dead", true},
		{"tcplog", "tcpfe", "GET /tcp HTTP/1.1\r\nHost: example.test\r\n\r\n", "tcpapp/t1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// %ac and %fc count no earlier connection, nor a probe.
			for _, addr := range p.HAProxy {
				waitClosed(t, addr)
			}
			hs := roundTrip(t, p.HAProxy[tc.fe], tc.raw)
			ts := roundTrip(t, p.Tandem[tc.fe], tc.raw)
			if hs != ts {
				t.Fatalf("status: HAProxy %d, tandem %d", hs, ts)
			}
			skip := ""
			if tc.fe == "tcpfe" {
				skip = " 0 -- " // the probes' lines carry no bytes
			}
			h, tl := hlog.next(t, "HAProxy", tc.want, skip), tlog.next(t, "tandem", tc.want, skip)
			t.Logf("HAProxy: %s", h)
			t.Logf("tandem:  %s", tl)
			mh, mt := mask(h), mask(tl)
			if tc.maskBytes {
				mh, mt = bytesField.ReplaceAllString(mh, "$1 BYTES "), bytesField.ReplaceAllString(mt, "$1 BYTES ")
			}
			if mh != mt {
				t.Fatalf("lines differ (masked)\nHAProxy: %s\ntandem:  %s", mh, mt)
			}
		})
	}
}

// needRsyslog returns rsyslogd, installing Debian's package when it is
// missing and the test runs as root.
func needRsyslog(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"rsyslogd", "/usr/sbin/rsyslogd"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	miss := func(format string, args ...any) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("haproxydiff: "+format+" (CI=true: the rsyslog test must run)", args...)
		}
		t.Skipf("haproxydiff: "+format, args...)
	}
	if os.Geteuid() != 0 {
		miss("rsyslog is not installed and the test is not root: run `sudo apt-get install -y rsyslog`")
	}
	rsyslogOnce.Do(func() { rsyslogErr = aptInstall("rsyslog") })
	if rsyslogErr != nil {
		miss("install rsyslog: %v", rsyslogErr)
	}
	path, err := exec.LookPath("/usr/sbin/rsyslogd")
	if err != nil {
		miss("rsyslogd not found after installing rsyslog")
	}
	return path
}

var (
	rsyslogOnce sync.Once
	rsyslogErr  error
)

// rsyslogConf writes what arrives on a UDP port into one file per program
// name, in rsyslog's traditional file format (what /var/log/haproxy.log
// holds on Debian, and what halog reads).
const rsyslogConf = `
global(workDirectory="DIR")
module(load="imudp")
template(name="trad" type="string" string="%TIMESTAMP% %HOSTNAME% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n")
template(name="perprog" type="string" string="DIR/%programname%.log")
input(type="imudp" address="127.0.0.1" port="PORT" ruleset="lb")
ruleset(name="lb") {
    action(type="omfile" dynaFile="perprog" template="trad")
}
`

// startRsyslog runs Debian's rsyslogd with a config of its own on a free
// UDP port until the test ends; it returns the port and the directory
// where each program's lines land (PROGRAM.log).
func startRsyslog(t *testing.T) (string, string) {
	t.Helper()
	bin := needRsyslog(t)
	dir := t.TempDir()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	conf := filepath.Join(dir, "rsyslog.conf")
	body := strings.NewReplacer("DIR", dir, "PORT", fmt.Sprint(port)).Replace(rsyslogConf)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-N1", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd refuses its config: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var out lockedWriter
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rsyslogd: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Ready when a probe comes out: UDP has no connection to wait for.
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		io.WriteString(c, "<134>Dec  1 00:00:00 localhost probe[1]: ready\n")
		if b, _ := os.ReadFile(filepath.Join(dir, "probe.log")); len(b) > 0 {
			return addr, dir
		}
		select {
		case <-done:
			t.Fatalf("rsyslogd exited: %s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd wrote nothing within 10s: %s", out.String())
		}
	}
}

// waitLines waits until file holds n lines.
func waitLines(t *testing.T, file string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(file)
		if got := strings.Count(string(b), "\n"); got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: fewer than %d lines after 10s:\n%s", file, n, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// halog runs HAProxy's log analyser (shipped in Debian's haproxy package)
// on file with args.
func halog(t *testing.T, file string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("halog")
	if err != nil {
		t.Fatalf("halog not found (Debian's haproxy package ships /usr/bin/halog): %v", err)
	}
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("halog %v: %v", args, err)
	}
	return string(out)
}

// counts keeps the request-count columns of halog -srv (name, 1xx..other,
// tot_req, req_ok), dropping the averages of times.
func counts(srv string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(srv), "\n") {
		f := strings.Fields(l)
		if len(f) > 9 {
			f = f[:9]
		}
		b.WriteString(strings.Join(f, " ") + "\n")
	}
	return b.String()
}

// TestHalogAgreesThroughRsyslog: both load balancers log to one rsyslogd
// (Debian's, with a config of its own), which files each program's lines
// as /var/log/haproxy.log would hold them; halog then reports the same
// per-server request counts, status codes and termination codes for
// tandem's file as for HAProxy's, for the same traffic.
func TestHalogAgreesThroughRsyslog(t *testing.T) {
	syslogAddr, dir := startRsyslog(t)
	s1, s2 := NewRecorder(t, withStatus("s1")), NewRecorder(t, withStatus("s2"))
	cfg := fmt.Sprintf(logConfig, syslogAddr+" format rfc3164")
	p := StartTuned(t, Setup{Config: cfg, Servers: map[string]string{"s1": s1.Addr, "s2": s2.Addr, "dead": deadAddr(t)}},
		tuneLogging("udp@"+syslogAddr, "rfc3164"))
	type step struct {
		fe, path string
		n        int
	}
	traffic := []step{{"web", "/", 20}, {"web", "/missing", 6}, {"web2", "/", 2}, {"web", "/a?b", 5}}
	total := 0
	for _, s := range traffic {
		for i := 0; i < s.n; i++ {
			raw := "GET " + s.path + " HTTP/1.1\r\nHost: example.test\r\n\r\n"
			roundTrip(t, p.HAProxy[s.fe], raw)
			roundTrip(t, p.Tandem[s.fe], raw)
		}
		total += s.n
	}
	hfile, tfile := filepath.Join(dir, "haproxy.log"), filepath.Join(dir, "tandem.log")
	// Each frontend also logs the harness's probe connection (a 400 for
	// the HTTP ones, a line for the TCP one), as HAProxy does.
	total += len(p.HAProxy)
	waitLines(t, hfile, total)
	waitLines(t, tfile, total)
	for _, args := range [][]string{{"-srv"}, {"-st"}, {"-tc"}} {
		h, tl := halog(t, hfile, args...), halog(t, tfile, args...)
		if args[0] == "-srv" {
			h, tl = counts(h), counts(tl)
		}
		t.Logf("halog %s on HAProxy's log:\n%s", args[0], h)
		t.Logf("halog %s on tandem's log:\n%s", args[0], tl)
		if h != tl {
			t.Errorf("halog %s differs\nHAProxy:\n%s\ntandem:\n%s", args[0], h, tl)
		}
	}
	if b, _ := os.ReadFile(tfile); !strings.Contains(string(b), " tandem[") {
		t.Errorf("tandem.log does not hold tandem's lines:\n%s", b)
	}
}

var (
	legacyDate = regexp.MustCompile(`[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d`)
	isoDate    = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d`)
	pidField   = regexp.MustCompile(`haproxy\[\d+\]|haproxy \d+ `)
)

// TestSyslogHeadersMatchHAProxy sends one request through both load
// balancers, each logging it to one UDP socket per header format, and
// compares the frames with dates, PIDs, ports and timers masked (section
// 4.2 "log ... format"; src/log.c build_log_header).
func TestSyslogHeadersMatchHAProxy(t *testing.T) {
	formats := []struct {
		format string
		len    int
	}{{"local", 0}, {"rfc3164", 0}, {"rfc5424", 0}, {"priority", 0}, {"short", 0}, {"timed", 0}, {"iso", 0}, {"raw", 0},
		{"rfc5424", 160}, {"raw", 100}} // len cuts header and message together
	var hs, ts []*udpLines
	var glog strings.Builder
	for _, f := range formats {
		h, tl := listenUDP(t), listenUDP(t)
		hs, ts = append(hs, h), append(ts, tl)
		lenOpt := ""
		if f.len != 0 {
			lenOpt = fmt.Sprintf(" len %d", f.len)
		}
		fmt.Fprintf(&glog, "    log %s%s format %s local3 info\n", h.addr(), lenOpt, f.format)
	}
	cfg := strings.Replace(fmt.Sprintf(logConfig, "127.0.0.1:9"), "    log 127.0.0.1:9 local0\n",
		glog.String()+"    log-tag haproxy\n", 1)
	s1, s2 := NewRecorder(t, withStatus("s1")), NewRecorder(t, withStatus("s2"))
	p := StartTuned(t, Setup{Config: cfg, Servers: map[string]string{"s1": s1.Addr, "s2": s2.Addr, "dead": deadAddr(t)}}, func(c *config.Cluster) {
		tuneLogging("udp@127.0.0.1:9", "local")(c)
		c.Global.Log = nil
		for i, f := range formats {
			c.Global.Log = append(c.Global.Log, config.LogTarget{Address: "udp@" + ts[i].addr(), Format: f.format, Len: f.len,
				Facility: "local3", Level: "info"})
		}
		c.Global.LogTag = "haproxy" // the tag is the program name: compare like with like
	})
	raw := "GET /headers HTTP/1.1\r\nHost: example.test\r\n\r\n"
	roundTrip(t, p.HAProxy["web"], raw)
	roundTrip(t, p.Tandem["web"], raw)
	for i, f := range formats {
		want := "/headers"
		if f.len != 0 {
			want = "web app/" // a cut line ends before the request
		}
		h, tl := hs[i].next(t, "HAProxy", want, ""), ts[i].next(t, "tandem", want, "")
		m := func(s string) string {
			s = legacyDate.ReplaceAllString(s, "DATE")
			s = isoDate.ReplaceAllString(s, "ISODATE")
			s = pidField.ReplaceAllString(s, "haproxy[PID]")
			if i := strings.Index(s, "127.0.0.1:"); i >= 0 {
				s = s[:i] + mask(s[i:])
			}
			return bytesField.ReplaceAllString(s, "$1 BYTES ")
		}
		t.Logf("%+v\n HAProxy: %q\n tandem:  %q", f, h, tl)
		if f.len != 0 {
			// Cut lines end inside fields whose widths differ (port, timers):
			// compare the lengths, and the masked header.
			if len(h) != f.len || len(tl) != f.len || m(h)[:40] != m(tl)[:40] {
				t.Errorf("len %d: HAProxy sent %d bytes, tandem %d\nHAProxy: %q\ntandem:  %q", f.len, len(h), len(tl), h, tl)
			}
			continue
		}
		if m(h) != m(tl) {
			t.Errorf("format %+v differs (masked)\nHAProxy: %q\ntandem:  %q", f, m(h), m(tl))
		}
	}
}
