package http1

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// requestSeeds reach every kind of branch: each field kind, folding,
// framing combinations, the errors of each stage.
var requestSeeds = []string{
	"GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n", // tabs between the parts
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"\r\nGET  /x?y  HTTP/1.0\nHost: a\nConnection: keep-alive, x\nX: y\n\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST / HTTP/1.0\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nTransfer-Encoding: chunked;x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-Foo: a\rTransfer-Encoding: chunked\r\n\r\n",
	"GET / HTTP/1.1\r\nX: a\r\n b\r\n\tc\r\nY:\r\n d\r\n\r\n",
	"GET / HTTP/1.1\r\n fold\r\n\r\n",
	"GET http://a:80/x HTTP/1.1\r\nHost: A\r\n\r\n",
	"GET http://b/ HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"G:T / HTTP/1.1\r\n\r\n",
	"GET /a#b HTTP/1.1\r\n\r\n",
	"GET / HTTP/2.0\r\n\r\n",
	"GET / HTTP/1.x\r\n\r\n",
	"GET /\r\n\r\n",
	"GET / HTTP/1.1\r\nX : y\r\n\r\n",
	"GET / HTTP/1.1\r\nX: a\x00\r\n\r\n",
	"GET / HTTP/1.1\r\nExpect: 100-continue\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
}

var responseSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
	"HTTP/1.0 200 OK\n\n",
	"HTTP/1.1 204\r\nContent-Length: 5\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX-A: a\rSet-Cookie: x\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"HTTP/1.x 200 OK\r\n\r\n",
	"HTTP/1.1 2000 OK\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
}

func compareWithReference(t *testing.T, in string, response bool) {
	buf := []byte(in)
	n := HeadLen(buf, 0)
	if n < 0 {
		return
	}
	head := string(buf[:n])
	var h Head
	var err error
	if response {
		err = h.ParseResponse(buf[:n])
	} else {
		err = h.ParseRequest(buf[:n])
	}
	if !response && err == nil {
		// A request that parses is never refused early on a prefix.
		for k := 0; k <= n; k++ {
			if BadRequestStart(buf[:k]) {
				t.Fatalf("%q parses, but BadRequestStart refuses its first %d bytes", head, k)
			}
		}
	}
	ref, status := refParse(head, response)
	if (err == nil) != (status == 0) {
		t.Fatalf("%q: parser err %v, reference status %d", head, err, status)
	}
	if err != nil {
		// Both refuse. Which status wins when a head has several
		// problems is a matter of order; the unit tests pin each one.
		if _, ok := err.(*Error); !ok {
			t.Fatalf("%q: parser error %v is not an *Error", head, err)
		}
		return
	}
	var fields []string
	for _, f := range h.Fields {
		fields = append(fields, string(f.Name)+": "+string(f.Value))
	}
	var rfields []string
	for _, f := range ref.fields {
		rfields = append(rfields, f.name+": "+f.value)
	}
	if fmt.Sprint(fields) != fmt.Sprint(rfields) {
		t.Fatalf("%q: fields %q, reference %q", head, fields, rfields)
	}
	var body Body
	var length int64
	if response {
		body, length = h.ResponseBody(false)
		if ref.body == FixedBody && ref.length == 0 || ref.status < 200 || ref.status == 204 || ref.status == 304 {
			ref.body, ref.length = NoBody, 0
		}
	} else {
		body, length = h.RequestBody()
	}
	if body != ref.body || length != ref.length || h.CloseAfter != ref.closeAfter {
		t.Fatalf("%q: framing %v %d close %v, reference %v %d %v", head, body, length, h.CloseAfter, ref.body, ref.length, ref.closeAfter)
	}
	if !response && (string(h.Method) != ref.method || string(h.Target) != ref.target || (h.Version == HTTP11) != ref.v11) {
		t.Fatalf("%q: request line %q %q %v, reference %q %q %v", head, h.Method, h.Target, h.Version, ref.method, ref.target, ref.v11)
	}
	if response && (h.Status != ref.status || string(h.Reason) != ref.reason) {
		t.Fatalf("%q: status %d %q, reference %d %q", head, h.Status, h.Reason, ref.status, ref.reason)
	}
	// Serialised, it parses back the same.
	out := AppendHead(nil, &h, response)
	var h2 Head
	if response {
		err = h2.ParseResponse(out)
	} else {
		err = h2.ParseRequest(out)
	}
	if err != nil {
		t.Fatalf("%q → %q: %v", head, out, err)
	}
	if d := diffHeads(&h, &h2); d != "" {
		t.Fatalf("%q → %q: %s", head, out, d)
	}
}

