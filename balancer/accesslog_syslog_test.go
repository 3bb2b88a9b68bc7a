package balancer

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/balancer/accesslog"
	"github.com/tandem-lb/tandem/config"
)

// syslogServer is a UDP syslog receiver on loopback.
type syslogServer struct {
	conn  net.PacketConn
	lines chan string
}

func newSyslogServer(t *testing.T) *syslogServer {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &syslogServer{conn: c, lines: make(chan string, 10000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 70000)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			s.lines <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return s
}

func (s *syslogServer) target() string { return "udp@" + s.conn.LocalAddr().String() }

func (s *syslogServer) next(t *testing.T) string {
	t.Helper()
	select {
	case l := <-s.lines:
		return l
	case <-time.After(5 * time.Second):
		t.Fatal("no syslog line within 5s")
		return ""
	}
}

func (s *syslogServer) none(t *testing.T) {
	t.Helper()
	select {
	case l := <-s.lines:
		t.Fatalf("unexpected syslog line %q", l)
	default:
	}
}

func TestSyslogHTTPLogOverUDP(t *testing.T) {
	s1 := newSite(t, "s1", nil)
	ls := newSyslogServer(t)
	c := cluster(srv("s1", s1.addr()))
	f := &c.Frontends[0]
	f.Log = []config.LogTarget{{Address: ls.target(), Format: "rfc3164"}}
	f.LogOption = config.LogOptionHTTP
	f.CaptureRequestHeaders = []config.HeaderCapture{{Name: "Host", Len: 64}}
	f.CaptureResponseHeaders = []config.HeaderCapture{{Name: "X-Served-By", Len: 8}}
	e := start(t, c)
	get(t, client(), e.url("/x?y=1"))
	re := regexp.MustCompile(`^<134>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d localhost tandem\[\d+\]: ` +
		`127\.0\.0\.1:\d+ \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] fe be/s1 \d+/\d+/\d+/\d+/\d+ 200 \d+ - - ---- ` +
		`\d+/\d+/0/0/0 0/0 \{` + regexp.QuoteMeta(e.addr("fe")) + `\} \{s1\} "GET /x\?y=1 HTTP/1\.1"\n$`)
	if l := ls.next(t); !re.MatchString(l) {
		t.Fatalf("line %q\ndoes not match %s", l, re)
	}
}

func TestSyslogTCPLogAndDontLogNull(t *testing.T) {
	backend := rawServer(t, func(c net.Conn) { io.Copy(c, c) })
	ls := newSyslogServer(t)
	c := cluster(srv("s1", backend))
	c.Defaults.Mode = config.ModeTCP
	f := &c.Frontends[0]
	f.Log = []config.LogTarget{{Address: ls.target(), Format: "raw"}}
	f.LogOption = config.LogOptionHTTP // on a TCP frontend: tcplog, as HAProxy falls back
	f.DontLogNull = ptr(true)
	e := start(t, c)

	empty, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	empty.Close()
	// The empty connection is over (its server side closed too) before the
	// next starts, so the next line's counters do not count it.
	waitFor(t, "the empty connection's end", 5*time.Second, func() bool {
		st := e.serverStats("s1")
		return st.TotalConns == 1 && st.InFlight == 0 && st.CurConns == 0
	})
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "ping")
	io.ReadFull(conn, make([]byte, 4))
	conn.Close()
	re := regexp.MustCompile(`^127\.0\.0\.1:\d+ \[[^]]+\] fe be/s1 \d+/\d+/\d+ 4 -- \d+/\d+/0/0/0 0/0\n$`)
	if l := ls.next(t); !re.MatchString(l) {
		t.Fatalf("line %q\ndoes not match %s (the empty connection must not be logged)", l, re)
	}
}

