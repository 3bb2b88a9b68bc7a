package accesslog

import (
	"fmt"
	"strings"
)

// Error is a log-format string that does not compile: what is wrong and
// where (Pos, the byte offset in the string, 0-based).
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("log-format at column %d: %s", e.Pos+1, e.Msg) }

// opt are a variable's flags (section 8.2.6): %{+Q}, %{-M}, ...
type opt uint8

const (
	optQuote     opt = 1 << iota // Q: quote strings
	optHex                       // X: hexadecimal numbers and addresses
	optEscape                    // E: escape '"', '\' and ']' (RFC 5424 SD)
	optMandatory                 // M: an empty string logs as "-"
)

// Capture is one "capture request header NAME len N" (or response) line:
// the value of the last field named Name, cut to Len bytes (0: whole).
type Capture struct {
	Name string
	Len  int
}

// Options are what a log-format string is compiled for.
type Options struct {
	// HTTP is set for an HTTP-mode frontend; HTTP-only variables (%r, %TR,
	// %HM, ...) are refused otherwise, as HAProxy refuses them.
	HTTP bool
	// RequestCaptures and ResponseCaptures are the frontend's declared
	// captures, in order: what %hr/%hs print and capture.req.hdr(N) reads.
	RequestCaptures, ResponseCaptures []Capture
}

// Program is a compiled log-format string. It is immutable and safe for
// concurrent use.
type Program struct {
	nodes []node
	// reqHdrs and resHdrs are the header values a Record must carry: the
	// declared captures first, then those that req.hdr()/res.hdr() fetches
	// read (whole values).
	reqHdrs, resHdrs []Capture
	nReq, nRes       int // declared captures (what %hr/%hs print)
	needs            Needs
}

// Needs says which Record fields a Program reads beyond the cheap ones,
// so the caller fills only those.
type Needs uint8

const (
	NeedRequestLine  Needs = 1 << iota // RequestLine
	NeedFrontendAddr                   // FrontendAddr
	NeedServerAddr                     // ServerAddr
	NeedTLS                            // TLSVersion, TLSCipher, SNI, TLSResumed
	NeedUniqueID                       // UniqueID
	NeedCookies                        // ReqCookie, ResCookie
)

type node struct {
	kind kind
	opts opt
	text string  // kText
	smp  *sample // kSample
}

// Compile parses a log-format string as HAProxy's parse_logformat_string
// does (src/log.c), with spaces merged into separators and empty strings
// logged as "-" (the options HAProxy compiles "log-format" with).
func Compile(format string, o Options) (*Program, error) {
	p := &Program{nReq: len(o.RequestCaptures), nRes: len(o.ResponseCaptures)}
	p.reqHdrs = append(p.reqHdrs, o.RequestCaptures...)
	p.resHdrs = append(p.resHdrs, o.ResponseCaptures...)
	c := compiler{s: format, p: p, o: o, defOpts: optMandatory}
	if err := c.run(); err != nil {
		return nil, err
	}
	return p, nil
}

// MustCompile is Compile for the formats of this package's tests and
// constants; it panics on an error.
func MustCompile(format string, o Options) *Program {
	p, err := Compile(format, o)
	if err != nil {
		panic(err)
	}
	return p
}

// RequestHeaders lists the request header values a Record's ReqCaptures
// must hold, slot by slot.
func (p *Program) RequestHeaders() []Capture { return p.reqHdrs }

// ResponseHeaders lists the response header values of ResCaptures.
func (p *Program) ResponseHeaders() []Capture { return p.resHdrs }

// Needs reports which costly Record fields the Program reads.
func (p *Program) Needs() Needs { return p.needs }

type compiler struct {
	s       string
	i       int
	p       *Program
	o       Options
	defOpts opt
	text    strings.Builder
}

func (c *compiler) errf(pos int, format string, args ...any) error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (c *compiler) flushText() {
	if c.text.Len() > 0 {
		c.p.nodes = append(c.p.nodes, node{kind: kText, text: c.text.String()})
		c.text.Reset()
	}
}

