package haproxydiff

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/balancer/http1"
)

// result is what one load balancer did with one request, as the client
// and the servers saw it, normalised as the README's "Bringing your
// haproxy.cfg" says: field names lower-cased, hop-by-hop and framing
// fields left out. Everything else is compared as it is, in order.
type result struct {
	closed bool // the client got no response
	head   bool // the request was HEAD: no body to compare
	status int  // HTTP status
	fields []string
	body   string
	// seen is what reached the servers, in server name order.
	seen []seenRequest
	// tls: the request came over TLS (X-Forwarded-Proto https).
	tls bool
	// note is a deliberate difference that was recognised (the README's
	// list) and normalised away.
	note string
}

// seenRequest is what one server received: an HTTP request (line,
// end-to-end fields in order with lower-case names, body) or a TCP
// server's record (line only).
type seenRequest struct {
	server string
	line   string
	fields []string
	body   string
}

func (s seenRequest) String() string {
	var b strings.Builder
	b.WriteString(s.server + ": " + s.line)
	for _, f := range s.fields {
		b.WriteString("\n    " + f)
	}
	if s.body != "" {
		fmt.Fprintf(&b, "\n    body %q", s.body)
	}
	return b.String()
}

func (r result) String() string {
	var b strings.Builder
	if r.closed {
		b.WriteString("closed without a response\n")
	} else if r.status != 0 {
		fmt.Fprintf(&b, "status %d\n", r.status)
	}
	for _, f := range r.fields {
		b.WriteString("  " + f + "\n")
	}
	if r.body != "" {
		fmt.Fprintf(&b, "  body %q\n", r.body)
	}
	if len(r.seen) == 0 {
		b.WriteString("no server got it\n")
	}
	for _, s := range r.seen {
		b.WriteString("server " + s.String() + "\n")
	}
	return b.String()
}

// backends are the servers of one case, by template name.
type backends struct {
	http  map[string]*Recorder
	lines map[string]*lineServer
}

// seen collects what every server received since the last call.
func (bs backends) seen() []seenRequest {
	var out []seenRequest
	for name, r := range bs.http {
		for _, rec := range r.Take() {
			out = append(out, serverView(name, rec))
		}
	}
	for name, s := range bs.lines {
		for _, l := range s.take() {
			out = append(out, seenRequest{server: name, line: l})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].server < out[j].server })
	return out
}

// serverView is a request as a server got it: request line, end-to-end
// fields in order (names lower-cased), body.
func serverView(name string, r Received) seenRequest {
	if r.Err != nil {
		return seenRequest{server: name, line: fmt.Sprintf("unparsable (%v): %q", r.Err, r.Raw)}
	}
	s := seenRequest{server: name, line: fmt.Sprintf("%s %s %s", r.Head.Method, r.Head.Target, r.Head.Version), body: string(r.Body)}
	for _, f := range r.Head.Fields {
		if !r.Head.HopByHop(f.Name) {
			s.fields = append(s.fields, strings.ToLower(string(f.Name))+": "+string(f.Value))
		}
	}
	return s
}

// do sends r to the frontend at addr and returns what happened.
func do(addr string, r request, bs backends) result {
	var res result
	switch r.kind {
	case kindHTTP, kindTLS:
		res = doHTTP(addr, r)
	case kindTCP:
		res = doTCP(addr, r)
	case kindHello:
		res = doHello(addr, r)
	}
	res.seen = bs.seen()
	res.tls = r.kind == kindTLS
	return res
}

const answerTimeout = 5 * time.Second

// pauseFor is the gap "\P" puts between two segments of a payload.
const pauseFor = 800 * time.Millisecond

var errHandshake = errors.New("the TLS handshake failed")

func dial(addr string, r request) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, answerTimeout)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(answerTimeout))
	if r.kind != kindTLS {
		return c, nil
	}
	tc := tls.Client(c, &tls.Config{ServerName: r.sni, InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, errHandshake // how it failed depends on how the balancer closed
	}
	return tc, nil
}

