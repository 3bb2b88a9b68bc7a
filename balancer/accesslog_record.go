package balancer

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/balancer/accesslog"
	"github.com/tandem-lb/tandem/balancer/http1"
)

// logBufs are the record and buffers of one syslog line, pooled so that a
// line allocates nothing.
type logBufs struct {
	rec      accesslog.Record
	line, sd []byte
	reqLine  []byte // HTTP/2: the request line tandem writes
}

var logBufsPool = sync.Pool{New: func() any { return &logBufs{line: make([]byte, 0, 512)} }}

// logHTTP fills a record from a finished exchange and sends its line.
// A connection that closed before sending a byte of its first request is
// logged as HAProxy logs it (CR, 400, <BADREQ>) unless dontlognull; the
// end of an idle kept-alive connection is not a request.
func (s *feSyslog) logHTTP(b *Balancer, ex *exchange, now time.Time) {
	first := ex.tStart.Equal(ex.cc.accepted)
	if s.connect && !first {
		return // HAProxy's Connect line: once per connection
	}
	if ex.term == "" && (!first || s.dontLog0) {
		return
	}
	lb := logBufsPool.Get().(*logBufs)
	defer logBufsPool.Put(lb)
	r := &lb.rec
	r.Reset()
	cc := ex.cc
	r.HTTP, r.TLS = true, cc.proto == "https"
	r.Accept, r.End = ex.tStart, now
	r.HeadDone, r.Queued, r.Connected, r.Response = ex.tHead, ex.tPicked, ex.tConn, ex.tResp
	got := !ex.tHead.IsZero()                              // a request head was read and parsed
	r.FrontendName, r.BackendName = ex.fe.name, ex.fe.name // no backend chosen: HAProxy logs the frontend
	if ex.be != nil {
		r.BackendName = ex.be.name
	}
	r.Status = ex.code
	switch {
	case ex.term == "":
		r.Status = 400 // HAProxy's status for a connection closed before its request
	case r.Status == 0:
		r.Status = -1
	}
	r.BytesOut, r.BytesIn = ex.outBytes, ex.src.n
	if !ex.h2 {
		r.BytesIn += int64(len(ex.bufs.reqRaw))
	}
	if s.dontLog0 && r.BytesIn == 0 {
		return
	}
	r.Term = termOf(ex.term)
	if ex.term == "" {
		r.Term = [2]byte{'C', 'R'}
	}
	r.Cookie = [2]byte{'-', '-'}
	r.Retries = ex.retries
	s.common(b, r, cc, ex.be)
	if ex.last != nil {
		r.ServerName = ex.last.key.Server
		r.SrvConn = int64(ex.last.inFlight.Load())
		if s.needs&accesslog.NeedServerAddr != 0 {
			r.ServerAddr, _ = netip.ParseAddrPort(ex.last.addr)
		}
	}
	if got {
		s.request(lb, ex)
	}
	s.emit(lb, now, ex.code >= 500)
}

// logNoRequest logs a connection without a request (Balancer.logNoRequest).
func (s *feSyslog) logNoRequest(b *Balancer, cc *clientConn, fe *frontend) {
	if s.dontLog0 || s.connect {
		return
	}
	lb := logBufsPool.Get().(*logBufs)
	defer logBufsPool.Put(lb)
	r := &lb.rec
	r.Reset()
	now := time.Now()
	r.HTTP, r.TLS = true, cc.proto == "https"
	r.Accept, r.End = cc.accepted, now
	r.FrontendName, r.BackendName = fe.name, fe.name
	r.Status, r.Term, r.Cookie = 400, [2]byte{'C', 'R'}, [2]byte{'-', '-'}
	if d := fe.tm.httpRequest; d > 0 && now.Sub(cc.accepted) >= d {
		r.Status, r.Term[0] = 408, 'c'
	}
	s.common(b, r, cc, fe.backend)
	s.emit(lb, now, false)
}

// request fills what the request and response heads tell: the request
// line, the captures and the persistence flags.
func (s *feSyslog) request(lb *logBufs, ex *exchange) {
	r := &lb.rec
	if s.needs&accesslog.NeedRequestLine != 0 {
		if ex.h2 {
			lb.reqLine = append(append(append(append(lb.reqLine[:0], ex.req.Method...), ' '), ex.req.Target...), " HTTP/2.0"...)
			r.RequestLine = lb.reqLine
		} else {
			line := ex.bufs.reqRaw
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			r.RequestLine = bytes.TrimSuffix(line, []byte{'\r'})
		}
	}
	for _, name := range s.reqHdrs {
		r.ReqCaptures = append(r.ReqCaptures, lastField(ex.req.Fields, name))
	}
	if !ex.tResp.IsZero() {
		for _, name := range s.resHdrs {
			r.ResCaptures = append(r.ResCaptures, lastField(ex.resp.Fields, name))
		}
	}
	if s.cookie != "" && s.needs&accesslog.NeedCookies != 0 {
		r.ReqCookie = captureCookie(ex.req.Fields, "cookie", s.cookie, false, s.cookieLen)
		if !ex.tResp.IsZero() {
			r.ResCookie = captureCookie(ex.resp.Fields, "set-cookie", s.cookie, false, s.cookieLen)
		}
	}
	if ex.be == nil {
		return
	}
	if c := ex.be.cookie; c != nil {
		r.Cookie = [2]byte{'N', 'N'}
		switch {
		case ex.cookieSrv != nil && ex.cookieSrv == ex.last:
			r.Cookie[0] = 'V'
		case ex.cookieSrv != nil:
			r.Cookie[0] = 'D'
		case captureCookie(ex.req.Fields, "cookie", c.Name, true, 0) != nil:
			r.Cookie[0] = 'I'
		}
		if c.Insert && ex.last != nil && ex.cookieSrv != ex.last && ex.tResp.After(ex.tConn) {
			r.Cookie[1] = 'I'
		}
	}
}