func (c *compiler) run() error {
	for c.i < len(c.s) {
		ch := c.s[c.i]
		switch {
		case ch == ' ':
			c.flushText()
			if n := len(c.p.nodes); n == 0 || c.p.nodes[n-1].kind != kSep {
				c.p.nodes = append(c.p.nodes, node{kind: kSep})
			}
			c.i++
		case ch == '%':
			if err := c.percent(); err != nil {
				return err
			}
		default:
			c.text.WriteByte(ch)
			c.i++
		}
	}
	c.flushText()
	return nil
}

// percent compiles what follows a '%' at c.i.
func (c *compiler) percent() error {
	start := c.i
	c.i++
	if c.i >= len(c.s) {
		return c.errf(start, "truncated line after '%%'; write '%%%%' for a literal '%%'")
	}
	opts := c.defOpts
	switch ch := c.s[c.i]; {
	case ch == '%':
		c.text.WriteByte('%')
		c.i++
		return nil
	case ch == '{':
		end := strings.IndexByte(c.s[c.i:], '}')
		if end < 0 {
			return c.errf(start, "missing '}' after '%s'", c.s[start:])
		}
		args := c.s[c.i+1 : c.i+end]
		opts = parseFlags(args, opts)
		c.i += end + 1
		if c.i >= len(c.s) || (c.s[c.i] != '[' && !isAlnum(c.s[c.i])) {
			return c.errf(start, "argument modifier '%%{%s}' without a variable name", args)
		}
	case ch >= '0' && ch <= '9' || ch == ' ' || ch == '\t':
		return c.errf(start, "unexpected variable name near '%c'; write '%%%%' for a literal '%%'", ch)
	case ch != '[' && !isAlpha(ch):
		return nil // HAProxy drops such a '%' and keeps the character as text
	}
	c.flushText()
	if c.s[c.i] == '[' {
		return c.sampleExpr(start, opts)
	}
	nameStart := c.i
	for c.i < len(c.s) && isAlnum(c.s[c.i]) {
		c.i++
	}
	name := c.s[nameStart:c.i]
	if name == "o" {
		c.defOpts = opts // %o: the flags apply to every variable after it
		return nil
	}
	v, ok := variables[name]
	if !ok {
		return c.errf(start, "no such format variable '%%%s' (write '%%%%' for a literal '%%')", name)
	}
	if v.http && !c.o.HTTP {
		return c.errf(start, "format variable '%%%s' is reserved for HTTP mode", name)
	}
	c.p.needs |= needsOf(v.kind)
	c.p.nodes = append(c.p.nodes, node{kind: v.kind, opts: opts})
	return nil
}

func needsOf(k kind) Needs {
	switch k {
	case kRequest, kMethod, kPath, kPathOnly, kQuery, kURI, kVersion:
		return NeedRequestLine
	case kFrontendIP, kFrontendPort:
		return NeedFrontendAddr
	case kServerIP, kServerPort:
		return NeedServerAddr
	case kSSLCipher, kSSLVersion:
		return NeedTLS
	case kUniqueID:
		return NeedUniqueID
	case kReqCookie, kResCookie:
		return NeedCookies
	}
	return 0
}

// parseFlags applies "+Q,-M,..." to o; unknown names are ignored, as
// HAProxy ignores them.
func parseFlags(args string, o opt) opt {
	for _, a := range strings.Split(args, ",") {
		if len(a) < 2 || (a[0] != '+' && a[0] != '-') {
			continue
		}
		var f opt
		switch a[1:] {
		case "Q":
			f = optQuote
		case "X":
			f = optHex
		case "E":
			f = optEscape
		case "M":
			f = optMandatory
		default:
			continue
		}
		if a[0] == '+' {
			o |= f
		} else {
			o &^= f
		}
	}
	return o
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }

// ConnectLog is HAProxy's line for a frontend with log targets but no log
// format (section 8.2.1): "Connect from 10.0.1.2:33312 to 10.0.3.31:8012
// (www/HTTP)". HAProxy logs it when a connection is accepted; tandem
// logs it once per connection, with its first request.
func ConnectLog() *Program {
	p := MustCompile("Connect from %ci:%cp to %fi:%fp (%f/", Options{})
	p.nodes = append(p.nodes, node{kind: kMode}, node{kind: kText, text: ")"})
	return p
}
