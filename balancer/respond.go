package balancer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/tandem-lb/tandem/balancer/http1"
	"github.com/tandem-lb/tandem/balancer/rules"
)

// respWriter is where a response goes: an HTTP/1 connection (h1Writer) or
// an HTTP/2 stream (h2Writer). respond decides everything else.
type respWriter interface {
	// head writes the status line and fields; length is the payload
	// length to announce, -1 when it is unknown (streamed), -2 when
	// nothing is announced (no payload and no length).
	head(status int, reason []byte, fields []http1.Field, length int64) error
	// body returns where the payload goes and how to push it out.
	body() (io.Writer, flusher)
	// end finishes the payload (trailers, for a streamed one) and flushes.
	end(trailers []byte) error
}

// respond relays the server's response (its head read by roundTrip) to
// the client and releases the server connection; it reports false when
// either side broke. One path for HTTP/1 and HTTP/2 clients.
func (b *Balancer) respond(ex *exchange, w respWriter) bool {
	r, u := ex.resp, ex.uc
	kind, length := r.ResponseBody(ex.isHead)
	ex.respBody.reset(u.br, kind, length)
	// Reused only when the response was framed exactly; finishUpstream
	// also checks that nothing beyond it arrived.
	reusable := kind != http1.UntilClose && !r.ConnClose && !r.CloseAfter
	fields := ex.responseFields()
	if ex.rs != nil {
		ex.rs.In.Res = respView{ex}
		if v := rules.HTTPResponse(ex.rs, ex.be.rules, ex.fe.rules, respView{ex}); v == rules.Respond || v == rules.Reject {
			// The server's answer is dropped (its connection closed) for
			// the rule's: http-response deny is a 502.
			b.finishUpstream(ex, false, nil, false)
			ex.keep = false
			if v == rules.Reject {
				ex.term = "PR"
				return false
			}
			b.replyRules(ex, ex.rs.Reply())
			ex.term = "PR"
			return true
		}
		rules.HTTPAfterResponse(ex.rs, ex.be.rules, ex.fe.rules, respView{ex})
		fields = ex.bufs.out
	}
	reason := r.Reason
	if ex.reason != nil {
		reason = ex.reason
	}
	declared := int64(-1) // streamed
	switch kind {
	case http1.FixedBody:
		declared = length
	case http1.NoBody:
		declared = -2 // nothing to announce
		if r.ContentLength >= 0 && ex.code != 204 {
			declared = r.ContentLength // HEAD and 304 keep the length they announce
		}
	}
	werr := w.head(ex.code, reason, fields, declared)
	var n int64
	var rerr error
	if kind != http1.NoBody && werr == nil {
		dst, fl := w.body()
		n, rerr, werr = pump(dst, fl, &ex.respBody, u.br, ex.copyBuf())
	}
	if werr == nil && rerr == nil {
		trailers := ex.respBody.trailers()
		if u.h2resp != nil {
			// The stream's end carries its trailers (x/net/http2 fills
			// them in at EOF, after a Content-Length body too).
			if _, err := io.Copy(io.Discard, u.br); err == nil {
				trailers = h2Trailers(u.h2resp)
			}
		}
		werr = w.end(trailers)
	}
	b.finishUpstream(ex, reusable && rerr == nil && werr == nil, rerr, true)
	ex.outBytes += n
	ex.fe.rt.stats.bytesOut.Add(uint64(ex.outBytes))
	ex.be.rt.stats.bytesOut.Add(uint64(ex.outBytes))
	switch {
	case rerr != nil:
		ex.term = "SD"
	case werr != nil:
		ex.term = "CD"
	default:
		ex.term = "--"
	}
	return rerr == nil && werr == nil
}

// responseFields are the server's end-to-end fields as the client gets
// them: hop-by-hop fields removed, the persistence cookie set, and
// Cache-Control private with the cookie's nocache.
func (ex *exchange) responseFields() []http1.Field {
	out := ex.bufs.out[:0]
	setCookie, nocache := ex.cookieDecision()
	for _, f := range ex.resp.Fields {
		if ex.resp.HopByHop(f.Name) {
			continue
		}
		out = append(out, f)
	}
	if setCookie {
		c := ex.be.cookie
		v := append(ex.bufs.scratch[:0], c.Name...)
		v = append(append(v, '='), *ex.srv.cookie.Load()...)
		v = append(v, "; path=/"...)
		ex.bufs.scratch = v
		out = append(out, http1.Field{Name: fieldSetCookie, Value: v})
	}
	if nocache {
		out = append(out, http1.Field{Name: fieldCacheControl, Value: valuePrivate})
	}
	ex.bufs.out = out
	return out
}

