package balancer

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"
)

// clientBufSize is the read buffer of an HTTP client connection while it
// has a request in progress (longer header lines are still accepted: they
// are assembled in the pooled head buffer). An idle keep-alive connection
// over plain TCP holds none: it waits for readability without a buffer
// (waitReadable) and takes one from readerPool when bytes arrive.
const clientBufSize = 4 << 10

var (
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 8<<10) }}
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, clientBufSize) }}
)

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

// serveHTTP serves HTTP/1.x requests on cc until the client or the
// balancer ends the connection.
func (b *Balancer) serveHTTP(cc *clientConn) {
	tc := &timedConn{Conn: cc.conn}
	var br *bufio.Reader
	defer func() {
		if br != nil {
			br.Reset(nil)
			readerPool.Put(br)
		}
	}()
	for first := true; ; first = false {
		fe := b.cur.Load().byAddr[cc.l.key]
		if fe == nil || b.stopped.Load() {
			return
		}
		if br == nil || br.Buffered() == 0 {
			if first {
				tc.readDeadline(deadline(cc.accepted, fe.tm.httpRequest))
			} else {
				tc.readDeadline(deadline(time.Now(), fe.tm.keepAlive))
			}
			if br != nil {
				br.Reset(nil) // idle: give the buffer back while waiting
				readerPool.Put(br)
				br = nil
			}
			if _, err := waitReadable(cc.conn); err != nil {
				return // idle timeout or close: nothing to answer
			}
			br = readerPool.Get().(*bufio.Reader)
			br.Reset(tc)
			if _, err := br.Peek(1); err != nil {
				return // idle timeout or close: nothing to answer
			}
			if fe = b.cur.Load().byAddr[cc.l.key]; fe == nil {
				return
			}
		}
		if !cc.beginRequest() {
			return
		}
		start := cc.accepted
		if !first {
			start = time.Now()
			tc.readDeadline(deadline(start, fe.tm.httpRequest))
		}
		keep := b.serveRequest(cc, fe, tc, br, start)
		cc.endRequest()
		if !keep {
			return
		}
	}
}

func deadline(from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return from.Add(d)
}

// serveRequest reads one request, proxies it and writes the response. It
// reports whether the connection may serve another request. start is when
// the request began (accept, or its first byte on a kept-alive connection).
func (b *Balancer) serveRequest(cc *clientConn, fe *frontend, tc *timedConn, br *bufio.Reader, start time.Time) bool {
	ex := getExchange(cc, fe)
	defer putExchange(ex)
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(tc)
	ex.bw = bw
	defer func() {
		bw.Reset(nil)
		writerPool.Put(bw)
		ex.bw = nil
	}()
	if fe.alog != nil {
		ex.tStart = start
		defer b.logHTTP(ex) // runs first: ex and bw are still set
	}
	err := ex.req.read(br)
	fe.rt.stats.bytesIn.Add(uint64(len(ex.req.buf)))
	tc.writeTimeout(fe.tm.client)
	if err != nil {
		switch {
		case errors.Is(err, io.EOF):
		case isTimeout(err):
			if len(ex.req.buf) > 0 || br.Buffered() > 0 {
				ex.term = "cR"
				b.reply(ex, http408, "the request header was not received in time")
			}
		case err == errHeadTooLarge:
			ex.term = "PR"
			b.reply(ex, http431, "the request header is too large")
		case errors.Is(err, io.ErrUnexpectedEOF):
			ex.term = "CR"
		default:
			ex.term = "PR"
			b.reply(ex, http400, "the request is malformed")
		}
		return false
	}
	if fe.alog != nil {
		ex.tHead = time.Now()
	}
	ex.term = "PR" // until proxied: the balancer refuses the request
	fe.rt.stats.requests.Add(1)
	ex.be.rt.stats.requests.Add(1)
	var http10 bool
	switch string(ex.req.first[2]) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		http10 = true
	default:
		b.reply(ex, http505, "only HTTP/1.0 and HTTP/1.1 are supported")
		return false
	}
	if err := ex.req.interpret(); err != nil {
		b.reply(ex, http400, "the request is malformed: "+err.Error())
		return false
	}
	method := ex.req.first[0]
	if string(method) == "CONNECT" {
		b.reply(ex, http501, "CONNECT is not supported")
		return false
	}
	keep := (!http10 && !ex.req.connClose) || (http10 && ex.req.connKeepAlive)
	ex.idempotent = isIdempotent(method)
	ex.isHead = string(method) == "HEAD"
	ex.upgrade = !http10 && ex.req.connUpgrade && len(ex.req.upgrade) > 0
	switch {
	case ex.req.chunked:
		ex.reqBody.reset(br, bodyChunked, 0)
		ex.bodyLen = -1
	case ex.req.contentLength > 0:
		ex.reqBody.reset(br, bodyFixed, ex.req.contentLength)
		ex.bodyLen = ex.req.contentLength
	default:
		ex.reqBody.reset(br, bodyNone, 0)
		ex.bodyLen = 0
	}
	ex.src = countingReader{r: &ex.reqBody}
	ex.expect100 = ex.req.expect100 && !http10
	tc.readTimeout(fe.tm.client)

	code, err := b.roundTrip(ex)
	fe.rt.stats.bytesIn.Add(uint64(ex.src.n))
	if code != 0 {
		b.log.Debug("request failed", "frontend", fe.name, "backend", ex.be.name, "status", code, "err", err)
		ex.term = failureTerm(code, err)
		b.reply(ex, code, replyText(code, err))
		return false
	}
	if errors.Is(err, errChunk) {
		ex.term = "PR"
		b.reply(ex, http400, "the request body is malformed: "+errChunk.Error())
		return false
	}
	if err != nil {
		ex.term = "CH"
		return false // the client went away while sending its body
	}
	ex.term = "--"
	if ex.upgrade && ex.code == 101 {
		b.tunnelUpgrade(ex, tc, br)
		return false
	}
	if !ex.reqBody.done || b.stopped.Load() {
		keep = false
	}
	return b.writeResponse(ex, keep, http10) && keep
}

