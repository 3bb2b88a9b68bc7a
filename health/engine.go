package health

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// The engine: one function runs every ruleset, step by step, as HAProxy's
// tcpcheck_main does. Its buffer rules are HAProxy's: a send empties what
// was read; an expect right after a connect or a send reads first; an
// expect right after another judges the same bytes; an expect that cannot
// decide yet reads more, until the server closes, the buffer is full or
// the check times out.

// limits are one check's timeouts, as HAProxy applies them: without
// timeout check, Inter bounds the whole check; with it, each connect is
// bounded by min(timeout connect, Inter) and what follows by timeout check
// from the moment the connection is established.
type limits struct {
	inter, connect, check time.Duration
}

// result is the outcome of one check.
type result struct {
	verdict verdict
	status  string // L4OK, L7RSP, ...
	desc    string // "L7OK 200", "L7RSP: tcp-check step 4 expect string \"role:master\": got \"...\""
	code    int    // HTTP status (or SMTP code, MySQL error), 0 if none
	step    int    // 1-based step that decided a failure, 0 when implicit or passed
	read    string // what that step read, quoted
	dur     time.Duration
	agent   *agentReply // agent checks: the agent's answer
}

// checkRun is the state of one run of a ruleset.
type checkRun struct {
	rs    *ruleset
	tg    *target
	lim   limits
	start time.Time
	conn  net.Conn
	buf   []byte
	code  int
	tls   bool   // the current connection is TLS
	okMsg string // the last expect's success message
	agent agentReply
	stops []func() bool // unregister the cancel hooks of connections
}

// runRuleset runs rs against tg once. Cancelling ctx aborts a blocked
// connect, write or read at once.
func runRuleset(ctx context.Context, rs *ruleset, tg *target, lim limits) result {
	c := &checkRun{rs: rs, tg: tg, lim: lim, start: time.Now(), agent: agentReply{weight: -1}}
	r := c.run(ctx)
	if c.conn != nil {
		c.conn.Close()
	}
	for _, stop := range c.stops {
		stop()
	}
	r.dur = time.Since(c.start)
	return r
}

func (c *checkRun) run(ctx context.Context) result {
	mustRead := true
	last := false
	for i := range c.rs.steps {
		st := &c.rs.steps[i]
		switch st.kind {
		case stepConnect:
			if r, ok := c.connect(ctx, i, st); !ok {
				return r
			}
			mustRead, last = true, false
		case stepSend:
			c.buf = c.buf[:0]
			if _, err := c.conn.Write(st.send.bytes(c.tg)); err != nil {
				return c.ioFailure(i, err)
			}
			mustRead, last = true, false
		case stepExpect:
			r, ok := c.expect(i, st, mustRead, &last)
			if !ok {
				return r
			}
			mustRead = false
		}
	}
	return c.success()
}

// connect opens step st's connection, closing the previous one.
func (c *checkRun) connect(ctx context.Context, i int, st *step) (result, bool) {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	cs := st.connect
	host, port := c.tg.host, c.tg.port
	if cs.addr != "" {
		host = cs.addr
	}
	if cs.port != 0 {
		port = strconv.Itoa(cs.port)
	}
	tc := cs.tls
	if tc == nil && cs.deflt {
		tc = c.tg.tls
	}
	proxy := config.ProxyNone
	if cs.sendProxy || cs.deflt && c.tg.sendProxy != config.ProxyNone {
		proxy = max(c.tg.sendProxy, config.ProxyV1)
	}
	limit := c.lim.inter
	if c.lim.check > 0 && c.lim.connect > 0 {
		limit = min(limit, c.lim.connect)
	}
	dctx, cancel := context.WithTimeout(ctx, limit)
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", net.JoinHostPort(host, port))
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return c.fail(i, "L4TOUT", "", nil), false
		}
		return c.fail(i, "L4CON", shortErr(err), nil), false
	}
	c.conn = conn
	deadline := c.start.Add(c.lim.inter)
	if c.lim.check > 0 {
		deadline = time.Now().Add(c.lim.check)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return c.fail(i, "L4CON", shortErr(err), nil), false
	}
	// Cancelling ctx aborts a blocked write or read at once.
	c.stops = append(c.stops, context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) }))
	if proxy != config.ProxyNone {
		if _, err := conn.Write(localProxyHeader(proxy)); err != nil {
			return c.ioFailure(i, err), false
		}
	}
	c.tls = false
	if tc != nil {
		tconn := tls.Client(conn, tc)
		if err := tconn.Handshake(); err != nil {
			if isTimeout(err) {
				return c.fail(i, "L6TOUT", "", nil), false
			}
			return c.fail(i, "L6RSP", shortErr(err), nil), false
		}
		c.conn, c.tls = tconn, true
	}
	c.buf = c.buf[:0]
	return result{}, true
}

// expect judges step st, reading as HAProxy does.
func (c *checkRun) expect(i int, st *step, mustRead bool, last *bool) (result, bool) {
	x := &evalCtx{isLast: i == len(c.rs.steps)-1, code: &c.code, agent: &c.agent, disable404: c.rs.disable404}
	for {
		if mustRead && !*last {
			if r, ok := c.read(i, st, last); !ok {
				return r, false
			}
		}
		x.buf, x.last = c.buf, *last || len(c.buf) >= maxCheckBuf
		out := st.expect.eval(x)
		switch out.r {
		case evalContinue:
			c.okMsg = out.msg
			return result{}, true
		case evalStop:
			return c.fail(i, out.status, out.msg, c.buf), false
		}
		if x.last {
			return c.fail(i, st.expect.errStatus, "incomplete response "+quote(c.buf), c.buf), false
		}
		mustRead = true
	}
}