var (
	fieldSetCookie    = []byte("Set-Cookie")
	fieldCacheControl = []byte("Cache-Control")
	valuePrivate      = []byte("private")
)

// cookieDecision reports whether the response must set the persistence
// cookie (the request was not already persistent to this server) and
// whether to mark it private: nocache, and the response is one a cache
// could keep (HAProxy adds "Cache-control: private" then, and keeps the
// server's own fields).
func (ex *exchange) cookieDecision() (set, nocache bool) {
	c := ex.be.cookie
	if c == nil || !c.Insert || ex.cookieSrv == ex.srv {
		return false, false
	}
	return true, c.NoCache && ex.cacheable()
}

// cacheable is HAProxy 2.6's judgement of whether a shared cache could
// keep the response (http_ana.c, as Debian's 2.6 answers): a safe method,
// a status cacheable by default (RFC 7231 6.1), no "Pragma: no-cache", no
// Cache-Control value private, no-cache, no-store, max-age=0 or
// s-maxage=0 unless a "public" follows, and freshness (max-age,
// s-maxage, Expires) or a validator (ETag, Last-Modified).
func (ex *exchange) cacheable() bool {
	m := ex.req.Method
	ok := string(m) == "GET" || string(m) == "HEAD" || string(m) == "OPTIONS" || string(m) == "TRACE"
	switch ex.code {
	case 200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501:
	default:
		ok = false
	}
	fresh, validator := false, false
	for _, f := range ex.resp.Fields {
		switch {
		case http1.EqualFold(f.Name, "pragma"):
			if http1.EqualFold(trimSpace(f.Value), "no-cache") {
				return false
			}
		case http1.EqualFold(f.Name, "expires"):
			fresh = true
		case http1.EqualFold(f.Name, "etag"), http1.EqualFold(f.Name, "last-modified"):
			validator = true
		case http1.EqualFold(f.Name, "cache-control"):
			for v := range bytes.SplitSeq(f.Value, []byte(",")) {
				switch v = trimSpace(v); {
				case http1.EqualFold(v, "public"):
					ok = true
				case http1.EqualFold(v, "private"), http1.EqualFold(v, "no-cache"), http1.EqualFold(v, "no-store"),
					http1.EqualFold(v, "max-age=0"), http1.EqualFold(v, "s-maxage=0"):
					ok = false
				case hasPrefixFold(v, "max-age"), hasPrefixFold(v, "s-maxage"):
					fresh = true
				}
			}
		}
	}
	return ok && (fresh || validator)
}

func hasPrefixFold(b []byte, lower string) bool {
	return len(b) >= len(lower) && http1.EqualFold(b[:len(lower)], lower)
}

// finishUpstream counts the response (for the frontend and backend too
// when it was relayed to the client) and releases the server slot and
// connection. The connection is pooled only when reusable, its body was
// read to the end, and the server sent nothing beyond it: a byte more
// would be read as the next client's response.
func (b *Balancer) finishUpstream(ex *exchange, reusable bool, rerr error, relayed bool) {
	s, u := ex.srv, ex.uc
	if rerr != nil {
		s.stats.responseErrs.Add(1)
		ex.be.rt.stats.responseErrs.Add(1)
		b.log.Debug("server failed while sending the response body", "server", s.key, "err", rerr)
	}
	cls := statusClass(ex.code)
	s.stats.requests.Add(1)
	s.stats.responses[cls].Add(1)
	if relayed {
		ex.be.rt.stats.responses[cls].Add(1)
		ex.fe.rt.stats.responses[cls].Add(1)
	}
	s.stats.curConns.Add(-1)
	switch {
	case u.h2 != nil:
		ex.releaseH2(u) // the stream ends; its connection stays in s.h2
	case reusable && ex.respBody.done && u.br.Buffered() == 0:
		s.pool.put(u)
	case reusable && ex.respBody.done:
		s.stats.discarded.Add(1) // bytes beyond the response
		u.close()
	default:
		u.close()
	}
	ex.track(nil)
	s.release()
	ex.srv, ex.uc = nil, nil
}

// h1Writer writes a response to an HTTP/1 client. Whether the connection
// stays open afterwards is ex.keep.
type h1Writer struct{ ex *exchange }

