package haproxydiff

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The case format (testdata/README.md): choices expand to every
// combination, an empty line is left out, escapes make bytes, options
// pick the kind of request.
func TestCaseTemplatesExpand(t *testing.T) {
	for _, tc := range []struct {
		name  string
		block []string
		want  []string // each request's describe
		err   string
	}{
		{name: "choices multiply, the first slowest",
			block: []string{"GET {/a|/b} HTTP/1.1", "Host: {x|y}"},
			want: []string{`"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"`, `"GET /a HTTP/1.1\r\nHost: y\r\n\r\n"`,
				`"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"`, `"GET /b HTTP/1.1\r\nHost: y\r\n\r\n"`}},
		{name: "an empty choice drops the line",
			block: []string{"GET / HTTP/1.1", "{X-A: 1|}"},
			want:  []string{`"GET / HTTP/1.1\r\nX-A: 1\r\n\r\n"`, `"GET / HTTP/1.1\r\n\r\n"`}},
		{name: "escapes",
			block: []string{`GET /\{\|\} HTTP/1.1`, `X: a\tb\x41\s`},
			want:  []string{`"GET /{|} HTTP/1.1\r\nX: a\tbA \r\n\r\n"`}},
		{name: "a body gets its length",
			block: []string{"POST / HTTP/1.1", "@body hi"},
			want:  []string{`"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"`}},
		{name: "tcp, hello, tls and another frontend",
			block: []string{"@fe other", "@tcp", `PING\P\n`},
			want:  []string{`@other tcp "PING\x00\x01pause\x01\x00\n"`}},
		{name: "hello", block: []string{"@hello {a.example|-} h2"},
			want: []string{`TLS hello sni="a.example" alpn=["h2"]`, `TLS hello sni="" alpn=["h2"]`}},
		{name: "unbalanced brace", block: []string{"GET {/a HTTP/1.1"}, err: "'{' without '}'"},
		{name: "stray brace", block: []string{"GET /a} HTTP/1.1"}, err: "unbalanced"},
		{name: "unknown option", block: []string{"@nope", "GET / HTTP/1.1"}, err: "unknown option @nope"},
		{name: "too many", block: []string{strings.Repeat("{a|b}", 10)}, err: "more than 512"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &caseFile{blocks: []block{{line: 1, text: tc.block}}}
			reqs, err := c.requests()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range reqs {
				got = append(got, r.describe)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestCaseFileParts(t *testing.T) {
	c, err := parseCase("x", "about\n-- haproxy.cfg --\nglobal\n-- a.map --\nk v\n-- requests --\n# comment\nGET / HTTP/1.1\n\nGET /2 HTTP/1.1\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.config != "global\n" || c.files["a.map"] != "k v\n" || len(c.blocks) != 2 || c.blocks[1].line != 10 {
		t.Errorf("parsed %+v", c)
	}
	for _, bad := range []string{"no parts", "-- haproxy.cfg --\nx\n", "-- requests --\nGET /\n", "-- haproxy.cfg --\nx\n-- f --\n-- f --\n-- requests --\nGET /\n"} {
		if _, err := parseCase("bad", bad); err == nil {
			t.Errorf("%q: parsed", bad)
		}
	}
}