// logTCP fills a record from a finished TCP-mode connection and sends its
// line.
func (s *feSyslog) logTCP(b *Balancer, cc *clientConn, ts *tcpSession, term string, in, out int64) {
	if s.dontLog0 && in == 0 {
		return
	}
	lb := logBufsPool.Get().(*logBufs)
	defer logBufsPool.Put(lb)
	r := &lb.rec
	r.Reset()
	now := time.Now()
	r.TLS = cc.proto == "https"
	r.Accept, r.End = cc.accepted, now
	r.HeadDone, r.Queued, r.Connected = cc.accepted, ts.a.tPicked, ts.tConn
	r.FrontendName, r.BackendName = ts.fe.name, ts.fe.name
	if ts.be != nil {
		r.BackendName = ts.be.name
	}
	r.BytesIn, r.BytesOut = in, out
	r.Term, r.Cookie = termOf(term), [2]byte{'-', '-'}
	r.Retries = ts.a.retries
	s.common(b, r, cc, ts.be)
	if ts.s != nil {
		r.ServerName = ts.s.key.Server
		r.SrvConn = int64(ts.s.inFlight.Load())
		if s.needs&accesslog.NeedServerAddr != 0 {
			r.ServerAddr, _ = netip.ParseAddrPort(ts.s.addr)
		}
	}
	s.emit(lb, now, false)
}

// common fills the fields HTTP and TCP lines share.
func (s *feSyslog) common(b *Balancer, r *accesslog.Record, cc *clientConn, be *backend) {
	r.ClientAddr = netip.AddrPortFrom(cc.remote, cc.port)
	if s.needs&accesslog.NeedFrontendAddr != 0 {
		if ta, ok := cc.raw.LocalAddr().(*net.TCPAddr); ok {
			ap := ta.AddrPort()
			r.FrontendAddr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
	}
	if tc, ok := cc.conn.(*tls.Conn); ok && s.needs&accesslog.NeedTLS != 0 {
		st := tc.ConnectionState()
		r.TLSVersion, r.TLSCipher = tlsVersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)
		r.SNI, r.TLSResumed = st.ServerName, st.DidResume
	}
	r.ActConn = max(b.global.cur.Load()-s.set.binds.Load(), 1)
	if cc.rt != nil {
		r.FeConn = cc.rt.stats.curConns.Load()
	}
	if be != nil {
		r.BeConn = be.rt.stats.inFlight.Load() + be.rt.stats.queueLen.Load()
	}
	r.RequestCounter = s.set.reqs.Add(1) - 1
	r.LogCounter = s.lc.Add(1) - 1
	r.Hostname, r.PID = s.set.host, s.set.pid
}

// emit formats the record and queues it on every writer; failed raises
// the level to err under option log-separate-errors (section 8.3.3).
func (s *feSyslog) emit(lb *logBufs, now time.Time, status5xx bool) {
	r := &lb.rec
	level := accesslog.LevelInfo
	if s.sepErrors && (status5xx || r.Retries > 0 || r.Redispatched || (r.Term[0] != '-' && r.Term[0] != 'L')) {
		level = accesslog.LevelErr
	}
	lb.line = s.prog.Append(lb.line[:0], r)
	var sd []byte
	if s.sd != nil {
		lb.sd = s.sd.Append(lb.sd[:0], r)
		sd = lb.sd
	}
	for _, w := range s.writers {
		w.Log(level, now, lb.line, sd)
	}
}

func termOf(t string) [2]byte {
	out := [2]byte{'-', '-'}
	copy(out[:], t)
	return out
}

// lastField returns the value of the last field named name (lower case;
// HAProxy captures the last occurrence), nil when there is none.
func lastField(fields []http1.Field, name string) []byte {
	for i := len(fields) - 1; i >= 0; i-- {
		if http1.EqualFold(fields[i].Name, name) {
			return fields[i].Value
		}
	}
	return nil
}

// captureCookie finds the first cookie whose name starts with prefix (a
// prefix ending in '=' names it exactly, as does exact) in the fields
// named header, and returns "name=value" cut to n bytes (0: whole), as
// "capture cookie" logs it.
func captureCookie(fields []http1.Field, header, prefix string, exact bool, n int) []byte {
	for _, f := range fields {
		if !http1.EqualFold(f.Name, header) {
			continue
		}
		v := f.Value
		for len(v) > 0 {
			end := bytes.IndexByte(v, ';')
			if end < 0 {
				end = len(v)
			}
			c := bytes.TrimLeft(v[:end], " \t")
			if len(c) > len(prefix) && string(c[:len(prefix)]) == prefix && (!exact || c[len(prefix)] == '=') {
				if n > 0 && len(c) > n {
					c = c[:n]
				}
				return c
			}
			if header == "set-cookie" {
				break // attributes follow the cookie of a Set-Cookie
			}
			if end == len(v) {
				break
			}
			v = v[end+1:]
		}
	}
	return nil
}

// tlsVersionName is OpenSSL's name of a TLS version (what HAProxy logs).
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return ""
}
