package http1

import (
	"strings"
	"testing"
)

// parseReq parses s (a whole head, as HeadLen delimits it) as a request.
func parseReq(t *testing.T, s string) (*Head, error) {
	t.Helper()
	buf := []byte(s)
	if n := HeadLen(buf, 0); n != len(buf) {
		t.Fatalf("HeadLen(%q) = %d, want %d", s, n, len(buf))
	}
	var h Head
	return &h, h.ParseRequest(buf)
}

func TestRequestLine(t *testing.T) {
	for _, tc := range []struct {
		name, in       string
		err            error
		method, target string
		version        Version
	}{
		{"plain", "GET / HTTP/1.1\r\n\r\n", nil, "GET", "/", HTTP11},
		{"http10", "GET /a?b HTTP/1.0\r\n\r\n", nil, "GET", "/a?b", HTTP10},
		{"higher minor is 1.1", "GET / HTTP/1.2\r\n\r\n", nil, "GET", "/", HTTP11},
		{"bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", nil, "GET", "/", HTTP11},
		{"several spaces", "GET  /x  HTTP/1.1\r\n\r\n", nil, "GET", "/x", HTTP11},
		{"tabs between parts", "GET\t/\tHTTP/1.1\r\n\r\n", nil, "GET", "/", HTTP11},
		{"leading empty lines", "\r\n\n\r\nGET / HTTP/1.1\r\n\r\n", nil, "GET", "/", HTTP11},
		{"asterisk form", "OPTIONS * HTTP/1.1\r\n\r\n", nil, "OPTIONS", "*", HTTP11},
		{"target with braces and quotes", "GET /a{b\"c|d HTTP/1.1\r\n\r\n", nil, "GET", "/a{b\"c|d", HTTP11},
		{"control in method", "G\x01T / HTTP/1.1\r\n\r\n", ErrMethod, "", "", 0},
		{"colon in method", "G:T / HTTP/1.1\r\n\r\n", ErrMethod, "", "", 0},
		{"tab in target", "GET /a\tb HTTP/1.1\r\n\r\n", ErrRequestLine, "", "", 0},
		{"NUL in target", "GET /a\x00b HTTP/1.1\r\n\r\n", ErrTarget, "", "", 0},
		{"CR in target", "GET /a\rb HTTP/1.1\r\n\r\n", ErrRequestLine, "", "", 0},
		{"DEL in target", "GET /a\x7fb HTTP/1.1\r\n\r\n", ErrTarget, "", "", 0},
		{"fragment in target", "GET /a#b HTTP/1.1\r\n\r\n", ErrTarget, "", "", 0},
		{"non-ASCII in target", "GET /\xff HTTP/1.1\r\n\r\n", ErrTarget, "", "", 0},
		{"empty target", "GET  HTTP/1.1\r\n\r\n", ErrRequestLine, "", "", 0},
		{"no version (HTTP/0.9)", "GET /\r\n\r\n", ErrRequestLine, "", "", 0},
		{"leading space", " GET / HTTP/1.1\r\n\r\n", ErrRequestLine, "", "", 0},
		{"trailing space", "GET / HTTP/1.1 \r\n\r\n", ErrRequestLine, "", "", 0},
		{"lower-case version", "GET / http/1.1\r\n\r\n", ErrRequestLine, "", "", 0},
		{"version letter", "GET / HTTP/1.x\r\n\r\n", ErrRequestLine, "", "", 0},
		{"two-digit minor", "GET / HTTP/1.10\r\n\r\n", ErrRequestLine, "", "", 0},
		{"HTTP/2.0 in a request line", "GET / HTTP/2.0\r\n\r\n", ErrVersion, "", "", 0},
		{"HTTP/0.9 version", "GET / HTTP/0.9\r\n\r\n", ErrVersion, "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseReq(t, tc.in)
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if string(h.Method) != tc.method || string(h.Target) != tc.target || h.Version != tc.version {
				t.Errorf("got %q %q %v, want %q %q %v", h.Method, h.Target, h.Version, tc.method, tc.target, tc.version)
			}
		})
	}
}

