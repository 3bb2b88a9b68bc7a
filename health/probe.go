package health

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// maxStatusLine bounds how much of a response is read looking for the end
// of the status line; a longer line is a bad status line.
const maxStatusLine = 1024

// spec is everything needed to check one server, derived from the resolved
// config. A changed spec restarts the server's checker.
type spec struct {
	addr    string // host:port
	request string // exact HTTP request bytes; empty: TCP check
	expect  []int  // healthy HTTP statuses; empty: 2xx and 3xx
	// disable404 turns a 404 into NoLB (HAProxy "http-check disable-on-404").
	disable404 bool
	timing     config.CheckTiming
	// connectTimeout is the backend's timeout connect; it bounds the
	// connect only when checkTimeout is set.
	connectTimeout time.Duration
	// checkTimeout is the backend's timeout check; 0: Inter bounds the
	// whole check.
	checkTimeout time.Duration
}

// newSpec derives a server's check from its resolved backend (every
// default concrete, see config.Resolve: nothing is re-defaulted here).
func newSpec(b *config.Backend, s *config.Server) spec {
	sp := spec{
		addr:           s.Address,
		timing:         s.CheckTiming,
		connectTimeout: b.Timeouts.Connect.D(),
		checkTimeout:   b.Timeouts.Check.D(),
	}
	if hc := b.HealthCheck; hc != nil && hc.Type == config.CheckHTTP {
		sp.request = httpRequest(hc, s.Address)
		sp.expect = slices.Clone(hc.ExpectStatus)
		sp.disable404 = hc.DisableOn404
	}
	return sp
}

func (sp spec) equal(o spec) bool {
	return sp.addr == o.addr && sp.request == o.request && slices.Equal(sp.expect, o.expect) &&
		sp.disable404 == o.disable404 && sp.timing == o.timing &&
		sp.connectTimeout == o.connectTimeout && sp.checkTimeout == o.checkTimeout
}

// httpRequest renders the check request, e.g. "HEAD /deploy.txt
// HTTP/1.0\r\n\r\n". HTTP/1.1 adds "Host" (the configured host, else the
// server address) and "Connection: close"; HTTP/1.0 sends Host only when
// one is configured.
func httpRequest(hc *config.HealthCheck, addr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", hc.Method, hc.Path, hc.Version)
	switch {
	case hc.Version != "HTTP/1.0":
		fmt.Fprintf(&b, "Host: %s\r\nConnection: close\r\n", orDefault(hc.Host, addr))
	case hc.Host != "":
		fmt.Fprintf(&b, "Host: %s\r\n", hc.Host)
	}
	b.WriteString("\r\n")
	return b.String()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// firstDelay staggers the first check of each server uniformly over
// [0, Inter) so that many servers do not fire together.
func (sp spec) firstDelay() time.Duration {
	return time.Duration(rand.Int64N(int64(sp.timing.Inter)))
}

// result is the outcome of one check.
type result struct {
	verdict verdict
	desc    string // HAProxy-like: "L7OK 200", "L4CON connection refused"
	code    int    // HTTP status, 0 if none
	dur     time.Duration
}

// probe runs one check. Timeouts follow HAProxy: without timeout check,
// Inter bounds the whole check; with it, the connect is bounded by
// min(timeout connect, Inter) and the response by timeout check from the
// moment the connection is established.
func (sp spec) probe(ctx context.Context) result {
	start := time.Now()
	r := sp.run(ctx, start)
	r.dur = time.Since(start)
	return r
}

func (sp spec) run(ctx context.Context, start time.Time) result {
	connectLimit, readLimit := sp.timing.Inter.D(), sp.checkTimeout
	if readLimit > 0 && sp.connectTimeout > 0 {
		connectLimit = min(connectLimit, sp.connectTimeout)
	}
	dctx, cancel := context.WithTimeout(ctx, connectLimit)
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", sp.addr)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return result{verdict: fail, desc: "L4TOUT"}
		}
		return result{verdict: fail, desc: "L4CON " + shortErr(err)}
	}
	defer conn.Close()
	if sp.request == "" {
		return result{verdict: pass, desc: "L4OK"}
	}

	deadline := start.Add(sp.timing.Inter.D())
	if readLimit > 0 {
		deadline = time.Now().Add(readLimit)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return result{verdict: fail, desc: "L4CON " + shortErr(err)}
	}
	// Cancelling ctx aborts a blocked write or read at once.
	stopAbort := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stopAbort()

	if _, err := conn.Write([]byte(sp.request)); err != nil {
		return sp.ioFailure(err)
	}
	line, err := bufio.NewReaderSize(conn, maxStatusLine).ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return result{verdict: fail, desc: "L7RSP bad status line"}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return result{verdict: fail, desc: "L7TOUT"}
	case err != nil && len(line) == 0 && errors.Is(err, io.EOF):
		return result{verdict: fail, desc: "L7RSP empty response"}
	case err != nil && !errors.Is(err, io.EOF):
		return sp.ioFailure(err)
	}
	code, ok := parseStatusLine(string(line))
	if !ok {
		return result{verdict: fail, desc: "L7RSP bad status line"}
	}
	v, desc := sp.classify(code)
	return result{verdict: v, desc: desc, code: code}
}

func (sp spec) ioFailure(err error) result {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return result{verdict: fail, desc: "L7TOUT"}
	}
	return result{verdict: fail, desc: "L4CON " + shortErr(err)}
}

// classify maps an HTTP status to a verdict and HAProxy's check status:
// L7OK (healthy), L7OKC (404 with disable-on-404), L7STS (wrong status).
func (sp spec) classify(code int) (verdict, string) {
	switch {
	case sp.disable404 && code == 404:
		return stop, "L7OKC 404"
	case len(sp.expect) == 0 && code >= 200 && code < 400,
		slices.Contains(sp.expect, code):
		return pass, "L7OK " + strconv.Itoa(code)
	default:
		return fail, "L7STS " + strconv.Itoa(code)
	}
}

// parseStatusLine reads "HTTP/1.x NNN reason" and returns NNN.
func parseStatusLine(line string) (int, bool) {
	line = strings.TrimRight(line, "\r\n")
	proto, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/") || len(rest) < 3 {
		return 0, false
	}
	if len(rest) > 3 && rest[3] != ' ' {
		return 0, false
	}
	code := 0
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return 0, false
	}
	return code, true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// shortErr drops the "dial tcp 127.0.0.1:1: connect: " prefix of a socket
// error, keeping what an operator reads on a stats page.
func shortErr(err error) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}
