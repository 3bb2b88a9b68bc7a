package balancer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/balancer/http1"
	"github.com/tandem-lb/tandem/config"
)

// clientBufSize is the read buffer of an HTTP client connection while it
// has a request in progress (longer heads are still accepted: they are
// assembled in the exchange's head buffer). An idle keep-alive connection
// over plain TCP holds none: it waits for readability without a buffer
// (idleWaiter) and takes one from readerPool when bytes arrive.
const clientBufSize = 4 << 10

var (
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 8<<10) }}
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, clientBufSize) }}
)

// serveHTTP serves HTTP/1.x requests on cc until the client or the
// balancer ends the connection, or until it parks it (parked: the parker
// owns the connection then). first is whether cc has served no request.
func (b *Balancer) serveHTTP(cc *clientConn, first bool) (parked bool) {
	tc := &timedConn{Conn: cc.conn}
	var br *bufio.Reader
	defer func() {
		if br != nil {
			br.Reset(nil)
			readerPool.Put(br)
		}
	}()
	served := 0 // requests this call has served on cc
	var tail heldTail
	for ; ; first = false {
		var begun time.Time // when this request's timeout started (zero: not yet)
		snap := b.cur.Load()
		fe := snap.byAddr[cc.l.key]
		if fe == nil || b.stopped.Load() {
			return false
		}
		if served > 0 && br != nil && br.Buffered() > 0 {
			cc.pipelines = true // the next request came with the last
		}
		if br == nil || br.Buffered() == 0 {
			var idleSince time.Time
			next := nextWait
			switch {
			case tail.sent:
				idleSince, next = tail.since, tail.next
			case br != nil && served > 1:
				idleSince = time.Now()
				next = b.readNext(cc, tc, fe, br, idleSince)
			default:
				idleSince = time.Now()
			}
			tail = heldTail{}
			if next == nextReadable {
				// The request timeout runs from here; the bytes are
				// there, so the read takes them at once.
				begun = time.Now()
				tc.readDeadline(deadline(begun, fe.tm.httpRequest))
				next = nextReady
				if _, err := br.Peek(1); err != nil {
					next = nextClosed
				}
			}
			if next == nextClosed {
				return false
			}
			if next == nextWait {
				if br != nil {
					br.Reset(nil) // idle: give the buffer back while waiting
					readerPool.Put(br)
					br = nil
				}
				ok, parked := b.waitIdle(cc, tc, fe, first, idleSince)
				if !ok {
					if first && !parked {
						b.logNoRequest(cc, fe) // HAProxy logs it (CR--, <BADREQ>)
					}
					return parked // idle timeout, close or parked: nothing to answer
				}
				br = readerPool.Get().(*bufio.Reader)
				br.Reset(tc)
				if !first {
					// Readable: the request timeout runs from here. The
					// wait's own deadline (idleParkAfter) must not cut the
					// read that takes the bytes: Go refuses a read once it
					// has passed, however ready the bytes are, and a busy
					// machine may run this goroutine after it.
					tc.readDeadline(deadline(time.Now(), fe.tm.httpRequest))
				}
				if _, err := br.Peek(1); err != nil {
					if first {
						b.logNoRequest(cc, fe)
					}
					return false // idle timeout or close: nothing to answer
				}
			}
			if snap = b.cur.Load(); snap.byAddr[cc.l.key] == nil {
				return false
			}
			fe = snap.byAddr[cc.l.key]
		}
		if first && fe.mode == config.ModeHTTP && fe.tls == nil && fe.h2c != "off" {
			if startsH2(br) {
				// HTTP/2's reader may outlive ServeConn: it gets its own
				// copy of the bytes read, not the pooled buffer.
				pre, _ := br.Peek(br.Buffered())
				b.serveH2(cc, fe, &prefixConn{Conn: cc.conn, pre: bytes.Clone(pre)})
				return false
			}
			if fe.h2c == "only" {
				return false // HTTP/2 only: an HTTP/1 client is not answered
			}
		}
		if !cc.beginRequest() {
			return false
		}
		start := cc.accepted
		switch {
		case !begun.IsZero():
			start = begun
		case !first:
			start = time.Now()
			tc.readDeadline(deadline(start, fe.tm.httpRequest))
		}
		ex := getExchange(cc, fe, snap)
		bw := writerPool.Get().(*bufio.Writer)
		bw.Reset(tc)
		ex.bw = bw
		// From the second request on, a response's last bytes may be held
		// and sent with the wait for the next request (sendTail).
		ex.holdTail = served > 0 && !cc.pipelines && b.park.Load() != nil && cc.idle.canWait(cc.conn)
		keep := b.serveRequest(ex, tc, br, start)
		served++
		if bw.Buffered() > 0 { // the held tail (h1Writer.end)
			tail = b.sendTail(cc, tc, fe, bw, keep)
			keep = keep && tail.next != nextClosed
		}
		bw.Reset(nil)
		writerPool.Put(bw)
		ex.bw = nil
		putExchange(ex)
		cc.endRequest()
		if !keep {
			return false
		}
	}
}