// TestSyslogSeparateErrorsRaisesLevel: a 503 is logged at err (priority
// 131 for local0), a 200 at info (134), with option log-separate-errors.
func TestSyslogSeparateErrorsRaisesLevel(t *testing.T) {
	s1 := newSite(t, "s1", nil)
	ls := newSyslogServer(t)
	c := cluster(srv("s1", s1.addr()))
	c.Backends = append(c.Backends, config.Backend{Name: "dead", Servers: []config.Server{srv("d1", closedAddr(t))}})
	c.Frontends = append(c.Frontends, config.Frontend{Name: "fe2", Bind: []string{freeAddr()}, DefaultBackend: "dead"})
	c.Defaults.Logging = &config.Logging{Log: []config.LogTarget{{Address: config.LogGlobal}},
		LogOption: config.LogOptionHTTP, LogSeparateErrors: ptr(true)}
	c.Global.Log = []config.LogTarget{{Address: ls.target(), Format: "priority"}}
	e := start(t, c)
	get(t, client(), e.url("/"))
	if l := ls.next(t); !strings.HasPrefix(l, "<134>") || !strings.Contains(l, " 200 ") {
		t.Fatalf("200 logged as %q, want priority 134", l)
	}
	if code, _, _ := get(t, client(), "http://"+e.addr("fe2")+"/"); code != 503 {
		t.Fatalf("dead backend answered %d", code)
	}
	if l := ls.next(t); !strings.HasPrefix(l, "<131>") || !strings.Contains(l, " 503 ") || !strings.Contains(l, " SC-- ") {
		t.Fatalf("503 logged as %q, want priority 131 and SC--", l)
	}
}

// TestSyslogConnectLineOncePerConnection: with targets and no format,
// HAProxy's "Connect from" line, once per connection.
func TestSyslogConnectLineOncePerConnection(t *testing.T) {
	s1 := newSite(t, "s1", nil)
	ls := newSyslogServer(t)
	c := cluster(srv("s1", s1.addr()))
	c.Frontends[0].Log = []config.LogTarget{{Address: ls.target(), Format: "raw"}}
	e := start(t, c)
	cl := client()
	get(t, cl, e.url("/a"))
	get(t, cl, e.url("/b")) // same kept-alive connection
	want := regexp.MustCompile(`^Connect from 127\.0\.0\.1:\d+ to ` + regexp.QuoteMeta(e.addr("fe")) + ` \(fe/HTTP\)\n$`)
	if l := ls.next(t); !want.MatchString(l) {
		t.Fatalf("line %q does not match %s", l, want)
	}
	ls.none(t)
}

// blockingOut blocks every Write until the test ends and says when the
// first one began.
type blockingOut struct {
	entered, release chan struct{}
	once             sync.Once
}

func (b *blockingOut) Write(p []byte) (int, error) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return len(p), nil
}

// TestSyslogBlockedTargetNeverSlowsRequests: a stdout target whose writer
// is stuck does not hold up a single request; the lines that do not fit
// in its queue are dropped and counted. No timing is measured: every
// request completes while the writer is provably stuck.
func TestSyslogBlockedTargetNeverSlowsRequests(t *testing.T) {
	s1 := newSite(t, "s1", nil)
	out := &blockingOut{entered: make(chan struct{}), release: make(chan struct{})}
	c := cluster(srv("s1", s1.addr()))
	c.Frontends[0].Log = []config.LogTarget{{Address: "stdout", Format: "raw"}}
	c.Frontends[0].LogOption = config.LogOptionHTTP
	e := startWith(t, Deps{AccessLog: out}, c)
	t.Cleanup(func() { close(out.release) }) // before the balancer stops (cleanups run last-first)
	cl := client()
	get(t, cl, e.url("/first"))
	<-out.entered // the writer is stuck in Write from now on
	const workers, each = 8, 400
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				resp, err := cl.Get(e.url("/"))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- io.ErrUnexpectedEOF
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("request failed while the log target was blocked: %v", err)
	}
	// The queue holds DefaultQueueLen lines; a worker's last line may
	// still be on its way (a request is logged just after its response).
	st := e.b.LogTargets()
	if len(st) != 1 || st[0].Dropped == 0 || int(st[0].Dropped)+accesslog.DefaultQueueLen+workers < workers*each {
		t.Fatalf("log target stats %+v: want the lines beyond the queue dropped and counted", st)
	}
}