func doHTTP(addr string, r request) result {
	c, err := dial(addr, r)
	if err != nil {
		return result{closed: true} // refused, reset or a failed handshake
	}
	defer c.Close()
	if _, err := c.Write(r.raw); err != nil {
		return result{closed: true}
	}
	method, _, _ := bytes.Cut(r.raw, []byte(" "))
	head := string(method) == "HEAD"
	res := readResponse(bufio.NewReader(c), head)
	res.head = head
	return res
}

// readResponse reads one response and its payload (decoded).
func readResponse(br *bufio.Reader, head bool) result {
	var raw []byte
	for {
		line, err := br.ReadSlice('\n')
		raw = append(raw, line...)
		if err != nil {
			if len(raw) == 0 || errors.Is(err, io.EOF) && len(bytes.TrimSpace(raw)) == 0 {
				return result{closed: true}
			}
			return result{closed: true, body: fmt.Sprintf("partial response %q", raw)}
		}
		if http1.HeadLen(raw, 0) >= 0 {
			break
		}
	}
	var h http1.Head
	if err := h.ParseResponse(raw); err != nil {
		return result{status: -1, body: fmt.Sprintf("unparsable response %q: %v", raw, err)}
	}
	res := result{status: h.Status}
	for _, f := range h.Fields {
		if !h.HopByHop(f.Name) {
			res.fields = append(res.fields, strings.ToLower(string(f.Name))+": "+string(f.Value))
		}
	}
	var body []byte
	switch kind, n := h.ResponseBody(head); kind {
	case http1.FixedBody:
		body = make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			res.body = fmt.Sprintf("short body %q", body)
			return res
		}
	case http1.ChunkedBody:
		body = readChunked(br)
	case http1.UntilClose:
		body, _ = io.ReadAll(br)
	}
	res.body = string(body)
	return res
}

func readChunked(br *bufio.Reader) []byte {
	var c http1.Chunked
	var out bytes.Buffer
	for !c.Done() {
		if _, err := br.Peek(1); err != nil {
			return append(out.Bytes(), " (truncated)"...)
		}
		in, _ := br.Peek(br.Buffered())
		used, data, err := c.Next(in)
		out.Write(data)
		br.Discard(used)
		if err != nil {
			return append(out.Bytes(), " (bad chunk)"...)
		}
		if used == 0 {
			if _, err := br.Peek(br.Buffered() + 1); err != nil {
				return append(out.Bytes(), " (truncated)"...)
			}
		}
	}
	return out.Bytes()
}

// doTCP sends a payload to a mode tcp frontend and reads what comes back
// until the connection closes.
func doTCP(addr string, r request) result {
	c, err := dial(addr, r)
	if err != nil {
		return result{closed: true} // refused, reset or a failed handshake
	}
	defer c.Close()
	for i, part := range bytes.Split(r.raw, []byte(pauseMark)) {
		if i > 0 {
			// Not a synchronisation: the client sends its bytes in two
			// segments, far enough apart that the balancer runs its
			// rules on the first one alone.
			time.Sleep(pauseFor)
		}
		c.Write(part)
	}
	got, _ := io.ReadAll(c)
	if len(got) == 0 {
		return result{closed: true}
	}
	return result{body: string(got)}
}

// doHello makes a TLS handshake through a mode tcp frontend (a passthrough
// to a TLS server) and reads the server's line.
func doHello(addr string, r request) result {
	c, err := dial(addr, r)
	if err != nil {
		return result{closed: true} // refused, reset or a failed handshake
	}
	defer c.Close()
	tc := tls.Client(c, &tls.Config{ServerName: r.sni, InsecureSkipVerify: true, NextProtos: r.alpn})
	if err := tc.Handshake(); err != nil {
		// The error text depends on how the balancer closed; that it
		// closed is what counts.
		return result{closed: true}
	}
	got, _ := io.ReadAll(tc)
	if len(got) == 0 {
		return result{closed: true}
	}
	return result{body: string(got)}
}
