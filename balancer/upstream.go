package balancer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/tandem-lb/tandem/balancer/http1"
)

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

// persistence finds the server the request is persistent to (cookie, then
// stick table), or nil.
func (ex *exchange) persistence(now int64) *server {
	be := ex.be
	if be.cookie != nil {
		for _, f := range ex.req.Fields {
			if http1.EqualFold(f.Name, "cookie") {
				if v := cookieValue(f.Value, be.cookie.Name); v != nil {
					if s := be.byCookie[string(v)]; s != nil {
						ex.cookieSrv = s
						return s
					}
				}
			}
		}
	}
	return stickyServer(be, ex.cc, now)
}

// roundTrip chooses a server, sends the request and reads the response
// head, retrying as configured. On success ex.srv, ex.uc and ex.resp are
// set and the caller must finish the response (respond or tunnelUpgrade).
// On failure it returns the status to answer (0: the client failed,
// answer nothing).
func (b *Balancer) roundTrip(ex *exchange) (int, error) {
	be := ex.be
	now := time.Now()
	a := &ex.bufs.a
	a.rs, a.rp = ex.rs, be.rules
	a.reset(be, balanceKey(be, ex.cc, ex.req.Target))
	a.now = now
	a.p.sticky = ex.persistence(now.UnixNano())
	if ex.forced != nil {
		a.p.sticky = ex.forced // use-server has precedence over persistence
	}
	defer func() { ex.retries = a.retries }()
	fresh := false
	for {
		s, u, err := b.connectServer(b.runCtx, a, be, true, fresh)
		fresh = false
		if s != nil {
			ex.last = s
		}
		if err == errNoServer && b.refreshBackend(ex, a) {
			be = ex.be
			a.rp = be.rules
			continue
		}
		ex.tPicked = a.tPicked
		if err != nil {
			return http503, err
		}
		s.stats.curConns.Add(1)
		s.stats.totalConns.Add(1)
		ex.track(u)
		ex.tConn = a.tConn
		if u.h2 != nil {
			err = b.sendOnceH2(ex, u)
		} else {
			err = b.sendOnce(ex, u)
		}
		if err == nil {
			ex.tResp = time.Now()
			s.rtime.observe(ex.tResp.Sub(ex.tConn))
			s.connOK()
			s.observeStatus(ex.resp.Status)
			ex.srv, ex.uc = s, u
			stick(be, ex.cc, a, s, now.UnixNano())
			return 0, nil
		}
		ex.track(nil)
		if u.h2 != nil {
			ex.releaseH2(u)
		} else {
			u.close()
		}
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
			s.observeResponseError("response timeout")
			return http504, err
		case upBad:
			s.stats.responseErrs.Add(1)
			be.rt.stats.responseErrs.Add(1)
			s.observeResponseError("bad response")
			return http502, err
		}
		replayable := ex.idempotent && ex.src.n == 0
		if u.reused && replayable {
			fresh = true // the server closed an idle connection: not its failure
			continue
		}
		s.stats.responseErrs.Add(1)
		be.rt.stats.responseErrs.Add(1)
		b.connFailed(s, err)
		if !replayable || !be.retryIdem || !b.retry(a, be, s) {
			return http502, err
		}
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
// servers may all have been removed meanwhile). A backend a rule chose
// (use_backend) stays: with no server it answers 503, as HAProxy's does.
func (b *Balancer) refreshBackend(ex *exchange, a *attempt) bool {
	fe := b.cur.Load().byAddr[ex.cc.l.key]
	if fe == nil || fe.backend == ex.be || fe.mode != ex.fe.mode || ex.be != ex.fe.backend {
		return false
	}
	ex.fe, ex.be = fe, fe.backend
	a.p.reset(ex.be, balanceKey(ex.be, ex.cc, ex.req.Target))
	ex.cookieSrv = nil
	a.p.sticky = ex.persistence(time.Now().UnixNano())
	return true
}

// sendOnce writes the request on u and reads the response head, checking
// it (and the chunked body bytes that came with it) before anything of it
// reaches the client.
func (b *Balancer) sendOnce(ex *exchange, u *upConn) error {
	u.buffers()
	u.tc.readTimeout(ex.be.tm.server)
	u.tc.writeTimeout(ex.be.tm.server)
	ex.writeRequestHead(u.bw)
	if ex.bodyLen != 0 {
		if err := b.sendBody(ex, u); err != nil {
			return err
		}
	}
	// A write error shows up as an empty response below. A request
	// without a body on a pooled connection (just seen to hold nothing)
	// is all this write: nothing can arrive before its answer, which is
	// waited for without a read that finds nothing first.
	if ex.bodyLen == 0 {
		u.tc.flushAt(u.bw, ex.tConn, u.reused)
	} else {
		u.bw.Flush()
	}
	for {
		err := readHead(u.br, &ex.bufs.respRaw)
		if err == nil {
			err = ex.resp.ParseResponse(ex.bufs.respRaw)
		}
		if err != nil {
			switch {
			case isTimeout(err):
				return &upstreamError{upTimeout, fmt.Errorf("wait for response head: %w", err)}
			case len(ex.bufs.respRaw) == 0 && !errors.Is(err, http1.ErrTooLarge):
				return &upstreamError{upEmpty, fmt.Errorf("server closed before responding: %w", err)}
			}
			return &upstreamError{upBad, fmt.Errorf("read response head: %w", err)}
		}
		code := ex.resp.Status
		if code >= 100 && code < 200 && code != 101 {
			// 100 Continue was answered by the balancer itself (sendBody);
			// others (102 Processing, 103 Early Hints) go to HTTP/1.1
			// clients as they come.
			if code != 100 && ex.interimOK() {
				if err := ex.writeInterim(); err != nil {
					return &upstreamError{upClient, err}
				}
			}
			continue
		}
		if code == 101 && !ex.upgrade {
			return &upstreamError{upBad, errors.New("the server switched protocols unasked (101)")}
		}
		if ex.resp.Chunked && !ex.isHead && code != 204 && code != 304 {
			if err := validBuffered(u.br, &ex.bufs.check); err != nil {
				return &upstreamError{upBad, fmt.Errorf("read response body: %w", err)}
			}
		}
		ex.code = code
		return nil
	}
}

// sendBody forwards the request payload to u, answering "100 Continue"
// first when the client waits for it.
func (b *Balancer) sendBody(ex *exchange, u *upConn) error {
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
		cw.close(ex.reqBody.trailers())
	}
	return nil
}

