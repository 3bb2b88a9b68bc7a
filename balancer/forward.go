package balancer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// exchange is the state of one HTTP request/response, pooled and reused.
type exchange struct {
	cc   *clientConn
	fe   *frontend
	be   *backend
	req  head
	resp head
	pick pickState

	reqBody  bodyReader     // HTTP/1: from the client
	src      countingReader // the request payload, whatever its source
	bodyLen  int64          // request payload length; -1: unknown (sent chunked); 0: none
	respBody bodyReader     // from the server
	bw       *bufio.Writer  // to the HTTP/1 client
	buf      *[]byte        // body copy buffer, taken on first use

	idempotent bool
	isHead     bool
	upgrade    bool
	h2         bool            // the client speaks HTTP/2
	ctx        context.Context // HTTP/2: the stream's
	untrack    func() bool
	expect100  bool // HTTP/1 client waits for "100 Continue" before its body
	cookieSrv  *server
	srv        *server // chosen; holds one of its maxconn slots
	uc         *upConn // connection to srv, positioned at the response body
	code       int     // response status
	scratch    []byte
	num        [24]byte

	// For the access log and the response-time histogram.
	last                          *server // the server of the last attempt
	retries                       int
	outBytes                      int64     // written to the client
	term                          string    // termination state; "": nothing to log
	tStart, tHead, tPicked, tConn time.Time // zero: not reached
	tResp                         time.Time
	logBuf                        []byte
}

var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

func getExchange(cc *clientConn, fe *frontend) *exchange {
	ex := exchangePool.Get().(*exchange)
	ex.cc, ex.fe, ex.be = cc, fe, fe.backend
	ex.cookieSrv, ex.srv, ex.uc, ex.code = nil, nil, nil, 0
	ex.expect100, ex.upgrade, ex.h2 = false, false, false
	ex.src = countingReader{}
	ex.last, ex.retries, ex.outBytes, ex.term = nil, 0, 0, ""
	ex.tHead, ex.tPicked, ex.tConn, ex.tResp = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return ex
}

func putExchange(ex *exchange) {
	if ex.buf != nil {
		copyBufPool.Put(ex.buf)
		ex.buf = nil
	}
	ex.cc, ex.fe, ex.be, ex.srv, ex.uc, ex.cookieSrv, ex.last = nil, nil, nil, nil, nil, nil, nil
	ex.pick.be, ex.pick.grp, ex.pick.sticky = nil, nil, nil
	ex.src.r = nil
	ex.ctx, ex.untrack = nil, nil
	ex.reqBody.br, ex.respBody.br = nil, nil
	if cap(ex.req.buf) > maxHeadBytes || cap(ex.resp.buf) > maxHeadBytes {
		return // do not keep oversized buffers
	}
	exchangePool.Put(ex)
}

func (ex *exchange) copyBuf() []byte {
	if ex.buf == nil {
		ex.buf = copyBufPool.Get().(*[]byte)
	}
	return *ex.buf
}

// countingReader counts what was read from the request payload, so a retry
// can tell whether any of it was consumed.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Upstream failure kinds, which decide retries and the status answered.
type upstreamError struct {
	kind int
	err  error
}

const (
	upEmpty   = iota // closed or reset before any response byte: 502, retriable if idempotent
	upTimeout        // timeout server while waiting for the response: 504
	upBad            // malformed or truncated response head: 502
	upClient         // the client failed while sending its body: no answer
)