// heldTail is what sending a response's last bytes with the wait for the
// next request found.
type heldTail struct {
	sent  bool      // sent with the wait: next and since are set
	next  int       // nextReadable, nextWait or nextClosed
	since time.Time // when the connection became idle
}

// sendTail sends the response's last bytes, which bw holds, and waits
// for the client's next request as readNext does (for at most
// idleParkAfter and the keep-alive timeout), in one step: the bytes are
// written from inside the wait (timedConn.flushAwait), so the next
// request is read by one read, without a read that finds nothing first.
// The request is still in progress meanwhile: the connection cannot be
// closed as idle with its answer unsent.
//
// A client that pipelines can have its next request in the socket
// already, which raises no wake-up: the wait lasts its whole grace then.
// A wait that ends so and finds bytes there marks the connection as
// pipelining: it holds no more.
func (b *Balancer) sendTail(cc *clientConn, tc *timedConn, fe *frontend, bw *bufio.Writer, keep bool) heldTail {
	if !keep {
		bw.Flush() // the connection closes after it: nothing to wait for
		return heldTail{}
	}
	since := time.Now()
	tc.readDeadline(nextGrace(since, fe))
	if err := tc.flushAt(bw, since, true); err != nil {
		return heldTail{sent: true, next: nextClosed, since: since}
	}
	waited, err := tc.awaited()
	switch {
	case !waited:
		return heldTail{} // sent without the wait: readNext waits
	case err == nil:
		return heldTail{sent: true, next: nextReadable, since: since}
	case isTimeout(err) && cc.idle.hasBytes():
		cc.pipelines = true
		return heldTail{sent: true, next: nextReadable, since: since}
	case isTimeout(err):
		return heldTail{sent: true, next: nextWait, since: since}
	}
	return heldTail{sent: true, next: nextClosed, since: since}
}

// What readNext (or sendTail) found.
const (
	nextWait     = iota // nothing within the grace: wait without the buffer
	nextReady           // the next request's first bytes are buffered
	nextReadable        // the next request's first bytes are in the socket
	nextClosed          // the client closed, or an error
)

// readNext reads a kept-alive connection's next request into br, which
// the last request left empty, for at most idleParkAfter (and the
// keep-alive timeout): on a connection that has carried several requests
// the next one is usually there already or comes within that time, and
// one read takes it without the peek that waiting without a buffer needs
// first. serveHTTP calls it once the connection has carried two requests,
// so that connections that carry one request and idle (most browsers'
// spare ones) give their buffer back at once. It reads only where the connection can
// later wait without a buffer and be parked.
func (b *Balancer) readNext(cc *clientConn, tc *timedConn, fe *frontend, br *bufio.Reader, since time.Time) int {
	if b.park.Load() == nil || !cc.idle.canWait(cc.conn) {
		return nextWait
	}
	tc.readDeadline(nextGrace(since, fe))
	switch _, err := br.Peek(1); {
	case err == nil:
		return nextReady // serveHTTP sets the request's own deadline
	case isTimeout(err):
		return nextWait
	default:
		return nextClosed
	}
}