func TestRejectsBareCRInFieldValue(t *testing.T) {
	// The smuggling vector of the issue: a CR that a lax parser takes as a
	// line end would reveal "Transfer-Encoding: chunked".
	_, err := parseReq(t, "POST / HTTP/1.1\r\nHost: a\r\nX-Foo: a\rTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n")
	if err != ErrFieldValue {
		t.Fatalf("err = %v, want %v", err, ErrFieldValue)
	}
}

func TestFieldLines(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		err      error
		fields   string // "name=value|..." of the parsed fields
	}{
		{"trimmed value", "GET / HTTP/1.1\r\nX:  a b \t\r\n\r\n", nil, "X=a b"},
		{"no space after colon", "GET / HTTP/1.1\r\nX:a\r\n\r\n", nil, "X=a"},
		{"empty value", "GET / HTTP/1.1\r\nX:\r\n\r\n", nil, "X="},
		{"tab and obs-text kept", "GET / HTTP/1.1\r\nX: a\tb\xffc\r\n\r\n", nil, "X=a\tb\xffc"},
		{"other controls kept (as HAProxy)", "GET / HTTP/1.1\r\nX: a\x01b\x7f\r\n\r\n", nil, "X=a\x01b\x7f"},
		{"obs-fold becomes spaces", "GET / HTTP/1.1\r\nX: a\r\n b\r\nY: c\r\n\r\n", nil, "X=a   b|Y=c"},
		{"obs-fold with LF", "GET / HTTP/1.1\nX: a\n\tb\n\n", nil, "X=a \tb"},
		{"obs-fold of an empty value", "GET / HTTP/1.1\r\nX:\r\n b\r\n\r\n", nil, "X=b"},
		{"NUL in value", "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", ErrFieldValue, ""},
		{"CR in a folded line", "GET / HTTP/1.1\r\nX: a\r\n b\rc\r\n\r\n", ErrFieldValue, ""},
		{"fold before any field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", ErrFold, ""},
		{"space before colon", "GET / HTTP/1.1\r\nX-Foo : a\r\n\r\n", ErrFieldName, ""},
		{"empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", ErrFieldName, ""},
		{"control in name", "GET / HTTP/1.1\r\nX\x01Foo: a\r\n\r\n", ErrFieldName, ""},
		{"no colon", "GET / HTTP/1.1\r\nX\r\n\r\n", ErrFieldName, ""},
		{"duplicate equal Host merged", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", nil, "Host=a"},
		{"two different Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", ErrHost, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseReq(t, tc.in)
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			var got []string
			for _, f := range h.Fields {
				got = append(got, string(f.Name)+"="+string(f.Value))
			}
			if g := strings.Join(got, "|"); g != tc.fields {
				t.Errorf("fields %q, want %q", g, tc.fields)
			}
		})
	}
}

func TestTooManyFields(t *testing.T) {
	head := "GET / HTTP/1.1\r\n" + strings.Repeat("X: v\r\n", MaxFields) + "\r\n"
	if _, err := parseReq(t, head); err != nil {
		t.Fatalf("%d fields: %v", MaxFields, err)
	}
	head = "GET / HTTP/1.1\r\n" + strings.Repeat("X: v\r\n", MaxFields+1) + "\r\n"
	if _, err := parseReq(t, head); err != ErrTooManyFields {
		t.Fatalf("%d fields: err = %v, want %v", MaxFields+1, err, ErrTooManyFields)
	}
}