// read appends what the server sends to c.buf; at EOF it sets last.
func (c *checkRun) read(i int, st *step, last *bool) (result, bool) {
	if cap(c.buf) == 0 {
		c.buf = make([]byte, 0, maxCheckBuf)
	}
	n, err := c.conn.Read(c.buf[len(c.buf):cap(c.buf)])
	c.buf = c.buf[:len(c.buf)+n]
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		*last = true
	case errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err):
		return c.fail(i, orDefault(st.expect.toutStatus, "L7TOUT"), "", c.buf), false
	case len(c.buf) > 0:
		*last = true // a reset after data: judge the data, as HAProxy does
	default:
		return c.ioFailure(i, err), false
	}
	return result{}, true
}

func (c *checkRun) ioFailure(i int, err error) result {
	if errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err) {
		return c.fail(i, "L7TOUT", "", nil)
	}
	return c.fail(i, "L4CON", shortErr(err), nil)
}

// success is the result of a ruleset whose every step passed.
func (c *checkRun) success() result {
	steps := c.rs.steps
	lastStep := steps[len(steps)-1]
	status, msg := "L7OK", ""
	switch lastStep.kind {
	case stepConnect:
		status = "L4OK"
		if c.tls {
			status = "L6OK"
		}
	case stepExpect:
		status = orDefault(lastStep.expect.okStatus, "L7OK")
		msg = c.okMsg
	}
	r := result{verdict: pass, status: status, code: c.code, agent: c.agentResult()}
	if c.rs.disable404 && c.code == 404 {
		r.status, r.verdict = "L7OKC", stop
	}
	if r.status == "L7OKC" {
		r.verdict = stop
	}
	r.desc = r.status
	if c.rs.proto == "http-check" && c.code != 0 {
		r.desc += " " + strconv.Itoa(c.code)
	}
	if msg != "" && !c.rs.simple {
		r.desc += ": " + msg
	}
	return r
}

// fail is the result of step i failing with status and msg. A simple
// check keeps the short form ("L4CON connection refused", "L7STS 404");
// a ruleset names the step: "L7RSP: tcp-check step 4 expect string
// \"role:master\": got \"...\"".
func (c *checkRun) fail(i int, status, msg string, read []byte) result {
	st := &c.rs.steps[i]
	r := result{verdict: fail, status: status, code: c.code, agent: c.agentResult()}
	if status == "L7OKC" {
		r.verdict = stop
	}
	if !st.implicit {
		r.step = i + 1
	}
	if read != nil {
		r.read = quote(read)
	}
	head := status
	if c.code != 0 && (c.rs.proto == "http-check" || status == "L7STS") {
		head += " " + strconv.Itoa(c.code)
	}
	if c.rs.simple || st.implicit && i == 0 {
		if st.kind == stepExpect && msg == "got status "+strconv.Itoa(c.code) {
			msg = ""
		}
		r.desc = strings.TrimSpace(head + " " + msg)
		return r
	}
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(": ")
	b.WriteString(c.rs.proto)
	if r.step > 0 {
		b.WriteString(" step ")
		b.WriteString(strconv.Itoa(r.step))
	}
	b.WriteString(" ")
	b.WriteString(st.describe())
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	} else if status == "L7TOUT" && read != nil {
		b.WriteString(": no match before the timeout, got ")
		b.WriteString(quote(read))
	}
	if st.comment != "" {
		b.WriteString(" (comment: ")
		b.WriteString(st.comment)
		b.WriteString(")")
	}
	r.desc = b.String()
	return r
}

func (c *checkRun) agentResult() *agentReply {
	if !c.agent.parsed {
		return nil
	}
	a := c.agent
	return &a
}

func (st *step) describe() string {
	switch st.kind {
	case stepConnect:
		return st.connect.desc
	case stepSend:
		return st.send.desc
	default:
		return st.expect.desc
	}
}

// bytes is what a send step writes for target tg.
func (s *sendStep) bytes(tg *target) []byte {
	switch {
	case s.build != nil:
		return s.build()
	case s.format == nil:
		return s.data
	}
	var b strings.Builder
	for _, p := range s.format {
		if p.Var == "" {
			b.WriteString(p.Literal)
		} else {
			b.WriteString(tg.vars[p.Var])
		}
	}
	if s.hexFmt {
		out, err := config.DecodeHex(b.String())
		if err != nil {
			return nil // sends nothing: the expect that follows fails
		}
		return out
	}
	return []byte(b.String())
}

// localProxyHeader is the PROXY header of a check: the balancer's own
// connection, naming no client ("PROXY UNKNOWN", v2 LOCAL), as HAProxy
// sends on checks.
func localProxyHeader(v config.ProxyVersion) []byte {
	if v == config.ProxyV2 {
		return []byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00")
	}
	return []byte("PROXY UNKNOWN\r\n")
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
