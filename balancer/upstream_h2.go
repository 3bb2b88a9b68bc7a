package balancer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"github.com/tandem-lb/tandem/balancer/http1"
)

// HTTP/2 to servers (a server's proto h2, or TLS that negotiated h2 by
// ALPN): each request is a stream on a connection shared by the requests
// to that server, so gRPC calls from one client connection are balanced
// one by one, as HAProxy's h2 mux does. The request takes the same stages
// as over HTTP/1; only the exchange with the server differs.

// h2Pool is a server's HTTP/2 connections.
type h2Pool struct {
	mu    sync.Mutex
	conns []upH2Conn
}

type upH2Conn struct {
	cc  *http2.ClientConn
	st  *serverTLS // nil: clear text (prior knowledge)
	sni string
}

// get returns a connection that takes one more stream, for TLS st and
// name sni; nil when none has room. (A stream is not reserved: one that
// is never sent would hold its slot; a race past the limit waits for a
// slot, as HTTP/2 asks.)
func (p *h2Pool) get(st *serverTLS, sni string) *http2.ClientConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.conns[:0]
	var got *http2.ClientConn
	for _, c := range p.conns {
		if c.cc.State().Closed {
			continue
		}
		kept = append(kept, c)
		if got == nil && c.st == st && c.sni == sni && c.cc.CanTakeNewRequest() {
			got = c.cc
		}
	}
	clear(p.conns[len(kept):])
	p.conns = kept
	return got
}

func (p *h2Pool) add(c upH2Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *h2Pool) closeAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.cc.Close()
	}
}

func (p *h2Pool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// speaksH2 reports whether requests to s go over HTTP/2: proto h2.
func (o *serverOpts) speaksH2() bool { return o != nil && o.proto == "h2" }

// startH2 turns a new connection to s into an HTTP/2 connection of s's
// pool (unless it carries a PROXY header for one client).
func (b *Balancer) startH2(s *server, u *upConn) (*upConn, error) {
	cc, err := b.h2t.NewClientConn(u.tc.Conn)
	if err != nil {
		u.close()
		return nil, &errDial{fmt.Errorf("start HTTP/2: %w", err)}
	}
	if !u.private {
		s.h2.add(upH2Conn{cc: cc, st: u.st, sni: u.sni})
	}
	return &upConn{srv: s, h2: cc, private: u.private, st: u.st, sni: u.sni}, nil
}

// sendOnceH2 sends the request as a stream of u.h2 and waits for the
// response head; the body follows in respond as over HTTP/1.
func (b *Balancer) sendOnceH2(ex *exchange, u *upConn) error {
	if ex.expect100 && ex.bodyLen != 0 {
		ex.expect100 = false
		ex.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := ex.bw.Flush(); err != nil {
			return &upstreamError{upClient, err}
		}
	}
	req, err := ex.h2ServerRequest(u)
	if err != nil {
		return &upstreamError{upBad, err}
	}
	ctx, cancel := context.WithCancel(b.runCtx)
	u.h2cancel = cancel
	req = req.WithContext(ctx)
	var timer *time.Timer
	if d := ex.be.tm.server; d > 0 {
		timer = time.AfterFunc(d, cancel)
	}
	resp, err := u.h2.RoundTrip(req)
	if timer != nil && !timer.Stop() && err == nil {
		err = context.DeadlineExceeded
	}
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		switch {
		case ex.h2body != nil && ex.h2body.clientFailed():
			return &upstreamError{upClient, err}
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
			return &upstreamError{upTimeout, fmt.Errorf("wait for response head: %w", err)}
		}
		return &upstreamError{upEmpty, fmt.Errorf("HTTP/2 request: %w", err)}
	}
	u.h2resp = resp
	u.tc.Conn = &h2Stream{body: resp.Body, cancel: cancel}
	u.tc.readTimeout(ex.be.tm.server)
	u.br = readerPool.Get().(*bufio.Reader)
	u.br.Reset(&u.tc)
	ex.bufs.respRaw = h2ResponseHead(ex.bufs.respRaw[:0], resp, ex.isHead)
	if err := ex.resp.ParseResponse(ex.bufs.respRaw); err != nil {
		return &upstreamError{upBad, fmt.Errorf("HTTP/2 response head: %w", err)}
	}
	ex.code = ex.resp.Status
	return nil
}

// h2ServerRequest is the request as the server gets it over HTTP/2: the
// fields HTTP/1 would send (hop-by-hop ones left out, X-Forwarded-*, the
// persistence cookie removed), without HTTP/1's framing and connection
// fields, which HTTP/2 forbids.
func (ex *exchange) h2ServerRequest(u *upConn) (*http.Request, error) {
	var head bytes.Buffer
	w := bufio.NewWriter(&head)
	ex.writeRequestHead(w)
	w.Flush()
	var h http1.Head
	if err := h.ParseRequest(head.Bytes()); err != nil {
		return nil, fmt.Errorf("the request for HTTP/2: %w", err)
	}
	scheme := "http"
	if u.st != nil {
		scheme = "https"
	}
	authority := ""
	hdr := make(http.Header, len(h.Fields))
	for _, f := range h.Fields {
		switch {
		case http1.EqualFold(f.Name, "host"):
			authority = string(f.Value)
		case http1.EqualFold(f.Name, "connection"), http1.EqualFold(f.Name, "keep-alive"), http1.EqualFold(f.Name, "proxy-connection"),
			http1.EqualFold(f.Name, "transfer-encoding"), http1.EqualFold(f.Name, "upgrade"), http1.EqualFold(f.Name, "content-length"):
		case http1.EqualFold(f.Name, "te"):
			if http1.EqualFold(f.Value, "trailers") {
				hdr.Add("Te", "trailers")
			}
		default:
			hdr.Add(string(f.Name), string(f.Value))
		}
	}
	if authority == "" {
		authority = ex.srv.addr
	}
	target := string(ex.req.Target)
	url := scheme + "://" + authority + target
	if len(target) > 0 && target[0] != '/' && target != "*" {
		url = target // absolute form
	}
	var body io.Reader
	if ex.bodyLen != 0 {
		ex.h2body = &h2ReqBody{src: &ex.src, unblock: ex.unblockClientRead}
		body = ex.h2body
	}
	req, err := http.NewRequest(string(ex.req.Method), url, body)
	if err != nil {
		return nil, fmt.Errorf("the request for HTTP/2: %w", err)
	}
	if _, ok := hdr["User-Agent"]; !ok {
		hdr["User-Agent"] = []string{""} // the transport would add its own
	}
	req.Header, req.Host, req.ContentLength = hdr, authority, ex.bodyLen
	return req, nil
}

