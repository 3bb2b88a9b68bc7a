package haproxydiff

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/balancer/http1"
)

// wireConfig proxies every request to one recording server.
const wireConfig = `
global
    maxconn 1000
defaults
    mode http
    timeout connect 2s
    timeout client 3s
    timeout server 3s
frontend fe
    bind @FE:fe@
    default_backend be
backend be
    server s1 @SRV:s1@
`

// requestVectors are raw requests, each sent on a connection of its own.
var requestVectors = []struct{ name, raw string }{
	{"plain", "GET /a?b HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n"},
	{"http10", "GET / HTTP/1.0\r\n\r\n"},
	{"bare LF", "GET / HTTP/1.1\nHost: a\n\n"},
	{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"several spaces", "GET  /  HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"tabs between parts", "GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n"},
	{"bare CR in a value", "POST / HTTP/1.1\r\nHost: a\r\nX-Foo: a\rTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello"},
	{"NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"},
	{"control in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n"},
	{"tab in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n"},
	{"obs-text in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\xffb\r\n\r\n"},
	{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"},
	{"fold before any field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"},
	{"space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"},
	{"empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n"},
	{"control in a field name", "GET / HTTP/1.1\r\nHost: a\r\nX\x01Y: a\r\n\r\n"},
	{"field without colon", "GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n"},
	{"control in the method", "G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"colon in the method", "G:T / HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"tab in the target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"NUL in the target", "GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"CR in the target", "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"fragment in the target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"non-ASCII in the target", "GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"DEL in the target", "GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"braces and quotes in the target", "GET /a{b\"c|d HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"empty target", "GET  HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"HTTP/0.9", "GET /\r\n\r\n"},
	{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n"},
	{"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n"},
	{"version letter", "GET / HTTP/1.x\r\nHost: a\r\n\r\n"},
	{"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n"},
	{"trailing space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"},
	{"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
	{"equal Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"},
	{"absolute-form against Host", "GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"absolute-form agreeing", "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n"},
	{"content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"},
	{"content-length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello"},
	{"content-length conflict", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello"},
	{"two equal content-length fields", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"},
	{"signed content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello"},
	{"empty content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\nhello"},
	{"CL.TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"},
	{"chunked in HTTP/1.0", "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"gzip, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"chunked in two fields", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"chunked with an empty element", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"gzip alone", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"Chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"zero-padded chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0005\r\nhello\r\n0\r\n\r\n"},
	{"chunk extension", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n"},
	{"space after a chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n"},
	{"bare LF in chunks", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n"},
	{"chunk size zz", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
	{"negative chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"},
	{"0x chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"},
	{"huge chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n"},
	{"chunk longer than its size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n"},
	{"CR in a chunk extension", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n"},
	{"trailers", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"},
	{"pipelined pair", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"pipelined after a body", "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nokGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"101 fields too many", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-F: v\r\n", 100) + "\r\n"},
}

// strictlyTandem are vectors HAProxy 2.6 forwards and tandem refuses, on
// purpose; the README's table says why.
var strictlyTandem = map[string]string{
	"NUL in a value":        "RFC 9110 5.5: a NUL in a field value is invalid and dangerous; HAProxy forwards it",
	"DEL in the target":     "RFC 3986 has no DEL in a URI; HAProxy forwards it",
	"HTTP/2.0 request line": "an HTTP/1 request line claiming HTTP/2.0 gets 505; HAProxy forwards it as HTTP/1.1",
}

// statusDiffers are vectors both refuse, with a different status.
var statusDiffers = map[string]string{
	"gzip, chunked":       "tandem answers 501 (RFC 9112 6.1: a coding it does not decode); HAProxy 422",
	"101 fields too many": "tandem answers 431 for too many fields; HAProxy 400",
}

// outcome is what one load balancer did with a vector.
type outcome struct {
	status    int        // of the first response the client got; 0: none
	responses int        // how many responses the client got
	forwarded []Received // what reached the server
}

func send(t *testing.T, addr, raw string, rec *Recorder) outcome {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, raw)
	var out bytes.Buffer
	buf := make([]byte, 4096)
	// The first answer may take a while on a loaded machine; after it, a
	// quiet moment says the balancer has nothing more to send.
	for wait := 5 * time.Second; ; wait = 300 * time.Millisecond {
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	o := outcome{forwarded: rec.Take()}
	s := out.String()
	o.responses = strings.Count(s, "HTTP/1.")
	if len(s) >= 12 && strings.HasPrefix(s, "HTTP/1.") {
		fmt.Sscanf(s[9:12], "%d", &o.status)
	}
	return o
}

// normal is the forwarded request as both should agree on it: the
// request line, the end-to-end fields (lower-case names, in order, without
// the hop-by-hop and framing ones each balancer writes its own way) and
// the body.
func normal(r Received) string {
	if r.Err != nil {
		return fmt.Sprintf("unparsable (%v): %q", r.Err, r.Raw)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Head.Method, r.Head.Target)
	var fields []string
	for _, f := range r.Head.Fields {
		if r.Head.HopByHop(f.Name) {
			continue
		}
		fields = append(fields, strings.ToLower(string(f.Name))+": "+string(f.Value))
	}
	sort.Strings(fields)
	b.WriteString(strings.Join(fields, "\n"))
	fmt.Fprintf(&b, "\nbody %q", r.Body)
	return b.String()
}

func TestWireVectorsAgainstHAProxy(t *testing.T) {
	rec := NewRecorder(t, Echo("s1"))
	p := Start(t, Setup{Config: wireConfig, Servers: map[string]string{"s1": rec.Addr}})
	for _, v := range requestVectors {
		t.Run(v.name, func(t *testing.T) {
			h := send(t, p.HAProxy["fe"], v.raw, rec)
			tn := send(t, p.Tandem["fe"], v.raw, rec)
			hFwd, tFwd := len(h.forwarded) > 0, len(tn.forwarded) > 0
			switch {
			case !hFwd && tFwd:
				t.Fatalf("HAProxy refused (status %d) and tandem forwarded %q", h.status, tn.forwarded[0].Raw)
			case hFwd && !tFwd:
				if why := strictlyTandem[v.name]; why == "" {
					t.Fatalf("HAProxy forwarded %q and tandem refused with %d (not a documented difference)", h.forwarded[0].Raw, tn.status)
				}
				if tn.status < 400 {
					t.Fatalf("tandem refused without an error status (%d)", tn.status)
				}
				return
			case !hFwd && !tFwd:
				if h.status != tn.status && statusDiffers[v.name] == "" {
					t.Errorf("both refused: HAProxy %d, tandem %d (not a documented difference)", h.status, tn.status)
				}
				return
			}
			if strictlyTandem[v.name] != "" {
				t.Errorf("documented as refused by tandem, but both forwarded it: update the table")
			}
			if len(h.forwarded) != len(tn.forwarded) || h.responses != tn.responses || h.status != tn.status {
				t.Fatalf("HAProxy forwarded %d (client got %d, status %d), tandem %d (client got %d, status %d)",
					len(h.forwarded), h.responses, h.status, len(tn.forwarded), tn.responses, tn.status)
			}
			for i := range h.forwarded {
				if a, b := normal(h.forwarded[i]), normal(tn.forwarded[i]); a != b {
					t.Errorf("request %d reached the server differently:\nHAProxy:\n%s\ntandem:\n%s", i, a, b)
				}
			}
		})
	}
}

// responseVectors are what a misbehaving server answers to "GET /".
var responseVectors = []struct{ name, raw string }{
	{"plain", "HTTP/1.1 200 OK\r\nX-A: b\r\nContent-Length: 2\r\n\r\nok"},
	{"bare CR injects a field", "HTTP/1.1 200 OK\r\nX-A: a\rSet-Cookie: x=1\r\nContent-Length: 2\r\n\r\nok"},
	{"NUL in a field", "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok"},
	{"unrequested 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nxx"},
	{"version letter", "HTTP/1.x 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{"first chunk size zz", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n"},
	{"second chunk size zz", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n"},
	{"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok"},
	{"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"},
	{"status 2000", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"},
	{"status 600", "HTTP/1.1 600 OK\r\nContent-Length: 2\r\n\r\nok"},
	{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"},
	{"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	{"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	{"gzip alone", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nokok"},
	{"204 with a body", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"},
	{"304 with a length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"},
	{"space in a field name", "HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 2\r\n\r\nok"},
	{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
	{"until close", "HTTP/1.0 200 OK\r\n\r\nuntil-close"},
}

// responseStrict: HAProxy relays these, tandem answers 502, on purpose.
var responseStrict = map[string]string{
	"NUL in a field": "RFC 9110 5.5; HAProxy relays it",
	"status 2000":    "not a status code (RFC 9110 15: three digits); HAProxy relays it",
	"status 600":     "RFC 9110 15: 100-599; HAProxy relays it",
}

// clientView is what a client learns from a response: the status, the
// end-to-end fields and the payload (decoded).
func clientView(t *testing.T, raw []byte) (int, string) {
	br := bufio.NewReader(bytes.NewReader(raw))
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if err != nil {
			return 0, fmt.Sprintf("unparsable %q", raw)
		}
		if http1.HeadLen(head, 0) >= 0 {
			break
		}
	}
	var h http1.Head
	if err := h.ParseResponse(head); err != nil {
		return 0, fmt.Sprintf("unparsable %q: %v", raw, err)
	}
	var fields []string
	for _, f := range h.Fields {
		if !h.HopByHop(f.Name) {
			fields = append(fields, strings.ToLower(string(f.Name))+": "+string(f.Value))
		}
	}
	sort.Strings(fields)
	body, _ := io.ReadAll(br)
	kind, _ := h.ResponseBody(false)
	if kind == http1.ChunkedBody {
		var c http1.Chunked
		var out bytes.Buffer
		in := body
		for !c.Done() && len(in) > 0 {
			n, d, err := c.Next(in)
			out.Write(d)
			if err != nil || n == 0 {
				break
			}
			in = in[n:]
		}
		body = out.Bytes()
	}
	return h.Status, strings.Join(fields, "\n") + fmt.Sprintf("\nbody %q", body)
}

func TestResponseVectorsAgainstHAProxy(t *testing.T) {
	for _, v := range responseVectors {
		t.Run(v.name, func(t *testing.T) {
			rec := NewRecorder(t, func(Received) string { return v.raw })
			p := Start(t, Setup{Config: wireConfig, Servers: map[string]string{"s1": rec.Addr}})
			get := func(addr string) []byte {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				b, _ := io.ReadAll(c)
				return b
			}
			hs, hv := clientView(t, get(p.HAProxy["fe"]))
			ts, tv := clientView(t, get(p.Tandem["fe"]))
			if why := responseStrict[v.name]; why != "" {
				if ts != 502 || hs == 502 {
					t.Errorf("documented as 502 by tandem only: HAProxy %d, tandem %d", hs, ts)
				}
				return
			}
			if hs != ts {
				t.Fatalf("status: HAProxy %d, tandem %d\nHAProxy: %s\ntandem: %s", hs, ts, hv, tv)
			}
			if hs != 502 && hv != tv {
				t.Errorf("the client saw different responses:\nHAProxy:\n%s\ntandem:\n%s", hv, tv)
			}
		})
	}
}
