package accesslog

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// base is 01/Dec/2026:09:43:19.937 UTC, the accept date of the HAProxy
// lines these tests were taken from (HAProxy 2.6.12 on this machine).
var base = time.Date(2026, 12, 1, 9, 43, 19, 937_000_000, time.UTC)

func ms(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }

// httpRecord is the request of HAProxy's line
// 127.0.0.1:35236 [01/Dec/2026:09:43:19.937] fe2 be/s1 0/0/0/89/89 200 153 ...
func httpRecord() *Record {
	return &Record{
		Accept: base, HeadDone: base, Queued: base, Connected: base, Response: ms(89), End: ms(89),
		HTTP: true, ClientAddr: netip.MustParseAddrPort("127.0.0.1:35236"),
		FrontendAddr: netip.MustParseAddrPort("127.0.0.1:18084"), ServerAddr: netip.MustParseAddrPort("127.0.0.1:18090"),
		FrontendName: "fe2", BackendName: "be", ServerName: "s1",
		Status: 200, BytesOut: 153, BytesIn: 89, Term: [2]byte{'-', '-'}, Cookie: [2]byte{'-', '-'},
		ActConn: 1, FeConn: 1, RequestLine: []byte("GET / HTTP/1.1"),
		ReqCaptures: [][]byte{[]byte("127.0.0.1:18082"), []byte("my agent|x")},
		ResCaptures: [][]byte{[]byte("text/html; charset=utf-8")},
		Hostname:    "vm", PID: 4242,
	}
}

var twoCaptures = Options{
	HTTP:             true,
	RequestCaptures:  []Capture{{"Host", 8}, {"User-Agent", 30}},
	ResponseCaptures: []Capture{{"Content-Type", 20}},
}

// TestHTTPLogMatchesHAProxy checks option httplog's line against one
// HAProxy 2.6 wrote for the same facts (section 8.2.3).
func TestHTTPLogMatchesHAProxy(t *testing.T) {
	got := string(MustCompile(HTTPLog, twoCaptures).Append(nil, httpRecord()))
	want := `127.0.0.1:35236 [01/Dec/2026:09:43:19.937] fe2 be/s1 0/0/0/89/89 200 153 - - ---- 1/1/0/0/0 0/0 {127.0.0.|my agent#7Cx} {text/html; charset=u} "GET / HTTP/1.1"`
	if got != want {
		t.Fatalf("httplog line\n got %s\nwant %s", got, want)
	}
	r := httpRecord()
	r.ReqCaptures, r.ResCaptures = nil, nil
	got = string(MustCompile(HTTPLog, Options{HTTP: true}).Append(nil, r))
	want = `127.0.0.1:35236 [01/Dec/2026:09:43:19.937] fe2 be/s1 0/0/0/89/89 200 153 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`
	if got != want {
		t.Fatalf("httplog line without captures\n got %s\nwant %s", got, want)
	}
}