// writeRequestHead writes the request head for the server: the client's
// version (HTTP/1.0 stays 1.0 and asks for keep-alive, as HAProxy sends
// it), hop-by-hop fields removed, X-Forwarded-* added, the persistence
// cookie removed (indirect), framing regenerated. Like HAProxy it adds no
// Host the client did not send.
func (ex *exchange) writeRequestHead(w *bufio.Writer) {
	r := ex.req
	w.Write(r.Method)
	w.WriteByte(' ')
	w.Write(r.Target)
	if r.Version == http1.HTTP10 && !ex.h2 {
		w.WriteString(" HTTP/1.0\r\nConnection: keep-alive\r\n")
	} else {
		w.WriteString(" HTTP/1.1\r\n")
	}
	ff := ex.fe.forwardFor || ex.be.forwardFor
	indirect := ex.be.cookie != nil && ex.be.cookie.Indirect
	xff := false
	for _, f := range r.Fields {
		n := f.Name
		if r.HopByHop(n) {
			continue
		}
		switch len(n) {
		case 6:
			if http1.EqualFold(n, "expect") {
				continue
			}
			if indirect && http1.EqualFold(n, "cookie") {
				ex.writeCookieWithout(w, f.Value, ex.be.cookie.Name)
				continue
			}
		case 15:
			if ff && http1.EqualFold(n, "x-forwarded-for") {
				xff = true
				continue
			}
		case 17:
			if ff && http1.EqualFold(n, "x-forwarded-proto") {
				continue
			}
		}
		writeField(w, n, f.Value)
	}
	if ex.upgrade {
		w.WriteString("Connection: Upgrade\r\nUpgrade: ")
		w.Write(r.Upgrade)
		w.WriteString("\r\n")
	}
	if ff {
		w.WriteString("X-Forwarded-For: ")
		if xff {
			for _, f := range r.Fields {
				if http1.EqualFold(f.Name, "x-forwarded-for") && len(f.Value) > 0 {
					w.Write(f.Value)
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
		w.Write(strconv.AppendInt(ex.bufs.num[:0], ex.bodyLen, 10))
		w.WriteString("\r\n")
	case ex.bodyLen < 0:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case r.ContentLength == 0:
		w.WriteString("Content-Length: 0\r\n")
	}
	w.WriteString("\r\n")
}

// nextCookie splits the first "name=value" pair off a Cookie field value
// (trimmed; empty pairs are returned too).
func nextCookie(v []byte) (pair, rest []byte) {
	if i := indexByte(v, ';'); i >= 0 {
		pair, rest = v[:i], v[i+1:]
	} else {
		pair = v
	}
	return trimSpace(pair), rest
}

// isCookie reports whether pair is cookie name's.
func isCookie(pair []byte, name string) bool {
	return len(pair) > len(name) && pair[len(name)] == '=' && string(pair[:len(name)]) == name
}

// cookieValue returns the value of cookie name in a Cookie field value.
func cookieValue(v []byte, name string) []byte {
	for len(v) > 0 {
		var pair []byte
		pair, v = nextCookie(v)
		if isCookie(pair, name) {
			return pair[len(name)+1:]
		}
	}
	return nil
}

// writeCookieWithout writes a Cookie field without cookie name (omitted
// when nothing is left).
func (ex *exchange) writeCookieWithout(w *bufio.Writer, v []byte, name string) {
	out := ex.bufs.scratch[:0]
	for len(v) > 0 {
		var pair []byte
		pair, v = nextCookie(v)
		if len(pair) == 0 || isCookie(pair, name) {
			continue
		}
		if len(out) > 0 {
			out = append(out, "; "...)
		}
		out = append(out, pair...)
	}
	ex.bufs.scratch = out[:0]
	if len(out) > 0 {
		writeField(w, fieldCookie, out)
	}
}

var fieldCookie = []byte("Cookie")

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