func (w h1Writer) head(status int, reason []byte, fields []http1.Field, length int64) error {
	ex, bw := w.ex, w.ex.bw
	http10 := ex.req.Version == http1.HTTP10
	writeStatusLine(bw, status, reason)
	for _, f := range fields {
		writeField(bw, f.Name, f.Value)
	}
	switch {
	case length >= 0:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(ex.bufs.num[:0], length, 10))
		bw.WriteString("\r\n")
	case length == -1 && !http10:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	case length == -1:
		ex.keep = false // an HTTP/1.0 client learns the end from the close
	}
	if !ex.keep {
		bw.WriteString("Connection: close\r\n")
	} else if http10 {
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	ex.outBytes = int64(bw.Buffered())
	return nil
}

func (w h1Writer) body() (io.Writer, flusher) {
	if w.streamed() {
		return chunkedWriter{w.ex.bw}, h1Flusher{w.ex}
	}
	return w.ex.bw, h1Flusher{w.ex}
}

// end finishes the response. Its last bytes stay in the writer when the
// exchange may hold them (holdTail), the connection stays open and no
// pipelined request is buffered: serveHTTP sends them with the wait for
// the next request (sendTail), after the log line.
func (w h1Writer) end(trailers []byte) error {
	ex := w.ex
	if w.streamed() {
		chunkedWriter{ex.bw}.close(trailers)
	}
	if ex.holdTail && ex.keep && ex.reqBody.br != nil && ex.reqBody.br.Buffered() == 0 {
		return nil
	}
	return ex.bw.Flush()
}

// h1Flusher pushes out a streamed body as it arrives; once the body is
// all read, end decides.
type h1Flusher struct{ ex *exchange }

func (f h1Flusher) Flush() error {
	if f.ex.respBody.done {
		return nil
	}
	return f.ex.bw.Flush()
}

// streamed reports whether the payload goes chunked: its length is not
// known and the client speaks HTTP/1.1.
func (w h1Writer) streamed() bool {
	k := w.ex.respBody.kind
	return (k == http1.ChunkedBody || k == http1.UntilClose) && w.ex.req.Version != http1.HTTP10
}

func writeStatusLine(w *bufio.Writer, status int, reason []byte) {
	w.WriteString("HTTP/1.1 ")
	w.WriteByte(byte('0' + status/100))
	w.WriteByte(byte('0' + status/10%10))
	w.WriteByte(byte('0' + status%10))
	w.WriteByte(' ')
	w.Write(reason)
	w.WriteString("\r\n")
}

func writeField(w *bufio.Writer, name, value []byte) {
	w.Write(name)
	w.WriteString(": ")
	w.Write(value)
	w.WriteString("\r\n")
}

// interimOK reports whether the client may receive 1xx responses: an
// HTTP/1.1 client (HTTP/1.0 has none; HTTP/2 clients are served by h2.go).
func (ex *exchange) interimOK() bool {
	return !ex.h2 && ex.bw != nil && ex.req.Version == http1.HTTP11
}

// writeInterim forwards the interim response just read (its hop-by-hop
// fields removed) and flushes it, so that e.g. 103 Early Hints reach the
// client before the final response.
func (ex *exchange) writeInterim() error {
	writeStatusLine(ex.bw, ex.resp.Status, ex.resp.Reason)
	for _, f := range ex.resp.Fields {
		if !ex.resp.HopByHop(f.Name) {
			writeField(ex.bw, f.Name, f.Value)
		}
	}
	ex.bw.WriteString("\r\n")
	return ex.bw.Flush()
}

// Status codes the balancer answers itself.
const (
	http400 = 400
	http408 = 408
	http431 = 431
	http501 = 501
	http502 = 502
	http503 = 503
	http504 = 504
	http505 = 505
)

// reply answers the client with one of the balancer's own responses (an
// error it raised) or, when the frontend or backend has one for the
// status, its errorfile or http-error; the connection closes afterwards.
func (b *Balancer) reply(ex *exchange, code int, msg string) {
	ex.keep = false
	if rs := ex.errorRules(); rs != nil {
		if r := rs.ErrorReply(code); !r.ErrorPage {
			b.answer(ex, r.Status, r.Reason, r.Fields, r.Body)
			return
		}
	}
	b.ownPage(ex, code, msg, nil)
}

// replyRules answers with what a rule decided: deny, return, redirect,
// auth. The connection stays open for the next request unless a request
// body is still to come.
func (b *Balancer) replyRules(ex *exchange, r *rules.Reply) {
	if ex.bodyLen != 0 && !ex.reqBody.done {
		ex.keep = false
	}
	if r.ErrorPage {
		b.ownPage(ex, r.Status, "refused by a rule", r.Fields)
		return
	}
	b.answer(ex, r.Status, r.Reason, r.Fields, r.Body)
}