// waitIdle waits without a buffer until cc has bytes (ok), the request or
// keep-alive timeout passes, or the client closes. A kept-alive connection
// idle since since is handed to the parker (parked) once idleParkAfter has
// passed.
func (b *Balancer) waitIdle(cc *clientConn, tc *timedConn, fe *frontend, first bool, since time.Time) (ok, parked bool) {
	if first {
		tc.readDeadline(deadline(cc.accepted, fe.tm.httpRequest))
		return cc.idle.wait(cc.conn) == nil, false
	}
	keepAlive := deadline(since, fe.tm.keepAlive)
	grace := since.Add(idleParkAfter)
	p := b.park.Load()
	if p == nil || !cc.idle.canWait(cc.conn) || (!keepAlive.IsZero() && !grace.Before(keepAlive)) {
		tc.readDeadline(keepAlive)
		return cc.idle.wait(cc.conn) == nil, false
	}
	tc.readDeadline(grace)
	err := cc.idle.wait(cc.conn)
	switch {
	case err == nil:
		return true, false
	case !isTimeout(err):
		return false, false
	case p.park(cc, keepAlive):
		return false, true
	}
	tc.readDeadline(keepAlive) // the parker is stopping: wait here
	return cc.idle.wait(cc.conn) == nil, false
}

// nextGrace is how long a connection idle since since waits for its next
// request with its buffer: idleParkAfter, or less when the keep-alive
// timeout ends first.
func nextGrace(since time.Time, fe *frontend) time.Time {
	grace := since.Add(idleParkAfter)
	if ka := deadline(since, fe.tm.keepAlive); !ka.IsZero() && ka.Before(grace) {
		grace = ka
	}
	return grace
}

func deadline(from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return from.Add(d)
}

// serveRequest serves one HTTP/1 request, stage by stage (DESIGN.md, "The
// request path"), and reports whether the connection may serve another.
// start is when the request began (accept, or its first byte on a
// kept-alive connection).
func (b *Balancer) serveRequest(ex *exchange, tc *timedConn, br *bufio.Reader, start time.Time) bool {
	ex.tStart = start
	defer b.logHTTP(ex) // runs first: ex and bw are still set

	// 1. Read the request head (the wire format is http1's).
	keep, ok := b.readRequest(ex, tc, br)
	if !ok {
		return false
	}
	ex.keep = keep
	// 1b. An ACME HTTP-01 challenge, answered from the replicated state.
	if b.answerACME(ex) {
		return ex.keep
	}
	// 2-4. Frontend rules, the backend (use_backend … default_backend),
	// backend rules, use-server.
	if !b.requestRules(ex) {
		return ex.keep
	}
	// 5. Choose a server and exchange with it (pool, retries, redispatch).
	tc.readTimeout(ex.fe.tm.client)
	code, err := b.roundTrip(ex)
	ex.fe.rt.stats.bytesIn.Add(uint64(ex.src.n))
	switch {
	case code != 0:
		b.log.Debug("request failed", "frontend", ex.fe.name, "backend", ex.be.name, "status", code, "err", err)
		ex.term = failureTerm(code, err)
		b.reply(ex, code, replyText(code, err))
		return false
	case errors.Is(err, http1.ErrChunk) || errors.Is(err, http1.ErrTrailer):
		ex.term = "PR"
		b.reply(ex, http400, "the request body is malformed: "+err.Error())
		return false
	case err != nil:
		ex.term = "CH"
		return false // the client went away while sending its body
	}
	if ex.upgrade && ex.code == 101 {
		b.tunnelUpgrade(ex, tc, br)
		return false
	}
	// 6-7. Response rules (http-response, http-after-response), then the
	// response; the log line follows (deferred).
	ex.keep = ex.keep && ex.reqBody.done && !b.stopped.Load()
	return b.respond(ex, h1Writer{ex}) && ex.keep
}