// writeResponse streams the server's response to the client and releases
// the server connection; it reports false if the client connection broke.
func (b *Balancer) writeResponse(ex *exchange, keep, http10 bool) bool {
	r, u, w := &ex.resp, ex.uc, ex.bw
	code := ex.code
	mode, reusable := respFraming(ex)
	ex.respBody.reset(u.br, mode, r.contentLength)
	clientChunked := false
	if mode == bodyChunked || mode == bodyEOF {
		if http10 {
			keep = false
		} else {
			clientChunked = true
		}
	}
	setCookie, nocache := ex.cookieDecision()
	writeServerHead(w, r, nocache)
	switch {
	case clientChunked:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case r.contentLength >= 0 && code >= 200 && code != 204:
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(ex.num[:0], r.contentLength, 10))
		w.WriteString("\r\n")
	}
	if setCookie {
		ex.writeSetCookie(w)
	}
	if nocache {
		w.WriteString("Cache-Control: private\r\n")
	}
	if !keep {
		w.WriteString("Connection: close\r\n")
	} else if http10 {
		w.WriteString("Connection: keep-alive\r\n")
	}
	w.WriteString("\r\n")
	out := int64(w.Buffered())
	var rerr, werr error
	if mode != bodyNone {
		var n int64
		if clientChunked {
			cw := chunkedWriter{w}
			n, rerr, werr = pump(cw, w, &ex.respBody, u.br, ex.copyBuf())
			if rerr == nil && werr == nil {
				werr = cw.close(ex.respBody.trailers)
			}
		} else {
			n, rerr, werr = pump(w, w, &ex.respBody, u.br, ex.copyBuf())
		}
		out += n
	}
	if werr == nil {
		werr = w.Flush()
	}
	b.finishUpstream(ex, reusable && rerr == nil && werr == nil, rerr)
	ex.fe.rt.stats.bytesOut.Add(uint64(out))
	ex.be.rt.stats.bytesOut.Add(uint64(out))
	ex.outBytes = out
	switch {
	case rerr != nil:
		ex.term = "SD"
	case werr != nil:
		ex.term = "CD"
	}
	return rerr == nil && werr == nil
}

