package balancer

import (
	"net/http"
	"strconv"
	"time"

	"golang.org/x/net/http2"
)

// serveH2 serves HTTP/2 on a TLS connection that negotiated "h2" with
// golang.org/x/net/http2; each stream is proxied to the servers over
// HTTP/1.1 with the same picking, retries and persistence as HTTP/1.
func (b *Balancer) serveH2(cc *clientConn, fe *frontend) {
	srv := &http2.Server{IdleTimeout: fe.tm.keepAlive}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { b.serveH2Stream(cc, w, r) })
	srv.ServeConn(cc.conn, &http2.ServeConnOpts{
		Context:    b.runCtx,
		Handler:    h,
		BaseConfig: &http.Server{ReadHeaderTimeout: fe.tm.httpRequest, IdleTimeout: fe.tm.keepAlive},
	})
}

// h2Flusher adapts an http.ResponseWriter to flusher.
type h2Flusher struct{ rc *http.ResponseController }

func (f h2Flusher) Flush() error { return f.rc.Flush() }

func (b *Balancer) serveH2Stream(cc *clientConn, w http.ResponseWriter, r *http.Request) {
	fe := b.cur.Load().byAddr[cc.l.key]
	if fe == nil || b.stopped.Load() || !cc.beginRequest() {
		http.Error(w, "503 Service Unavailable: the load balancer is shutting down", http503)
		return
	}
	defer cc.endRequest()
	ex := getExchange(cc, fe)
	defer putExchange(ex)
	ex.h2, ex.ctx = true, r.Context() // the server connection must not outlive the stream
	if fe.alog != nil {
		ex.tStart = time.Now()
		ex.tHead = ex.tStart
		defer b.logHTTP(ex) // runs before putExchange
	}
	ex.term = "PR"
	fe.rt.stats.requests.Add(1)
	ex.be.rt.stats.requests.Add(1)

	q := &ex.req
	q.hdrs = q.hdrs[:0]
	q.connTokens = q.connTokens[:0]
	q.first[0], q.first[1], q.first[2] = []byte(r.Method), []byte(r.RequestURI), []byte("HTTP/2.0")
	q.hdrs = append(q.hdrs, hdr{name: []byte("Host"), value: []byte(r.Host)})
	for k, vs := range r.Header {
		for _, v := range vs {
			q.hdrs = append(q.hdrs, hdr{name: []byte(k), value: []byte(v)})
		}
	}
	if err := q.interpret(); err != nil {
		ex.code = http400
		http.Error(w, "400 Bad Request: "+err.Error(), http400)
		return
	}
	q.contentLength = r.ContentLength
	ex.bodyLen = r.ContentLength
	if r.Body == nil || r.Body == http.NoBody {
		ex.bodyLen = 0
	}
	ex.src = countingReader{r: r.Body}
	ex.reqBody.reset(nil, bodyNone, 0)
	ex.idempotent = isIdempotent(q.first[0])
	ex.isHead = r.Method == http.MethodHead

	code, err := b.roundTrip(ex)
	fe.rt.stats.bytesIn.Add(uint64(ex.src.n))
	if code != 0 {
		cls := statusClass(code)
		fe.rt.stats.responses[cls].Add(1)
		ex.be.rt.stats.responses[cls].Add(1)
		ex.code, ex.term = code, failureTerm(code, err)
		http.Error(w, strconv.Itoa(code)+" "+statusText(code)+": "+replyText(code, err), code)
		return
	}
	if err != nil {
		ex.term = "CH"
		return
	}
	resp := &ex.resp
	mode, reusable := respFraming(ex)
	ex.respBody.reset(ex.uc.br, mode, resp.contentLength)
	setCookie, nocache := ex.cookieDecision()
	h := w.Header()
	for _, f := range resp.hdrs {
		if resp.hopByHop(f.name) || (nocache && eqFold(f.name, "cache-control")) {
			continue
		}
		h.Add(string(f.name), string(f.value))
	}
	if resp.contentLength >= 0 && ex.code >= 200 && ex.code != 204 {
		h.Set("Content-Length", strconv.FormatInt(resp.contentLength, 10))
	}
	if setCookie {
		h.Add("Set-Cookie", ex.be.cookie.Name+"="+*ex.srv.cookie.Load()+"; path=/")
	}
	if nocache {
		h.Set("Cache-Control", "private")
	}
	w.WriteHeader(ex.code)
	var n int64
	var rerr, werr error
	if mode != bodyNone {
		n, rerr, werr = pump(w, h2Flusher{http.NewResponseController(w)}, &ex.respBody, ex.uc.br, ex.copyBuf())
	}
	b.finishUpstream(ex, reusable && rerr == nil && werr == nil, rerr)
	fe.rt.stats.bytesOut.Add(uint64(n))
	ex.be.rt.stats.bytesOut.Add(uint64(n))
	ex.outBytes = n
	switch {
	case rerr != nil:
		ex.term = "SD"
	case werr != nil:
		ex.term = "CD"
	default:
		ex.term = "--"
	}
}