func TestRequestFraming(t *testing.T) {
	for _, tc := range []struct {
		name, fields string
		version      string
		err          error
		body         Body
		length       int64
		closeAfter   bool
	}{
		{"none", "", "1.1", nil, NoBody, 0, false},
		{"content-length", "Content-Length: 5\r\n", "1.1", nil, FixedBody, 5, false},
		{"content-length zero", "Content-Length: 0\r\n", "1.1", nil, NoBody, 0, false},
		{"content-length list of equal values", "Content-Length: 5, 5\r\n", "1.1", nil, FixedBody, 5, false},
		{"two equal content-length fields", "Content-Length: 5\r\nContent-Length: 5\r\n", "1.1", nil, FixedBody, 5, false},
		{"leading zeros", "Content-Length: 05\r\n", "1.1", nil, FixedBody, 5, false},
		{"content-length list of different values", "Content-Length: 5, 6\r\n", "1.1", ErrContentLength, 0, 0, false},
		{"two different content-length fields", "Content-Length: 5\r\nContent-Length: 6\r\n", "1.1", ErrContentLength, 0, 0, false},
		{"signed content-length", "Content-Length: +5\r\n", "1.1", ErrContentLength, 0, 0, false},
		{"empty content-length", "Content-Length:\r\n", "1.1", ErrContentLength, 0, 0, false},
		{"huge content-length", "Content-Length: 1234567890123456789\r\n", "1.1", ErrContentLength, 0, 0, false},
		{"chunked", "Transfer-Encoding: chunked\r\n", "1.1", nil, ChunkedBody, -1, false},
		{"chunked in any case", "Transfer-Encoding: Chunked\r\n", "1.1", nil, ChunkedBody, -1, false},
		{"chunked with an empty element", "Transfer-Encoding: chunked,\r\n", "1.1", nil, ChunkedBody, -1, false},
		{"content-length and chunked: chunked wins, close after", "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "1.1", nil, ChunkedBody, -1, true},
		{"chunked in HTTP/1.0: close after", "Transfer-Encoding: chunked\r\n", "1.0", nil, ChunkedBody, -1, true},
		{"gzip before chunked", "Transfer-Encoding: gzip, chunked\r\n", "1.1", ErrUnknownCoding, 0, 0, false},
		{"gzip and chunked in two fields", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", "1.1", ErrUnknownCoding, 0, 0, false},
		{"chunked twice", "Transfer-Encoding: chunked, chunked\r\n", "1.1", ErrTransferCoding, 0, 0, false},
		{"chunked in two fields", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "1.1", ErrTransferCoding, 0, 0, false},
		{"chunked not last", "Transfer-Encoding: chunked, gzip\r\n", "1.1", ErrTransferCoding, 0, 0, false},
		{"no chunked", "Transfer-Encoding: gzip\r\n", "1.1", ErrTransferCoding, 0, 0, false},
		{"identity", "Transfer-Encoding: identity\r\n", "1.1", ErrTransferCoding, 0, 0, false},
		{"chunked with a parameter", "Transfer-Encoding: chunked;q=1\r\n", "1.1", ErrTransferCoding, 0, 0, false},
		{"not a coding", "Transfer-Encoding: xchunked\r\n", "1.1", ErrTransferCoding, 0, 0, false},
		{"empty transfer-encoding", "Transfer-Encoding:\r\n", "1.1", ErrTransferCoding, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseReq(t, "POST / HTTP/"+tc.version+"\r\nHost: a\r\n"+tc.fields+"\r\n")
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			body, n := h.RequestBody()
			if body != tc.body || n != tc.length || h.CloseAfter != tc.closeAfter {
				t.Errorf("body %v %d closeAfter %v, want %v %d %v", body, n, h.CloseAfter, tc.body, tc.length, tc.closeAfter)
			}
			if h.Get("content-length") != nil && tc.body == ChunkedBody {
				t.Errorf("Content-Length kept beside chunked")
			}
		})
	}
}

func TestConnectionOptions(t *testing.T) {
	h, err := parseReq(t, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, Upgrade, x-drop,, keep-alive\r\nUpgrade: websocket\r\nExpect: 100-Continue\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if !h.ConnClose || !h.ConnUpgrade || !h.ConnKeepAlive || !h.Expect100 || string(h.Upgrade) != "websocket" {
		t.Errorf("options: close %v upgrade %v keep-alive %v expect %v upgrade %q", h.ConnClose, h.ConnUpgrade, h.ConnKeepAlive, h.Expect100, h.Upgrade)
	}
	if len(h.ConnTokens) != 1 || string(h.ConnTokens[0]) != "x-drop" || !h.HopByHop([]byte("X-Drop")) {
		t.Errorf("Connection tokens %q", h.ConnTokens)
	}
	for _, n := range []string{"TE", "Upgrade", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Content-Length"} {
		if !h.HopByHop([]byte(n)) {
			t.Errorf("%s is not hop-by-hop", n)
		}
	}
	for _, n := range []string{"Trailer", "Host", "X-Forwarded-For"} {
		if h.HopByHop([]byte(n)) {
			t.Errorf("%s is hop-by-hop", n)
		}
	}
}

func TestAbsoluteFormAuthority(t *testing.T) {
	for _, tc := range []struct {
		target, host string
		err          error
	}{
		{"http://a/x", "a", nil},
		{"HTTP://A:80/x", "a", nil},
		{"http://a/x", "a:80", nil},
		{"https://a:443/x", "a", nil},
		{"http://u@a/x", "a", nil},
		{"http://a:81/x", "a:81", nil},
		{"http://b/", "a", ErrHost},
		{"http://a:81/x", "a", ErrHost},
		{"http://a?x", "a", nil},
	} {
		_, err := parseReq(t, "GET "+tc.target+" HTTP/1.1\r\nHost: "+tc.host+"\r\n\r\n")
		if err != tc.err {
			t.Errorf("%s with Host %s: err = %v, want %v", tc.target, tc.host, err, tc.err)
		}
	}
}

func TestHeadLen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"GET / HTTP/1.1\r\n\r\n", 18},
		{"GET / HTTP/1.1\r\n\r\nbody", 18},
		{"GET / HTTP/1.1\n\nbody", 16},
		{"\r\n\r\nGET / HTTP/1.1\r\n\r\n", 22},
		{"GET / HTTP/1.1\r\nA: b\r\n", -1},
		{"GET / HTTP/1.1\r\nA: b\r\n\r", -1},
		{"\r\n\r\n", -1},
		{"", -1},
	} {
		if got := HeadLen([]byte(tc.in), 0); got != tc.want {
			t.Errorf("HeadLen(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	// Resumed scans find a terminator split across reads.
	msg := []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	for cut := 1; cut < len(msg); cut++ {
		if n := HeadLen(msg[:cut], 0); n >= 0 {
			t.Fatalf("HeadLen of %d bytes = %d", cut, n)
		}
		if n := HeadLen(msg, cut); n != len(msg) {
			t.Fatalf("HeadLen resumed at %d = %d, want %d", cut, n, len(msg))
		}
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	raw := []byte("POST /x?y HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\nAccept: */*\r\nConnection: keep-alive, x-a\r\nContent-Length: 5\r\n\r\n")
	buf := make([]byte, len(raw))
	var h Head
	h.ParseRequest(append(buf[:0], raw...))
	if n := testing.AllocsPerRun(100, func() {
		if err := h.ParseRequest(append(buf[:0], raw...)); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per parse", n)
	}
}

func TestBadRequestStart(t *testing.T) {
	for in, bad := range map[string]bool{
		"": false, "G": false, "GET": false, "GET ": false, "\r\nGET /": false, "M-SEARCH * HTTP/1.1": false,
		"\x16\x03\x01\x02\x00": true, " GET": true, "GE\x00": true, "\r\n\x16": true, "PRI * HTTP/2.0": false, "GET\t/": false, "\tGET": true,
	} {
		if got := BadRequestStart([]byte(in)); got != bad {
			t.Errorf("BadRequestStart(%q) = %v, want %v", in, got, bad)
		}
	}
}
