package testenv

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Bounds on the test endpoints' parameters, so a typo cannot tie a site up.
const (
	maxSlow       = 10 * time.Minute
	maxStream     = 1 << 34 // 16 GiB
	streamChunk   = 32 << 10
	echoBufferLen = 32 << 10
)

// serveSlow answers "slow <N>ms" after ?ms=N milliseconds, or earlier with
// nothing if the client goes away.
func serveSlow(w http.ResponseWriter, r *http.Request) {
	ms, err := intParam(r, "ms", 0, int64(maxSlow/time.Millisecond))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		fmt.Fprintf(w, "slow %dms\n", ms)
	case <-r.Context().Done():
	}
}

// serveStream sends ?bytes=N bytes in chunked encoding, flushing every
// 32 KiB, so a proxy has to stream rather than buffer.
func serveStream(w http.ResponseWriter, r *http.Request) {
	n, err := intParam(r, "bytes", 0, maxStream)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	rc := http.NewResponseController(w)
	chunk := []byte(strings.Repeat("0123456789abcdef", streamChunk/16))
	for n > 0 {
		k := min(n, int64(len(chunk)))
		if _, err := w.Write(chunk[:k]); err != nil {
			return // client gone
		}
		if err := rc.Flush(); err != nil {
			return
		}
		n -= k
	}
}

// serveEcho streams the request body back as it arrives (full duplex), so
// a client can check that a proxy forwards both directions without
// buffering either.
func serveEcho(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// HTTP/1 handlers may not read the body after writing by default.
	_ = rc.EnableFullDuplex()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	buf := make([]byte, echoBufferLen)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if ferr := rc.Flush(); ferr != nil {
				return
			}
		}
		if err != nil {
			return // io.EOF: the whole body was echoed
		}
	}
}

// serveHeaders answers with the request line and the request headers as
// text, one "Name: value" per line, sorted; Host first. Tests use it to see
// what a proxy adds (X-Forwarded-For) or drops (hop-by-hop headers).
func serveHeaders(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\n", r.Method, r.RequestURI, r.Proto)
	fmt.Fprintf(&b, "Host: %s\n", r.Host)
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, b.String())
}

// intParam reads query parameter name as an integer in [lo, hi].
func intParam(r *http.Request, name string, lo, hi int64) (int64, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return 0, fmt.Errorf("query parameter %s is missing: give an integer in [%d, %d]", name, lo, hi)
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("query parameter %s=%q: want an integer in [%d, %d]", name, raw, lo, hi)
	}
	return v, nil
}
