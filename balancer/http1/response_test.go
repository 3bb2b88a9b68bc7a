package http1

import "testing"

func parseResp(t *testing.T, s string) (*Head, error) {
	t.Helper()
	buf := []byte(s)
	if n := HeadLen(buf, 0); n != len(buf) {
		t.Fatalf("HeadLen(%q) = %d, want %d", s, n, len(buf))
	}
	var h Head
	return &h, h.ParseResponse(buf)
}

func TestStatusLine(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
		status   int
		reason   string
	}{
		{"plain", "HTTP/1.1 200 OK\r\n\r\n", true, 200, "OK"},
		{"http10", "HTTP/1.0 404 Not Found\r\n\r\n", true, 404, "Not Found"},
		{"no reason", "HTTP/1.1 200\r\n\r\n", true, 200, ""},
		{"empty reason", "HTTP/1.1 204 \r\n\r\n", true, 204, ""},
		{"bare LF", "HTTP/1.1 200 OK\nA: b\n\n", true, 200, "OK"},
		{"version letter", "HTTP/1.x 200 OK\r\n\r\n", false, 0, ""},
		{"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", false, 0, ""},
		{"four digits", "HTTP/1.1 2000 OK\r\n\r\n", false, 0, ""},
		{"below 100", "HTTP/1.1 099 OK\r\n\r\n", false, 0, ""},
		{"above 599", "HTTP/1.1 600 OK\r\n\r\n", false, 0, ""},
		{"letters", "HTTP/1.1 2x0 OK\r\n\r\n", false, 0, ""},
		{"two spaces", "HTTP/1.1  200 OK\r\n\r\n", false, 0, ""},
		{"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", false, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseResp(t, tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err == nil && (h.Status != tc.status || string(h.Reason) != tc.reason) {
				t.Errorf("got %d %q, want %d %q", h.Status, h.Reason, tc.status, tc.reason)
			}
		})
	}
}

func TestRejectsBareCRInResponseField(t *testing.T) {
	// An injected Set-Cookie behind a bare CR must not reach the client.
	if _, err := parseResp(t, "HTTP/1.1 200 OK\r\nX-A: a\rSet-Cookie: x=1\r\nContent-Length: 2\r\n\r\n"); err == nil {
		t.Fatal("accepted")
	}
	if _, err := parseResp(t, "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n"); err == nil {
		t.Fatal("NUL accepted")
	}
	if _, err := parseResp(t, "HTTP/1.1 200 OK\r\nX A: b\r\n\r\n"); err == nil {
		t.Fatal("space in a name accepted")
	}
}

func TestResponseFraming(t *testing.T) {
	for _, tc := range []struct {
		name, in   string
		head       bool
		err        bool
		body       Body
		length     int64
		closeAfter bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", false, false, FixedBody, 2, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, false, ChunkedBody, -1, false},
		{"until close", "HTTP/1.0 200 OK\r\n\r\n", false, false, UntilClose, -1, false},
		{"HEAD has no body", "HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n", true, false, NoBody, 0, false},
		{"204 has no body", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", false, false, NoBody, 0, false},
		{"304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", false, false, NoBody, 0, false},
		{"1xx has no body", "HTTP/1.1 103 Early Hints\r\n\r\n", false, false, NoBody, 0, false},
		{"content-length zero", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, false, NoBody, 0, false},
		{"both: chunked, not reusable", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", false, false, ChunkedBody, -1, true},
		{"two different lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", false, true, 0, 0, false},
		{"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, true, 0, 0, false},
		{"gzip alone", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, true, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseResp(t, tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			body, n := h.ResponseBody(tc.head)
			if body != tc.body || n != tc.length || h.CloseAfter != tc.closeAfter {
				t.Errorf("body %v %d closeAfter %v, want %v %d %v", body, n, h.CloseAfter, tc.body, tc.length, tc.closeAfter)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, in := range []string{
		"GET  /a?b HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.0\nContent-Length: 5, 5\nTransfer-Encoding: chunked\n\n",
	} {
		var h1, h2 Head
		if err := h1.ParseRequest([]byte(in)); err != nil {
			t.Fatal(err)
		}
		out := AppendHead(nil, &h1, false)
		if err := h2.ParseRequest(out); err != nil {
			t.Fatalf("reparse %q: %v", out, err)
		}
		if d := diffHeads(&h1, &h2); d != "" {
			t.Errorf("%q → %q: %s", in, out, d)
		}
	}
}