func (e *upstreamError) Error() string { return e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

// balanceKey returns the hash the policy uses: client IP (source) or path
// (uri).
func (b *Balancer) balanceKey(ex *exchange) uint64 {
	switch ex.be.algo {
	case config.AlgoSource:
		return ex.cc.sourceHash()
	case config.AlgoURI:
		u := ex.req.first[1]
		for i, c := range u {
			if c == '?' {
				u = u[:i]
				break
			}
		}
		return hashKey(u)
	}
	return 0
}

// persistence finds the server the request is persistent to (cookie, then
// stick table), or nil.
func (b *Balancer) persistence(ex *exchange, now int64) *server {
	be := ex.be
	if be.cookie != nil {
		for _, f := range ex.req.hdrs {
			if eqFold(f.name, "cookie") {
				if v := cookieValue(f.value, be.cookie.Name); v != nil {
					if s := be.byCookie[string(v)]; s != nil {
						ex.cookieSrv = s
						return s
					}
				}
			}
		}
	}
	if be.stickSource && ex.cc.remote.IsValid() {
		if name := be.rt.stick.lookup(ex.cc.remote, now); name != "" {
			return be.byName[name]
		}
	}
	return nil
}

// roundTrip picks a server, sends the request and reads the response head,
// retrying as configured. On success ex.srv, ex.uc and ex.resp are set and
// the caller must call finish. On failure it returns the status to answer
// (0: the client failed, answer nothing).
func (b *Balancer) roundTrip(ex *exchange) (int, error) {
	be := ex.be
	now := time.Now()
	ex.pick.reset(be, b.balanceKey(ex))
	ex.pick.sticky = b.persistence(ex, now.UnixNano())
	freshOnly := false
	for attempt := 0; ; {
		s, err := b.pick(b.runCtx, &ex.pick)
		if err == errNoServer && b.refreshBackend(ex) {
			continue
		}
		if err != nil {
			return http503, err
		}
		ex.last, ex.tPicked = s, time.Now()
		u, err := b.conn(b.runCtx, s, be.tm.connect, freshOnly)
		freshOnly = false
		if err != nil {
			s.stats.connectErrors.Add(1)
			be.rt.stats.connectErrors.Add(1)
			b.connFailed(s, err)
			s.release()
			if attempt >= be.retries {
				return http503, err
			}
			attempt++
			b.countRetry(ex, s)
			continue
		}
		s.stats.curConns.Add(1)
		s.stats.totalConns.Add(1)
		ex.track(u)
		ex.tConn = time.Now()
		err = b.sendOnce(ex, u)
		if err == nil {
			ex.tResp = time.Now()
			s.rtime.observe(ex.tResp.Sub(ex.tConn))
			s.connOK()
			ex.srv, ex.uc = s, u
			if be.stickSource && ex.cc.remote.IsValid() && ex.pick.sticky != s {
				be.rt.stick.store(ex.cc.remote, s.key.Server, now.UnixNano())
			}
			return 0, nil
		}
		ex.track(nil)
		u.close()
		s.stats.curConns.Add(-1)
		s.release()
		var ue *upstreamError
		errors.As(err, &ue)
		switch ue.kind {
		case upClient:
			return 0, err
		case upTimeout:
			s.stats.responseErrs.Add(1)
			be.rt.stats.responseErrs.Add(1)
			return http504, err
		case upBad:
			s.stats.responseErrs.Add(1)
			be.rt.stats.responseErrs.Add(1)
			return http502, err
		}
		replayable := ex.idempotent && ex.src.n == 0
		if u.reused && replayable {
			freshOnly = true // the server closed an idle connection: not its failure
			continue
		}
		s.stats.responseErrs.Add(1)
		be.rt.stats.responseErrs.Add(1)
		b.connFailed(s, err)
		if !replayable || !be.retryIdem || attempt >= be.retries {
			return http502, err
		}
		attempt++
		b.countRetry(ex, s)
	}
}

// track registers the server connection in use so that a forced close of
// the client connection closes it too (HTTP/1; HTTP/2 streams use their
// context instead).
func (ex *exchange) track(u *upConn) {
	if ex.h2 {
		if ex.untrack != nil {
			ex.untrack()
			ex.untrack = nil
		}
		if u != nil {
			ex.untrack = context.AfterFunc(ex.ctx, u.close)
		}
		return
	}
	ex.cc.up.Store(u)
	if u != nil && ex.cc.state.Load() < 0 {
		u.close()
	}
}

// refreshBackend moves a request that found no server to the backend of
// the current config, when a config swap happened since it started (its
// servers may all have been removed meanwhile).
func (b *Balancer) refreshBackend(ex *exchange) bool {
	fe := b.cur.Load().byAddr[ex.cc.l.key]
	if fe == nil || fe.backend == ex.be {
		return false
	}
	ex.fe, ex.be = fe, fe.backend
	ex.pick.reset(ex.be, b.balanceKey(ex))
	ex.cookieSrv = nil
	ex.pick.sticky = b.persistence(ex, time.Now().UnixNano())
	return true
}

// countRetry records a retry; with redispatch the next attempt avoids s.
func (b *Balancer) countRetry(ex *exchange, s *server) {
	ex.retries++
	s.stats.retries.Add(1)
	ex.be.rt.stats.retries.Add(1)
	if ex.be.redispatch {
		ex.pick.avoid(s)
		s.stats.redispatches.Add(1)
		ex.be.rt.stats.redispatches.Add(1)
	}
}

// sendOnce writes the request on u and reads the response head.
func (b *Balancer) sendOnce(ex *exchange, u *upConn) error {
	u.tc.readTimeout(ex.be.tm.server)
	u.tc.writeTimeout(ex.be.tm.server)
	ex.writeRequestHead(u.bw, u.srv)
	if ex.bodyLen != 0 {
		if ex.expect100 {
			ex.expect100 = false
			ex.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := ex.bw.Flush(); err != nil {
				return &upstreamError{upClient, err}
			}
		}
		var dst io.Writer = u.bw
		cw := chunkedWriter{u.bw}
		if ex.bodyLen < 0 {
			dst = cw
		}
		_, rerr, werr := pump(dst, u.bw, &ex.src, ex.reqBody.br, ex.copyBuf())
		if rerr != nil {
			return &upstreamError{upClient, rerr}
		}
		if werr == nil && ex.bodyLen < 0 {
			cw.close(ex.reqBody.trailers)
		}
	}
	u.bw.Flush() // a write error shows up as an empty response below
	for {
		err := ex.resp.read(u.br)
		if err != nil {
			switch {
			case isTimeout(err):
				return &upstreamError{upTimeout, fmt.Errorf("wait for response head: %w", err)}
			case len(ex.resp.buf) == 0 && err != errHeadTooLarge:
				return &upstreamError{upEmpty, fmt.Errorf("server closed before responding: %w", err)}
			}
			return &upstreamError{upBad, fmt.Errorf("read response head: %w", err)}
		}
		code, ok := parseStatus(&ex.resp)
		if !ok {
			return &upstreamError{upBad, errors.New("malformed status line")}
		}
		if err := ex.resp.interpret(); err != nil {
			return &upstreamError{upBad, err}
		}
		if code >= 100 && code < 200 && code != 101 {
			// 100 Continue was answered by the balancer itself (above);
			// others (102 Processing, 103 Early Hints) go to HTTP/1.1
			// clients as they come.
			if code != 100 && ex.interimOK() {
				if err := ex.writeInterim(); err != nil {
					return &upstreamError{upClient, err}
				}
			}
			continue
		}
		ex.code = code
		return nil
	}
}

func parseStatus(h *head) (int, bool) {
	p, c := h.first[0], h.first[1]
	if len(p) != 8 || string(p[:7]) != "HTTP/1." || len(c) != 3 {
		return 0, false
	}
	code, err := strconv.Atoi(string(c))
	return code, err == nil && code >= 100
}

// writeRequestHead writes the request head for the server: HTTP/1.1,
// hop-by-hop headers removed, X-Forwarded-* added, the persistence cookie
// removed (indirect), framing regenerated.
func (ex *exchange) writeRequestHead(w *bufio.Writer, s *server) {
	r := &ex.req
	w.Write(r.first[0])
	w.WriteByte(' ')
	w.Write(r.first[1])
	w.WriteString(" HTTP/1.1\r\n")
	ff := ex.fe.forwardFor || ex.be.forwardFor
	indirect := ex.be.cookie != nil && ex.be.cookie.Indirect
	xff := false
	for _, f := range r.hdrs {
		n := f.name
		if r.hopByHop(n) {
			continue
		}
		switch len(n) {
		case 6:
			if eqFold(n, "expect") {
				continue
			}
			if indirect && eqFold(n, "cookie") {
				ex.writeCookieWithout(w, f.value, ex.be.cookie.Name)
				continue
			}
		case 15:
			if ff && eqFold(n, "x-forwarded-for") {
				xff = true
				continue
			}
		case 17:
			if ff && eqFold(n, "x-forwarded-proto") {
				continue
			}
		}
		w.Write(n)
		w.WriteString(": ")
		w.Write(f.value)
		w.WriteString("\r\n")
	}
	if !r.hasHost { // HTTP/1.0 clients may omit it; HTTP/1.1 servers require it
		w.WriteString("Host: ")
		w.WriteString(s.addr)
		w.WriteString("\r\n")
	}
	if ex.upgrade {
		w.WriteString("Connection: Upgrade\r\nUpgrade: ")
		w.Write(r.upgrade)
		w.WriteString("\r\n")
	}
	if ff {
		w.WriteString("X-Forwarded-For: ")
		if xff {
			for _, f := range r.hdrs {
				if eqFold(f.name, "x-forwarded-for") && len(f.value) > 0 {
					w.Write(f.value)
					w.WriteString(", ")
				}
			}
		}
		w.WriteString(ex.cc.remoteIP())
		w.WriteString("\r\nX-Forwarded-Proto: ")
		w.WriteString(ex.cc.proto)
		w.WriteString("\r\n")
	}
	switch {
	case ex.bodyLen > 0:
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(ex.num[:0], ex.bodyLen, 10))
		w.WriteString("\r\n")
	case ex.bodyLen < 0:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case r.contentLength == 0:
		w.WriteString("Content-Length: 0\r\n")
	}
	w.WriteString("\r\n")
}

