package balancer

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/net/http2"

	"github.com/tandem-lb/tandem/balancer/http1"
)

// serveH2 serves HTTP/2 on conn (cc's TLS connection that negotiated
// "h2", or its clear-text one that started with the HTTP/2 preface) with
// golang.org/x/net/http2; each stream takes the same stages as an HTTP/1
// request (serveRequest).
func (b *Balancer) serveH2(cc *clientConn, fe *frontend, conn net.Conn) {
	srv := &http2.Server{IdleTimeout: fe.tm.keepAlive, MaxReadFrameSize: h2MaxFrameSize}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { b.serveH2Stream(cc, w, r) })
	srv.ServeConn(newH2Conn(conn), &http2.ServeConnOpts{
		Context:    b.runCtx,
		Handler:    h,
		BaseConfig: &http.Server{ReadHeaderTimeout: fe.tm.httpRequest, IdleTimeout: fe.tm.keepAlive, ErrorLog: b.h2log},
	})
}

// serveH2Stream serves one HTTP/2 stream, stage by stage.
func (b *Balancer) serveH2Stream(cc *clientConn, w http.ResponseWriter, r *http.Request) {
	fe := b.cur.Load().byAddr[cc.l.key]
	if fe == nil || b.stopped.Load() || !cc.beginRequest() {
		http.Error(w, "503 Service Unavailable: the load balancer is shutting down", http503)
		return
	}
	defer cc.endRequest()
	snap := b.cur.Load()
	ex := getExchange(cc, fe, snap)
	defer putExchange(ex)
	ex.h2, ex.ctx, ex.h2w = true, r.Context(), w // the server connection must not outlive the stream
	ex.tStart = time.Now()
	ex.tHead = ex.tStart
	defer b.logHTTP(ex) // runs before putExchange

	// 1. The request head, from net/http's parse of the HEADERS frames.
	ex.term = "PR"
	fe.rt.stats.requests.Add(1)
	ex.h2Request(r)
	// 2-4. Frontend rules, the backend, backend rules (as serveRequest).
	if !b.requestRules(ex) {
		return
	}
	// 5. A server and the exchange with it.
	code, err := b.roundTrip(ex)
	fe.rt.stats.bytesIn.Add(uint64(ex.src.n))
	if code != 0 {
		ex.term = failureTerm(code, err)
		b.reply(ex, code, replyText(code, err))
		return
	}
	if err != nil {
		ex.term = "CH"
		return
	}
	// 6-7. Response rules and the response.
	b.respond(ex, h2Writer{w})
}

// h2Request fills ex.req from an HTTP/2 request: its fields copied once
// into the exchange's buffer, framing from its content length.
func (ex *exchange) h2Request(r *http.Request) {
	buf := ex.bufs.h2[:0]
	n := len(r.Method) + len(r.RequestURI) + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	if cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	add := func(s string) []byte {
		start := len(buf)
		buf = append(buf, s...)
		return buf[start:len(buf):len(buf)]
	}
	q := ex.req
	*q = http1.Head{Fields: q.Fields[:0], ConnTokens: q.ConnTokens[:0], Version: http1.HTTP11}
	q.Method, q.Target = add(r.Method), add(r.RequestURI)
	q.Host, q.HasHost = add(r.Host), true
	q.Fields = append(q.Fields, http1.Field{Name: fieldHost, Value: q.Host})
	for k, vs := range r.Header {
		name := add(k)
		for _, v := range vs {
			q.Fields = append(q.Fields, http1.Field{Name: name, Value: add(v)})
		}
	}
	ex.bufs.h2 = buf
	q.ContentLength = r.ContentLength
	ex.bodyLen = r.ContentLength
	if r.Body == nil || r.Body == http.NoBody {
		ex.bodyLen = 0
	}
	ex.src = countingReader{r: r.Body}
	ex.h2in = r.Body
	ex.reqBody.reset(nil, http1.NoBody, 0)
	ex.idempotent = isIdempotent(q.Method)
	ex.isHead = r.Method == http.MethodHead
}

var fieldHost = []byte("Host")

// h2Writer writes a response to an HTTP/2 stream through net/http.
type h2Writer struct{ w http.ResponseWriter }

func (hw h2Writer) head(status int, _ []byte, fields []http1.Field, length int64) error {
	h := hw.w.Header()
	for _, f := range fields {
		h.Add(string(f.Name), string(f.Value))
	}
	if length >= 0 {
		h.Set("Content-Length", strconv.FormatInt(length, 10))
	}
	hw.w.WriteHeader(status)
	return nil
}

func (hw h2Writer) body() (io.Writer, flusher) {
	return hw.w, h2Flusher{http.NewResponseController(hw.w)}
}

// end sends the trailer fields of a chunked response as HTTP/2 trailers.
func (hw h2Writer) end(trailers []byte) error {
	for len(trailers) > 0 {
		line := trailers
		if i := bytes.IndexByte(trailers, '\n'); i >= 0 {
			line, trailers = trailers[:i], trailers[i+1:]
		} else {
			trailers = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if c := bytes.IndexByte(line, ':'); c > 0 {
			hw.w.Header().Add(http.TrailerPrefix+string(line[:c]), string(bytes.TrimSpace(line[c+1:])))
		}
	}
	return nil
}

// h2Answer writes a response the balancer made itself (answer) to the
// stream.
func h2Answer(ex *exchange, body []byte) {
	h := ex.h2w.Header()
	for _, f := range ex.bufs.out {
		h.Add(string(f.Name), string(f.Value))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	ex.h2w.WriteHeader(ex.code)
	if !ex.isHead {
		n, _ := ex.h2w.Write(body)
		ex.outBytes = int64(n)
	}
}

// h2Flusher adapts an http.ResponseWriter to flusher.
type h2Flusher struct{ rc *http.ResponseController }

func (f h2Flusher) Flush() error { return f.rc.Flush() }

// h2MaxFrameSize is the largest frame accepted from clients: HTTP/2's
// initial SETTINGS_MAX_FRAME_SIZE, as HAProxy (tune.h2.max-frame-size).
// x/net/http2 would otherwise advertise 1 MiB.
const h2MaxFrameSize = 16 << 10

// startsH2 reports whether a clear-text connection's first bytes are
// HTTP/2's preface (prior knowledge). It reads only as far as they match:
// a short HTTP/1 request is never waited on.
func startsH2(br *bufio.Reader) bool {
	for n := 1; n <= len(h2Preface); n++ {
		b, err := br.Peek(n)
		if err != nil || b[n-1] != h2Preface[n-1] {
			return false
		}
	}
	return true
}

// prefixConn reads the bytes already taken from a connection, then the
// connection.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