// interimOK reports whether the client may receive 1xx responses: an
// HTTP/1.1 client (HTTP/1.0 has none; HTTP/2 clients are served by h2.go).
func (ex *exchange) interimOK() bool {
	return !ex.h2 && ex.bw != nil && string(ex.req.first[2]) == "HTTP/1.1"
}

// writeInterim forwards the interim response just read (its hop-by-hop
// headers removed) and flushes it, so that e.g. 103 Early Hints reach the
// client before the final response.
func (ex *exchange) writeInterim() error {
	writeServerHead(ex.bw, &ex.resp, false)
	ex.bw.WriteString("\r\n")
	return ex.bw.Flush()
}

// writeServerHead writes the status line of the server's response r and
// its end-to-end header fields, without the blank line that ends the
// head. dropCacheControl drops Cache-Control (the cookie's nocache option
// sends its own).
func writeServerHead(w *bufio.Writer, r *head, dropCacheControl bool) {
	w.WriteString("HTTP/1.1 ")
	w.Write(r.first[1])
	w.WriteByte(' ')
	w.Write(r.first[2])
	w.WriteString("\r\n")
	for _, f := range r.hdrs {
		if r.hopByHop(f.name) || (dropCacheControl && eqFold(f.name, "cache-control")) {
			continue
		}
		w.Write(f.name)
		w.WriteString(": ")
		w.Write(f.value)
		w.WriteString("\r\n")
	}
}

// respFraming returns how the response body is delimited and whether the
// server connection can be reused afterwards.
func respFraming(ex *exchange) (mode int, reusable bool) {
	r := &ex.resp
	reusable = !r.connClose && ex.code != 101
	switch {
	case ex.isHead || ex.code == 204 || ex.code == 304 || ex.code < 200:
		return bodyNone, reusable
	case r.chunked:
		return bodyChunked, reusable
	case r.contentLength >= 0:
		return bodyFixed, reusable
	}
	return bodyEOF, false
}

// finishUpstream counts the response and releases the server slot and
// connection (pooled when reusable).
func (b *Balancer) finishUpstream(ex *exchange, reusable bool, rerr error) {
	s, u := ex.srv, ex.uc
	if rerr != nil {
		s.stats.responseErrs.Add(1)
		ex.be.rt.stats.responseErrs.Add(1)
		b.log.Debug("server failed while sending the response body", "server", s.keyStr, "err", rerr)
	}
	cls := statusClass(ex.code)
	s.stats.requests.Add(1)
	s.stats.responses[cls].Add(1)
	ex.be.rt.stats.responses[cls].Add(1)
	ex.fe.rt.stats.responses[cls].Add(1)
	s.stats.curConns.Add(-1)
	if reusable && ex.respBody.done {
		s.pool.put(u)
	} else {
		u.close()
	}
	ex.track(nil)
	s.release()
	ex.srv, ex.uc = nil, nil
}

// cookieDecision reports whether the response must set the persistence
// cookie (the request was not already persistent to this server) and
// whether to mark it private (nocache).
func (ex *exchange) cookieDecision() (set, nocache bool) {
	c := ex.be.cookie
	if c == nil || !c.Insert || ex.cookieSrv == ex.srv {
		return false, false
	}
	return true, c.NoCache
}

func (ex *exchange) writeSetCookie(w *bufio.Writer) {
	w.WriteString("Set-Cookie: ")
	w.WriteString(ex.be.cookie.Name)
	w.WriteByte('=')
	w.WriteString(*ex.srv.cookie.Load())
	w.WriteString("; path=/\r\n")
}

// reply answers the client with one of the balancer's own short responses
// and counts it; the connection is closed afterwards.
func (b *Balancer) reply(ex *exchange, code int, msg string) {
	body := strconv.Itoa(code) + " " + statusText(code) + ": " + msg + "\n"
	w := ex.bw
	w.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + statusText(code) + "\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-cache\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	if !ex.isHead {
		w.WriteString(body)
	}
	out := w.Buffered()
	w.Flush()
	ex.code, ex.outBytes = code, int64(out)
	cls := statusClass(code)
	ex.fe.rt.stats.responses[cls].Add(1)
	ex.fe.rt.stats.bytesOut.Add(uint64(out))
	if ex.be != nil {
		ex.be.rt.stats.responses[cls].Add(1)
	}
}

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
	return "Error"
}