// ownPage answers with the balancer's own short text page for code, and
// extra fields (an auth rule's WWW-Authenticate).
func (b *Balancer) ownPage(ex *exchange, code int, msg string, extra []rules.Field) {
	body := strconv.Itoa(code) + " " + statusText(code) + ": " + msg + "\n"
	fields := append(ex.bufs.page[:0], rules.Field{Name: fieldContentType, Value: valueTextPlain},
		rules.Field{Name: fieldCacheControl, Value: valueNoCache})
	fields = append(fields, extra...)
	ex.bufs.page = fields
	b.answer(ex, code, nil, fields, []byte(body))
}

// errorRules is a rules state that can look up the error pages of the
// request's frontend and backend, or nil when the config has none. A
// request the rules stage never reached (a malformed head) gets one here.
func (ex *exchange) errorRules() *rules.State {
	if ex.rs != nil || !ex.fe.rulesOn {
		return ex.rs
	}
	ex.rs = ex.snap.rules.Get()
	ex.rs.Begin(ex.fe.rules, nil, rules.Input{Conn: ex.cc, Servers: ex.snap})
	return ex.rs
}

// answer writes a response the balancer makes itself (an error page, a
// rule's answer) after the http-after-response rules, to an HTTP/1
// connection or an HTTP/2 stream.
func (b *Balancer) answer(ex *exchange, status int, reason []byte, fields []rules.Field, body []byte) {
	ex.code, ex.reason = status, reason
	out := ex.bufs.out[:0]
	for _, f := range fields {
		out = append(out, http1.Field{Name: f.Name, Value: f.Value})
	}
	ex.bufs.out = out
	if ex.rs != nil {
		var be *rules.Proxy
		if ex.be != nil {
			be = ex.be.rules
		}
		ex.rs.In.Res = respView{ex}
		rules.HTTPAfterResponse(ex.rs, be, ex.fe.rules, respView{ex})
	}
	if len(ex.reason) == 0 {
		ex.reason = []byte(statusText(ex.code))
	}
	cls := statusClass(ex.code)
	ex.fe.rt.stats.responses[cls].Add(1)
	if ex.be != nil {
		ex.be.rt.stats.responses[cls].Add(1)
	}
	if ex.h2 {
		h2Answer(ex, body)
		return
	}
	w := ex.bw
	writeStatusLine(w, ex.code, ex.reason)
	for _, f := range ex.bufs.out {
		writeField(w, f.Name, f.Value)
	}
	w.WriteString("Content-Length: ")
	w.Write(strconv.AppendInt(ex.bufs.num[:0], int64(len(body)), 10))
	switch {
	case !ex.keep:
		w.WriteString("\r\nConnection: close\r\n\r\n")
	case ex.req.Version == http1.HTTP10:
		w.WriteString("\r\nConnection: keep-alive\r\n\r\n")
	default:
		w.WriteString("\r\n\r\n")
	}
	if !ex.isHead {
		w.Write(body)
	}
	out2 := w.Buffered()
	w.Flush()
	ex.outBytes = int64(out2)
	ex.fe.rt.stats.bytesOut.Add(uint64(out2))
}

var (
	fieldContentType = []byte("Content-Type")
	valueTextPlain   = []byte("text/plain; charset=utf-8")
	valueNoCache     = []byte("no-cache")
)

// replyText is the explanation sent with a proxying failure.
func replyText(code int, err error) string {
	switch {
	case errors.Is(err, errQueueTimeout):
		return "timed out waiting for a free server slot"
	case errors.Is(err, errStopping):
		return "the load balancer is shutting down"
	case code == http503:
		return "no server is available to handle this request"
	case code == http504:
		return "the server did not respond in time"
	}
	return "the server sent an invalid or no response"
}

func statusText(code int) string {
	switch code {
	case http400:
		return "Bad Request"
	case http408:
		return "Request Timeout"
	case http431:
		return "Request Header Fields Too Large"
	case http501:
		return "Not Implemented"
	case http502:
		return "Bad Gateway"
	case http503:
		return "Service Unavailable"
	case http504:
		return "Gateway Timeout"
	case http505:
		return "HTTP Version Not Supported"
	}
	// The statuses rules answer with (deny_status, return, auth).
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Error"
}