func TestBadRequestLineMatchesHAProxy(t *testing.T) {
	r := &Record{Accept: base, End: base, HTTP: true, ClientAddr: netip.MustParseAddrPort("127.0.0.1:41030"),
		FrontendName: "fe", BackendName: "fe", Status: 400, Term: [2]byte{'P', 'R'}, Cookie: [2]byte{'-', '-'}, ActConn: 1, FeConn: 1}
	got := string(MustCompile(HTTPLog, Options{HTTP: true}).Append(nil, r))
	want := `127.0.0.1:41030 [01/Dec/2026:09:43:19.937] fe fe/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestTCPLogMatchesHAProxy(t *testing.T) {
	r := &Record{Accept: base, HeadDone: base, Queued: ms(1), Connected: ms(1), End: ms(4),
		ClientAddr: netip.MustParseAddrPort("127.0.0.1:43916"), FrontendName: "fe3", BackendName: "bet", ServerName: "s1",
		BytesOut: 154, Term: [2]byte{'-', '-'}, ActConn: 1, FeConn: 1}
	got := string(MustCompile(TCPLog, Options{}).Append(nil, r))
	want := `127.0.0.1:43916 [01/Dec/2026:09:43:19.937] fe3 bet/s1 1/0/4 154 -- 1/1/0/0/0 0/0`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestHTTPSLogOnPlainHTTPMatchesHAProxy(t *testing.T) {
	got := string(MustCompile(HTTPSLog, Options{HTTP: true}).Append(nil, &Record{
		Accept: base, HeadDone: base, Queued: base, Connected: base, Response: ms(1), End: ms(1), HTTP: true,
		ClientAddr: netip.MustParseAddrPort("127.0.0.1:56130"), FrontendName: "fe5", BackendName: "be", ServerName: "s1",
		Status: 200, BytesOut: 153, Term: [2]byte{'-', '-'}, Cookie: [2]byte{'-', '-'}, ActConn: 1, FeConn: 1,
		RequestLine: []byte("GET / HTTP/1.1")}))
	want := `127.0.0.1:56130 [01/Dec/2026:09:43:19.937] fe5 be/s1 0/0/0/1/1 200 153 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1" 0/-/-/-/0 -/-/-`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestVariables checks each variable against what HAProxy 2.6 printed for
// the same request (custom log-format lines captured on this machine).
func TestVariables(t *testing.T) {
	r := httpRecord()
	r.Accept = time.Date(2026, 12, 1, 9, 43, 20, 51_000_000, time.UTC)
	r.HeadDone, r.Queued, r.Connected, r.Response, r.End = r.Accept, r.Accept, r.Accept, r.Accept, r.Accept
	r.RequestLine = []byte(`GET /a]b\c?q=1 HTTP/1.1`)
	r.ReqCaptures, r.ResCaptures = [][]byte{[]byte("127.0.0.1:28081")}, [][]byte{[]byte("text/html")}
	r.ClientAddr = netip.MustParseAddrPort("127.0.0.1:35044")
	r.FrontendName = "fe"
	oneCapture := Options{HTTP: true, RequestCaptures: []Capture{{"Host", 8}}, ResponseCaptures: []Capture{{"Content-Type", 8}}}
	tests := []struct{ format, want string }{
		{"%[method]|%[capture.req.hdr(0)]|%[capture.res.hdr(0)]|%[ssl_fc]|%[ssl_fc_protocol]|%[unique-id]|%[hostname]",
			"GET|127.0.0.|text/htm|0|-|-|vm"},
		{"%[src_port]|%[fe_name]|%[be_name]|%[srv_name]|%[status]|%[capture.req.hdr(0),upper]|%[src,hex]|%[dst_port,hex]|%H",
			"35044|fe|be|s1|-|127.0.0.|7F000001|00000000000046A4|vm"},
		{`%{+Q}b|%{+E}r|%{-M}ID|%{+Q}o %b %{-Q}s %ft %ci %cp %{+X}ci %{+X}cp %CC`,
			`"be"|GET /a\]b\\c?q=1 HTTP/1.1|| "be" s1 "fe" "127.0.0.1" 35044 7F000001 88E4 ""`},
		{"%HM|%HU|%HP|%HQ|%HV|%{+Q}HU %ID %{+Q}ID %rc", `GET|/a]b\c?q=1|/a]b\c|?q=1|HTTP/1.1|"/a]b\c?q=1" - "" 0`},
		{"%T %Tl %trg %trl %ms %Ts %{+X}Ts", "01/Dec/2026:09:43:20 +0000 01/Dec/2026:09:43:20 +0000 01/Dec/2026:09:43:20 +0000 01/Dec/2026:09:43:20 +0000 051 1796118200 6B0E96B8"},
		{"%fi:%fp %si:%sp %B %U %Td %Tu %Th %Ti %Tq", "127.0.0.1:18084 127.0.0.1:18090 153 89 0 0 0 0 0"},
		{"%%  %f   %%", "% fe %"},
		{"  lead", "lead"},
		{"%hrl %hsl|%{+Q}hrl", `127.0.0. text/htm|"127.0.0."`},
		{"%[ssl_fc_sni] %[ssl_fc_err,hex] %[fc_err]", "- - 0"},
		{"%pid %{+X}pid %rt %lc", "4242 1092 0 0"},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			got := string(MustCompile(tc.format, oneCapture).Append(nil, r))
			if got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestCLFLine(t *testing.T) {
	got := string(MustCompile(HTTPLogCLF, Options{HTTP: true}).Append(nil, httpRecord()))
	// HAProxy 2.6 writes the same, trailing space included (the separator
	// before %hrl, which prints nothing without captures).
	want := `127.0.0.1 - - [01/Dec/2026:09:43:19 +0000] "GET / HTTP/1.1" 200 153 "" "" 35236 937 "fe2" "be" "s1" 0 0 0 89 89 ---- 1 1 0 0 0 0 0 "" "" `
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
}

func TestTLSFields(t *testing.T) {
	r := httpRecord()
	r.TLS, r.TLSVersion, r.TLSCipher, r.SNI, r.TLSResumed = true, "TLSv1.3", "TLS_AES_128_GCM_SHA256", "www.example.com", true
	got := string(MustCompile("%ft %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc", Options{HTTP: true}).Append(nil, r))
	want := "fe2~ 0/0000000000000000/0/0/1 www.example.com/TLSv1.3/TLS_AES_128_GCM_SHA256"
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
}

func TestRequestLineParts(t *testing.T) {
	tests := []struct{ line, want string }{
		{"GET http://h.example/p/q?x=1 HTTP/1.1", "GET|http://h.example/p/q?x=1|http://h.example/p/q|/p/q|?x=1|HTTP/1.1"},
		{"GET /", "GET|/|/|/||HTTP/0.9"},
		{"GET", "<BADREQ>|<BADREQ>|<BADREQ>|<BADREQ>||<BADREQ>"},
		{"GET /\"#\x01 HTTP/1.1", "GET|/#22#23#01|/#22#23#01|/#22#23#01||HTTP/1.1"},
	}
	p := MustCompile("%HM|%HU|%HP|%HPO|%{-M}HQ|%HV", Options{HTTP: true})
	for _, tc := range tests {
		r := httpRecord()
		r.RequestLine = []byte(tc.line)
		if got := string(p.Append(nil, r)); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.line, got, tc.want)
		}
	}
}

// TestCompileErrors: every refusal names what is wrong and where.
func TestCompileErrors(t *testing.T) {
	tests := []struct {
		format string
		o      Options
		pos    int
		msg    string
	}{
		{"%ci %Xy", Options{HTTP: true}, 4, "no such format variable '%Xy'"},
		{"%ci %r", Options{}, 4, "reserved for HTTP mode"},
		{"abc %", Options{}, 4, "truncated line"},
		{"%{+Q", Options{}, 0, "missing '}'"},
		{"%{+Q} x", Options{}, 0, "without a variable name"},
		{"% x", Options{}, 0, "unexpected variable name"},
		{"%5", Options{}, 0, "unexpected variable name"},
		{"x %[src", Options{}, 2, "missing ']'"},
		{"%[nosuch]", Options{}, 2, "unsupported sample fetch 'nosuch'"},
		{"%[src,base64]", Options{}, 2, "unsupported converter 'base64'"},
		{"%[req.hdr(host)]", Options{HTTP: true}, 2, "needs 'HTTP request headers'"},
		{"%[capture.req.hdr(1)]", Options{HTTP: true, RequestCaptures: []Capture{{"Host", 5}}}, 2, "no such capture slot"},
		{"%[capture.req.hdr]", Options{HTTP: true}, 2, "needs an argument"},
		{"%[src(1)]", Options{}, 2, "takes no argument"},
		{"%[src(]", Options{}, 0, "missing ']'"},
		{"%[src(x]", Options{}, 0, "missing ']'"},
		{"%[src(x)y]", Options{}, 2, "missing ')'"},
		{"%[method]", Options{}, 2, "needs HTTP mode"},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			_, err := Compile(tc.format, tc.o)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%q) = %v, want an *Error", tc.format, err)
			}
			if e.Pos != tc.pos || !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("Compile(%q) = pos %d %q, want pos %d containing %q", tc.format, e.Pos, e.Msg, tc.pos, tc.msg)
			}
			if !strings.Contains(err.Error(), "column") {
				t.Fatalf("error %q does not say where", err)
			}
		})
	}
}

// TestUnknownCharacterAfterPercentIsText follows HAProxy: "%." logs ".".
func TestUnknownCharacterAfterPercentIsText(t *testing.T) {
	if got := string(MustCompile("a%.b", Options{}).Append(nil, &Record{})); got != "a.b" {
		t.Fatalf("got %q", got)
	}
}

func TestConnectLog(t *testing.T) {
	r := httpRecord()
	got := string(ConnectLog().Append(nil, r))
	want := "Connect from 127.0.0.1:35236 to 127.0.0.1:18084 (fe2/HTTP)"
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
}

// TestControlBytesNeverSplitALine: names and cookies with control bytes
// are written as #XX.
func TestControlBytesNeverSplitALine(t *testing.T) {
	r := httpRecord()
	r.ServerName, r.ReqCookie = "s\n1", []byte("a=\r\n")
	got := string(MustCompile("%s %CC", Options{HTTP: true}).Append(nil, r))
	if got != "s#0A1 a=#0D#0A" {
		t.Fatalf("got %q", got)
	}
}