// cookieValue returns the value of cookie name in a Cookie header value.
func cookieValue(v []byte, name string) []byte {
	for len(v) > 0 {
		var pair []byte
		if i := indexByte(v, ';'); i >= 0 {
			pair, v = v[:i], v[i+1:]
		} else {
			pair, v = v, nil
		}
		pair = trimOWS(pair)
		if len(pair) > len(name) && pair[len(name)] == '=' && string(pair[:len(name)]) == name {
			return pair[len(name)+1:]
		}
	}
	return nil
}

// writeCookieWithout writes a Cookie header without cookie name (omitted
// when nothing is left).
func (ex *exchange) writeCookieWithout(w *bufio.Writer, v []byte, name string) {
	out := ex.scratch[:0]
	for len(v) > 0 {
		var pair []byte
		if i := indexByte(v, ';'); i >= 0 {
			pair, v = v[:i], v[i+1:]
		} else {
			pair, v = v, nil
		}
		pair = trimOWS(pair)
		if len(pair) == 0 || (len(pair) > len(name) && pair[len(name)] == '=' && string(pair[:len(name)]) == name) {
			continue
		}
		if len(out) > 0 {
			out = append(out, "; "...)
		}
		out = append(out, pair...)
	}
	ex.scratch = out[:0]
	if len(out) > 0 {
		w.WriteString("Cookie: ")
		w.Write(out)
		w.WriteString("\r\n")
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// isIdempotent reports whether a method may be re-sent (RFC 9110 9.2.2).
func isIdempotent(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE":
		return true
	}
	return false
}
