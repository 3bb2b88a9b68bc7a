package balancer

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/balancer/http1"
	"github.com/tandem-lb/tandem/balancer/rules"
)

// exchange is the state of one HTTP request and its response, from the
// client's head to the log line. It is pooled; reset assigns a zero value
// and keeps only the buffers in bufs.
type exchange struct {
	bufs exchangeBufs

	cc *clientConn
	fe *frontend
	be *backend
	// req and resp alias bufs.reqHead and bufs.respHead (HTTP/2: the
	// request's fields alias bufs.h2).
	req, resp *http1.Head

	reqBody  bodyReader     // HTTP/1: the request payload from the client
	src      countingReader // the request payload, whatever its source
	bodyLen  int64          // request payload length; -1: unknown (sent chunked); 0: none
	respBody bodyReader     // the response payload from the server
	bw       *bufio.Writer  // to the HTTP/1 client; nil for HTTP/2

	keep       bool // HTTP/1: the client connection serves another request after this one
	holdTail   bool // HTTP/1: the response's last bytes may wait for sendTail (serveHTTP)
	idempotent bool
	isHead     bool
	upgrade    bool                // the client asked for a protocol upgrade
	h2         bool                // the client speaks HTTP/2
	ctx        context.Context     // HTTP/2: the stream's
	h2w        http.ResponseWriter // HTTP/2: the stream's
	h2in       io.Closer           // HTTP/2: the stream's request body
	h2body     *h2ReqBody          // the payload as an HTTP/2 server gets it (upstream_h2.go)
	untrack    func() bool
	expect100  bool    // HTTP/1 client waits for "100 Continue" before its body
	cookieSrv  *server // the server the persistence cookie named
	forced     *server // named by use-server: taken before persistence
	srv        *server // chosen; holds one of its maxconn slots
	uc         *upConn // connection to srv, positioned at the response body
	code       int     // response status
	reason     []byte  // set by a rule (set-status): replaces the server's reason
	// snap is the config the request started on; rs its rules state (nil
	// when the config has no rules).
	snap *snapshot
	rs   *rules.State

	// For the access log and the response-time histogram.
	last                          *server // the server of the last attempt
	retries                       int
	outBytes                      int64  // written to the client
	term                          string // termination state; "": nothing to log
	tStart, tHead, tPicked, tConn time.Time
	tResp                         time.Time
}

// exchangeBufs are what an exchange keeps across uses: buffers, and the
// attempt whose pick filter is bound once (roundTrip resets it).
type exchangeBufs struct {
	a                 attempt
	reqHead, respHead http1.Head
	reqRaw, respRaw   []byte        // the heads as received
	out               []http1.Field // the response fields sent to the client
	page              []rules.Field // the fields of the balancer's own pages
	scratch           []byte        // cookie values and the like
	num               [24]byte
	check             http1.Chunked // pre-validation of buffered chunked bytes
	copyBuf           *[]byte       // body copy buffer, taken on first use
	logBuf            []byte
	edit              []byte // what rules wrote into heads (own)
	h2                []byte // HTTP/2 request fields, copied from net/http
}

var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

// maxKeptHead bounds the head buffers a pooled exchange keeps.
const maxKeptHead = 16 << 10

func getExchange(cc *clientConn, fe *frontend, snap *snapshot) *exchange {
	ex := exchangePool.Get().(*exchange)
	ex.cc, ex.fe, ex.snap = cc, fe, snap // ex.be: chosen by the rules stage
	ex.bufs.a.cc = cc                    // a PROXY header to the server names this client
	ex.req, ex.resp = &ex.bufs.reqHead, &ex.bufs.respHead
	return ex
}

func putExchange(ex *exchange) {
	if ex.rs != nil {
		ex.snap.rules.Put(ex.rs)
	}
	bufs := ex.bufs
	bufs.edit = bufs.edit[:0]
	if bufs.copyBuf != nil {
		copyBufPool.Put(bufs.copyBuf)
		bufs.copyBuf = nil
	}
	if cap(bufs.reqRaw) > maxKeptHead || cap(bufs.respRaw) > maxKeptHead || cap(bufs.h2) > maxKeptHead {
		return // do not keep oversized buffers
	}
	*ex = exchange{bufs: bufs}
	exchangePool.Put(ex)
}

func (ex *exchange) copyBuf() []byte {
	if ex.bufs.copyBuf == nil {
		ex.bufs.copyBuf = copyBufPool.Get().(*[]byte)
	}
	return *ex.bufs.copyBuf
}

// copyBufSize is the size of pooled body copy buffers.
const copyBufSize = 32 << 10

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

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

// isIdempotent reports whether a method may be re-sent (RFC 9110 9.2.2).
func isIdempotent(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE":
		return true
	}
	return false
}