// h2ResponseHead writes resp's head in HTTP/1.1 form, so the response
// takes the same path as an HTTP/1 one: framed by Content-Length when the
// server gave one, else read until the stream ends.
func h2ResponseHead(b []byte, resp *http.Response, head bool) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(resp.StatusCode), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(resp.StatusCode)...)
	b = append(b, "\r\n"...)
	for k, vs := range resp.Header {
		for _, v := range vs {
			b = append(append(append(append(b, k...), ": "...), v...), "\r\n"...)
		}
	}
	if len(resp.Trailer) > 0 { // announced: Go's HTTP/2 client took the field out
		b = append(b, "Trailer: "...)
		first := true
		for k := range resp.Trailer {
			if !first {
				b = append(b, ", "...)
			}
			b, first = append(b, k...), false
		}
		b = append(b, "\r\n"...)
	}
	if resp.ContentLength >= 0 && (head || resp.StatusCode != 204 && resp.StatusCode != 304) {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, resp.ContentLength, 10)
		b = append(b, "\r\n"...)
	} else if resp.ContentLength < 0 {
		b = append(b, "Connection: close\r\n"...) // read until the stream ends
	}
	return append(b, "\r\n"...)
}

// h2Trailers are the trailers of an HTTP/2 response, in HTTP/1 form
// (gRPC's grpc-status arrives there).
func h2Trailers(resp *http.Response) []byte {
	var b []byte
	for k, vs := range resp.Trailer {
		for _, v := range vs {
			b = append(append(append(append(b, k...), ": "...), v...), "\r\n"...)
		}
	}
	return b
}

// h2Stream is the net.Conn face of a response stream: reads come from its
// body, a read deadline is the server timeout (cancelling the stream),
// Close ends the stream.
type h2Stream struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	mu     sync.Mutex
	timer  *time.Timer
	closed bool
}

func (s *h2Stream) Read(p []byte) (int, error) { return s.body.Read(p) }
func (s *h2Stream) Write(p []byte) (int, error) {
	return 0, errors.New("write on an HTTP/2 response stream")
}
func (s *h2Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.cancel()
	return s.body.Close()
}
func (s *h2Stream) LocalAddr() net.Addr                { return nil }
func (s *h2Stream) RemoteAddr() net.Addr               { return nil }
func (s *h2Stream) SetDeadline(t time.Time) error      { return s.SetReadDeadline(t) }
func (s *h2Stream) SetWriteDeadline(t time.Time) error { return nil }
func (s *h2Stream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if !t.IsZero() {
		s.timer = time.AfterFunc(time.Until(t), s.cancel)
	}
	return nil
}

// h2ReqBody is the request payload as the HTTP/2 transport reads it, in
// its own goroutine: done stops it before the exchange is reused, waiting
// for a read in progress (unblocked by unblock when it waits on the
// client).
type h2ReqBody struct {
	src     io.Reader
	unblock func()
	mu      sync.Mutex
	cond    *sync.Cond
	active  bool
	done    bool
	failed  bool // the client failed while sending it
}

func (r *h2ReqBody) Read(p []byte) (int, error) {
	r.mu.Lock()
	if r.done {
		r.mu.Unlock()
		return 0, io.EOF
	}
	r.active = true
	r.mu.Unlock()
	n, err := r.src.Read(p)
	r.mu.Lock()
	r.active = false
	if err != nil && err != io.EOF {
		r.failed = true
	}
	if r.cond != nil {
		r.cond.Broadcast()
	}
	r.mu.Unlock()
	return n, err
}

func (r *h2ReqBody) clientFailed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// finish stops the transport from reading more of the client's payload.
func (r *h2ReqBody) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	for r.active {
		if r.cond == nil {
			r.cond = sync.NewCond(&r.mu)
		}
		r.unblock()
		r.cond.Wait()
	}
}

// unblockClientRead ends a read of the client's payload in progress: the
// stream's body is closed (HTTP/2), or the connection's read deadline
// passes (HTTP/1, which then closes: its payload was not read to the end).
func (ex *exchange) unblockClientRead() {
	if ex.h2in != nil {
		ex.h2in.Close()
		return
	}
	ex.keep = false
	ex.cc.conn.SetReadDeadline(time.Unix(1, 0))
}

// releaseH2 ends the stream u is and gives back its read buffer and the
// client's payload (the request's goroutine only).
func (ex *exchange) releaseH2(u *upConn) {
	u.close()
	if u.br != nil {
		u.br.Reset(nil)
		readerPool.Put(u.br)
		u.br = nil
	}
	if ex.h2body != nil {
		ex.h2body.finish()
		ex.h2body = nil
	}
}