// readRequest reads and checks the request head and sets up its body. It
// answers the client itself when the request cannot be served; ok is
// false then. keep is whether the client connection may serve another
// request after this one (its own choice and the framing's).
func (b *Balancer) readRequest(ex *exchange, tc *timedConn, br *bufio.Reader) (keep, ok bool) {
	fe := ex.fe
	var err error
	if first, _ := br.Peek(br.Buffered()); http1.BadRequestStart(first) {
		ex.bufs.reqRaw = append(ex.bufs.reqRaw[:0], first...)
		br.Discard(len(first))
		err = http1.ErrMethod // not HTTP: no need to wait for more
	} else {
		err = readHead(br, &ex.bufs.reqRaw)
	}
	fe.rt.stats.bytesIn.Add(uint64(len(ex.bufs.reqRaw)))
	tc.writeTimeout(fe.tm.client)
	if err == nil {
		err = ex.req.ParseRequest(ex.bufs.reqRaw)
	}
	if err != nil {
		var perr *http1.Error
		switch {
		case errors.Is(err, io.EOF):
		case isTimeout(err):
			if len(ex.bufs.reqRaw) > 0 || br.Buffered() > 0 {
				ex.term = "cR"
				b.reply(ex, http408, "the request header was not received in time")
			}
		case errors.Is(err, io.ErrUnexpectedEOF):
			ex.term = "CR"
		case errors.As(err, &perr):
			ex.term = "PR"
			b.reply(ex, perr.Status, "the request is malformed: "+perr.Reason)
		default:
			ex.term = "CR"
		}
		return false, false
	}
	if fe.alog != nil {
		ex.tHead = time.Now()
	}
	ex.term = "PR" // until proxied: the balancer refuses the request
	fe.rt.stats.requests.Add(1)
	q := ex.req
	http10 := q.Version == http1.HTTP10
	if string(q.Method) == "CONNECT" {
		b.reply(ex, http501, "CONNECT is not supported")
		return false, false
	}
	keep = !q.CloseAfter && ((!http10 && !q.ConnClose) || (http10 && q.ConnKeepAlive))
	ex.idempotent = isIdempotent(q.Method)
	ex.isHead = string(q.Method) == "HEAD"
	ex.upgrade = !http10 && q.ConnUpgrade && len(q.Upgrade) > 0
	kind, length := q.RequestBody()
	ex.reqBody.reset(br, kind, length)
	ex.bodyLen = length
	if kind == http1.NoBody {
		ex.bodyLen = 0
	}
	if kind == http1.ChunkedBody {
		if err := validBuffered(br, &ex.bufs.check); err != nil {
			b.reply(ex, http400, "the request body is malformed: "+err.Error())
			return false, false
		}
	}
	ex.src = countingReader{r: &ex.reqBody}
	ex.expect100 = q.Expect100 && !http10
	return keep, true
}

// readHead reads one head from br into *raw, whole, as http1.HeadLen
// delimits it. It returns io.EOF when the peer closed before a byte.
func readHead(br *bufio.Reader, raw *[]byte) error {
	buf := (*raw)[:0]
	defer func() { *raw = buf }()
	scanned := 0
	for {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if err == io.EOF && len(buf) > 0 {
					return io.ErrUnexpectedEOF
				}
				return err
			}
		}
		avail, _ := br.Peek(br.Buffered())
		if len(buf) == 0 {
			// The usual case: the whole head arrived in one read.
			if n := http1.HeadLen(avail, 0); n >= 0 {
				buf = append(buf, avail[:n]...)
				br.Discard(n)
				return nil
			}
		}
		old := len(buf)
		buf = append(buf, avail...)
		if n := http1.HeadLen(buf, scanned); n >= 0 {
			br.Discard(n - old)
			buf = buf[:n]
			return nil
		}
		br.Discard(len(avail))
		scanned = len(buf)
		if len(buf) > http1.MaxHeadBytes {
			return http1.ErrTooLarge
		}
	}
}
