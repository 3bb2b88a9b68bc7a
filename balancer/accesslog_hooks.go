package balancer

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/balancer/http1"
)

// noServer is the server name logged when none was picked (HAProxy's).
const noServer = "<NOSRV>"

// since returns t - from, or -1 when either step was not reached.
func since(from, t time.Time) time.Duration {
	if from.IsZero() || t.IsZero() {
		return -1
	}
	return t.Sub(from)
}

var (
	protoHTTP10 = []byte("HTTP/1.0")
	protoHTTP11 = []byte("HTTP/1.1")
	protoHTTP2  = []byte("HTTP/2.0")
)

// logHTTP writes the access-log line of a finished HTTP exchange (the
// frontend's access log is on). It runs before the exchange is pooled.
func (b *Balancer) logHTTP(ex *exchange) {
	fe := ex.fe
	if fe.alog == nil {
		return
	}
	now := time.Now()
	if s := fe.alog.sys; s != nil {
		s.logHTTP(b, ex, now)
	}
	if ex.term == "" {
		return // nothing was received: not a request
	}
	if fe.alog.file == nil {
		return
	}
	beName := fe.name // no backend chosen: HAProxy logs the frontend's name
	if ex.be != nil {
		beName = ex.be.name
	}
	e := accessEntry{
		client: netip.AddrPortFrom(ex.cc.remote, ex.cc.port), start: ex.tStart,
		frontend: fe.name, backend: beName, srv: noServer,
		tq: since(ex.tStart, ex.tHead), tw: since(ex.tHead, ex.tPicked),
		tc: since(ex.tPicked, ex.tConn), tr: since(ex.tConn, ex.tResp), tt: now.Sub(ex.tStart),
		status: ex.code, bytesOut: ex.outBytes, bytesIn: ex.src.n,
		term: ex.term, retries: ex.retries, json: fe.alogJSON,
	}
	if !ex.h2 {
		e.bytesIn += int64(len(ex.bufs.reqRaw))
	}
	if ex.last != nil {
		e.srv = ex.last.key.Server
	}
	if !ex.tHead.IsZero() {
		e.method, e.uri, e.proto = ex.req.Method, ex.req.Target, protoHTTP11
		switch {
		case ex.h2:
			e.proto = protoHTTP2
		case ex.req.Version == http1.HTTP10:
			e.proto = protoHTTP10
		}
	}
	ex.bufs.logBuf = appendAccessLine(ex.bufs.logBuf[:0], &e)
	fe.alog.file.write(ex.bufs.logBuf)
}

// logNoRequest logs, to the syslog targets of fe, a connection that
// ended before the first byte of its first request, as HAProxy 2.6 logs
// one (unless dontlognull): 400 and CR, or 408 and cR when "timeout
// http-request" ended it. tandem's own access_log does not log them.
func (b *Balancer) logNoRequest(cc *clientConn, fe *frontend) {
	if fe.alog == nil || fe.alog.sys == nil {
		return
	}
	fe.alog.sys.logNoRequest(b, cc, fe)
}

var tcpLogBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// logTCP writes the access-log line of a finished TCP-mode connection, if
// its frontend logs.
func (b *Balancer) logTCP(cc *clientConn, ts *tcpSession, term string, in, out int64) {
	fe := ts.fe
	if fe.alog == nil {
		return
	}
	if s := fe.alog.sys; s != nil {
		s.logTCP(b, cc, ts, term, in, out)
	}
	if fe.alog.file == nil {
		return
	}
	e := accessEntry{
		client: netip.AddrPortFrom(cc.remote, cc.port), start: cc.accepted,
		frontend: fe.name, backend: fe.name, srv: noServer,
		tq: -1, tw: since(cc.accepted, ts.a.tPicked), tc: since(ts.a.tPicked, ts.tConn), tr: -1,
		tt: time.Since(cc.accepted), bytesOut: out, bytesIn: in,
		term: term, retries: ts.a.retries, json: fe.alogJSON,
	}
	if ts.s != nil {
		e.srv = ts.s.key.Server
	}
	if ts.be != nil {
		e.backend = ts.be.name
	}
	bp := tcpLogBufPool.Get().(*[]byte)
	*bp = appendAccessLine((*bp)[:0], &e)
	fe.alog.file.write(*bp)
	tcpLogBufPool.Put(bp)
}

// failureTerm is the termination state of a request the balancer answered
// itself because no server could: S = the server side, s = its timeout,
// P = the proxy; C = connecting, Q = queued, H = waiting for headers.
func failureTerm(code int, err error) string {
	switch {
	case errors.Is(err, errQueueTimeout):
		return "sQ"
	case errors.Is(err, errStopping):
		return "PQ"
	case code == http503:
		return "SC"
	case code == http504:
		return "sH"
	}
	return "SH"
}

// tunnelTerm is the termination state of a tunnel (TCP mode, WebSocket):
// "--" when both sides closed, "cD" on inactivity timeout, "CD" on an
// error (a reset, usually the client's).
func tunnelTerm(err error) string {
	switch {
	case err == nil:
		return "--"
	case isTimeout(err):
		return "cD"
	}
	return "CD"
}