// TestSyslogUnreachableTargetKeepsServing: a unix socket that does not
// exist does not refuse the config or any request; its lines are counted
// as failed.
func TestSyslogUnreachableTargetKeepsServing(t *testing.T) {
	s1 := newSite(t, "s1", nil)
	c := cluster(srv("s1", s1.addr()))
	c.Frontends[0].Log = []config.LogTarget{{Address: "unix@" + t.TempDir() + "/no.sock"}}
	c.Frontends[0].LogOption = config.LogOptionHTTP
	e := start(t, c)
	for i := 0; i < 3; i++ {
		if code, _, _ := get(t, client(), e.url("/")); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	waitFor(t, "3 failed lines", 5*time.Second, func() bool {
		st := e.b.LogTargets()
		return len(st) == 1 && st[0].Failed == 3
	})
}

// TestSyslogWriterSurvivesReapply: a target the new config keeps keeps
// its writer (and counters); one it drops is stopped.
func TestSyslogWriterSurvivesReapply(t *testing.T) {
	s1 := newSite(t, "s1", nil)
	ls := newSyslogServer(t)
	c := cluster(srv("s1", s1.addr()))
	c.Frontends[0].Log = []config.LogTarget{{Address: ls.target()}}
	c.Frontends[0].LogOption = config.LogOptionHTTP
	e := start(t, c)
	get(t, client(), e.url("/"))
	ls.next(t)
	c2 := c.Clone()
	c2.Frontends[0].LogOption = config.LogOptionHTTPCLF
	e.apply(c2, nil)
	get(t, client(), e.url("/"))
	if l := ls.next(t); !strings.Contains(l, `"GET / HTTP/1.1" 200`) {
		t.Fatalf("after re-apply: %q, want a CLF line", l)
	}
	// The writer counts a line once its write returned, which can be after
	// the server read it.
	waitFor(t, "one writer that sent both lines", 5*time.Second, func() bool {
		st := e.b.LogTargets()
		return len(st) == 1 && st[0].Sent == 2
	})
	c3 := c2.Clone()
	c3.Frontends[0].Log = nil
	e.apply(c3, nil)
	if st := e.b.LogTargets(); len(st) != 0 {
		t.Fatalf("stats %+v after the target was removed", st)
	}
}

// TestSyslogHTTPSLogOverTLS: option httpslog on a TLS frontend, over
// HTTP/2 and HTTP/1.1: '~' after the frontend, the TLS version, SNI and
// HTTP/2.0 in the request line for HTTP/2 (section 8.2.4).
func TestSyslogHTTPSLogOverTLS(t *testing.T) {
	s1 := newSite(t, "s1", nil)
	ls := newSyslogServer(t)
	cert, key := selfSigned(t)
	c := cluster(srv("s1", s1.addr()))
	f := &c.Frontends[0]
	f.TLS = &config.TLS{Cert: cert, Key: key}
	f.Log = []config.LogTarget{{Address: ls.target(), Format: "raw"}}
	f.LogOption = config.LogOptionHTTPS
	e := start(t, c)
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "www.example.test"}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := cl.Get("https://" + e.addr("fe") + "/s?x=1")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		proto := "HTTP/1.1"
		if h2 {
			proto = "HTTP/2.0"
		}
		re := regexp.MustCompile(`^127\.0\.0\.1:\d+ \[[^]]+\] fe~ be/s1 \d+/\d+/\d+/\d+/\d+ 200 \d+ - - ---- \d+/\d+/0/0/0 0/0 ` +
			`"GET /s\?x=1 ` + regexp.QuoteMeta(proto) + `" 0/0000000000000000/0/0/0 www\.example\.test/TLSv1\.3/TLS_AES_128_GCM_SHA256\n$`)
		if l := ls.next(t); !re.MatchString(l) {
			t.Fatalf("h2=%v: line %q\ndoes not match %s", h2, l, re)
		}
	}
}

// BenchmarkHTTPKeepAliveSyslog is BenchmarkHTTPKeepAlive with option
// httplog sent to a UDP syslog socket: compare allocs/op and ns/op.
func BenchmarkHTTPKeepAliveSyslog(b *testing.B) {
	s1, s2 := rawHTTPBackend(b, "hello from server1\n"), rawHTTPBackend(b, "hello from server2\n")
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := sink.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	c := cluster(srv("s1", s1), srv("s2", s2))
	c.Frontends[0].Log = []config.LogTarget{{Address: "udp@" + sink.LocalAddr().String()}}
	c.Frontends[0].LogOption = config.LogOptionHTTP
	e := startBench(b, c)
	addr := e.addr("fe")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		cl := newBenchClient(b, addr)
		for pb.Next() {
			if err := cl.do(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