// FuzzRequestHead checks the request parser against the reference parser
// (both accept or both refuse; the same fields and framing) and
// that a parsed head serialises to one that parses the same.
func FuzzRequestHead(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { compareWithReference(t, in, false) })
}

// FuzzResponseHead is FuzzRequestHead for responses.
func FuzzResponseHead(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { compareWithReference(t, in, true) })
}

func TestSeedsAgreeWithReference(t *testing.T) {
	for _, s := range requestSeeds {
		compareWithReference(t, s, false)
	}
	for _, s := range responseSeeds {
		compareWithReference(t, s, true)
	}
}

var (
	refChunkSize = regexp.MustCompile(`^([0-9a-fA-F]+)[ \t]*(;[^\x00-\x08\x0a-\x1f\x7f]*)?\r?\n`)
	refTrailer   = regexp.MustCompile(`^([!#$%&'*+\-.^_` + "`" + `|~0-9A-Za-z]+):([^\r\n\x00]*)\r?\n`)
)

// refChunked decodes a whole chunked body with regular expressions; ok is
// false for a malformed or incomplete one.
func refChunked(s string) (data string, used int, ok bool) {
	var out strings.Builder
	start := len(s)
	for {
		m := refChunkSize.FindStringSubmatch(s)
		if m == nil {
			return "", 0, false
		}
		digits := strings.TrimLeft(m[1], "0")
		if len(digits) > 15 {
			return "", 0, false
		}
		var size int64
		fmt.Sscanf("0"+digits, "%x", &size)
		s = s[len(m[0]):]
		if size == 0 {
			break
		}
		if int64(len(s)) < size {
			return "", 0, false
		}
		out.WriteString(s[:size])
		s = s[size:]
		switch {
		case strings.HasPrefix(s, "\r\n"):
			s = s[2:]
		case strings.HasPrefix(s, "\n"):
			s = s[1:]
		default:
			return "", 0, false
		}
	}
	total := 0
	for {
		switch {
		case strings.HasPrefix(s, "\r\n"):
			return out.String(), start - len(s) + 2, true
		case strings.HasPrefix(s, "\n"):
			return out.String(), start - len(s) + 1, true
		}
		m := refTrailer.FindStringSubmatch(s)
		if m == nil {
			return "", 0, false
		}
		total += len(strings.TrimRight(m[0], "\r\n")) + 2
		if total > MaxTrailerBytes {
			return "", 0, false
		}
		s = s[len(m[0]):]
	}
}

// FuzzChunked feeds a body to the decoder in pieces of every size the
// fuzzer picks and checks it against the reference decoder: the same
// data, the same end, the same refusal.
func FuzzChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n", "0005;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\nrest", "5\nhello\n0\n\n",
		"zz\r\n", "5\r\nhelloX", "0\r\nX T: 1\r\n\r\n", "ffffffffffffffffff\r\n", "5;a\rb\r\nhello\r\n0\r\n\r\n",
	} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, in string, step int) {
		if step <= 0 || step > len(in)+1 {
			step = len(in) + 1
		}
		data, used, err := decodeAll([]byte(in), step)
		rdata, rused, ok := refChunked(in)
		if ok != (err == nil) {
			t.Fatalf("%q step %d: decoder err %v (data %q), reference ok %v", in, step, err, data, ok)
		}
		if ok && (data != rdata || used != rused) {
			t.Fatalf("%q: decoder %q (%d used), reference %q (%d)", in, data, used, rdata, rused)
		}
	})
}
