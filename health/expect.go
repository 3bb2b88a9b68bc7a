package health

import (
	"bytes"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// maxCheckBuf bounds what one check reads after a send, as HAProxy's
// tune.bufsize (16 KiB) does: a full buffer is judged as it is.
const maxCheckBuf = 16 << 10

// maxStatusLine bounds how much of an HTTP response is read looking for
// the end of the status line; a longer line is a bad status line.
const maxStatusLine = 1024

// expectStep judges what the server sent since the last send.
type expectStep struct {
	match  config.ExpectMatch
	custom func(x *evalCtx) outcome // protocol matchers (protocols.go); nil: match
	not    bool
	lit    []byte
	re     *regexp.Regexp
	codes  []config.StatusRange
	// minRecv is HAProxy's min-recv: -1 waits for more data while the
	// pattern is not found; n > 0 waits for n bytes, then judges.
	minRecv                         int
	okStatus, errStatus, toutStatus string
	onSuccess, onError              string
	http                            bool
	desc                            string // "expect string \"role:master\""
	errorFromRead, successFromRead  int    // 1+N: the message is what was read from offset N on (HAProxy's res.payload(N,0),cut_crlf); 0: not
	codeFromRead                    bool   // the status code is the first 3 bytes read (smtp)
}

// evalCtx is what an expect step sees: the bytes read since the last
// send, whether more can come, and the check's state it may update.
type evalCtx struct {
	buf    []byte
	last   bool // no more data will come (EOF or a full buffer)
	isLast bool // this is the ruleset's last step
	// disable404: a 404 passes the step, to end the check as L7OKC
	// (HAProxy checks it before the match).
	disable404 bool
	code       *int // the check's status code (HTTP status, SMTP code, MySQL error)
	agent      *agentReply
}

type evalResult uint8

const (
	evalContinue evalResult = iota // the step passed: next step
	evalWait                       // read more, then evaluate again
	evalStop                       // the step failed: the check ends
)

// outcome is an expect step's verdict; on evalStop status and msg say why,
// on evalContinue msg may describe the success (protocol checks).
type outcome struct {
	r      evalResult
	status string
	msg    string
}

func wait() outcome { return outcome{r: evalWait} }

func (e *expectStep) eval(x *evalCtx) outcome {
	if e.custom != nil {
		return e.custom(x)
	}
	if e.http {
		return e.evalHTTP(x)
	}
	return e.evalTCP(x)
}

// evalTCP is tcp-check expect: string, rstring, binary, rbinary.
func (e *expectStep) evalTCP(x *evalCtx) outcome {
	buf := x.buf
	if !x.last {
		if (e.match == config.MatchString || e.match == config.MatchBinary) && len(buf) < len(e.lit) {
			return wait()
		}
		if e.minRecv > 0 && len(buf) < e.minRecv {
			return wait()
		}
	}
	var match bool
	switch e.match {
	case config.MatchString, config.MatchBinary:
		match = bytes.Contains(buf, e.lit)
	case config.MatchRString:
		match = e.re.Match(buf)
	case config.MatchRBinary:
		match = e.re.MatchString(strings.ToUpper(hex.EncodeToString(buf)))
	}
	if !match && !x.last && e.minRecv == -1 {
		return wait()
	}
	if e.codeFromRead && len(buf) >= 3 {
		if c, err := strconv.Atoi(string(buf[:3])); err == nil {
			*x.code = c
		}
	}
	if match != e.not {
		return outcome{r: evalContinue, msg: e.successMsg(buf)}
	}
	return outcome{r: evalStop, status: e.errStatus, msg: e.errorMsg(buf, match)}
}

func (e *expectStep) successMsg(buf []byte) string {
	if e.successFromRead > 0 && e.onSuccess == "" {
		return payload(buf, e.successFromRead-1)
	}
	return e.onSuccess
}

// errorMsg is the result's detail when the step fails: on_error, the
// protocol's message, or what was expected and what was read.
func (e *expectStep) errorMsg(buf []byte, matched bool) string {
	switch {
	case e.onError != "":
		return e.onError
	case e.errorFromRead > 0:
		return payload(buf, e.errorFromRead-1)
	case matched:
		return "matched unwanted content, got " + quote(buf)
	case len(buf) == 0:
		return "empty response"
	}
	return "got " + quote(buf)
}

// payload is what was read from offset on, up to the first CR or LF
// (HAProxy's res.payload(N,0),ltrim(' '),cut_crlf).
func payload(buf []byte, off int) string {
	if off >= len(buf) {
		return ""
	}
	p := buf[off:]
	if i := bytes.IndexAny(p, "\r\n"); i >= 0 {
		p = p[:i]
	}
	return strings.TrimLeft(string(p), " ")
}

// evalHTTP is http-check expect. Status matches need the status line
// only; body matches wait for the whole body (Content-Length, the last
// chunk, or the end of the connection, at most maxCheckBuf bytes).
func (e *expectStep) evalHTTP(x *evalCtx) outcome {
	nl := bytes.IndexByte(x.buf, '\n')
	switch {
	case nl < 0 && len(x.buf) >= maxStatusLine:
		return outcome{r: evalStop, status: "L7RSP", msg: "bad status line"}
	case nl < 0 && !x.last:
		return wait()
	case nl < 0 && len(x.buf) == 0:
		return outcome{r: evalStop, status: "L7RSP", msg: "empty response"}
	}
	line := x.buf
	if nl >= 0 {
		line = x.buf[:nl+1]
	}
	code, ok := parseStatusLine(string(line))
	if !ok {
		return outcome{r: evalStop, status: "L7RSP", msg: "bad status line"}
	}
	*x.code = code
	if x.disable404 && code == 404 {
		return outcome{r: evalContinue}
	}
	var match bool
	switch e.match {
	case config.MatchStatus:
		match = inRanges(code, e.codes)
	case config.MatchRStatus:
		match = e.re.MatchString(strconv.Itoa(code))
	default:
		body, complete := httpBody(x.buf, x.last)
		if !complete {
			return wait()
		}
		if e.match == config.MatchString {
			match = bytes.Contains(body, e.lit)
		} else {
			match = e.re.Match(body)
		}
		if match != e.not {
			return outcome{r: evalContinue, msg: e.onSuccess}
		}
		return outcome{r: evalStop, status: e.errStatus, msg: orDefault(e.onError, bodyMismatch(body, match))}
	}
	if match != e.not {
		return outcome{r: evalContinue, msg: e.onSuccess}
	}
	return outcome{r: evalStop, status: e.errStatus, msg: orDefault(e.onError, "got status "+strconv.Itoa(code))}
}

func bodyMismatch(body []byte, matched bool) string {
	if matched {
		return "body matched unwanted content: " + quote(body)
	}
	return "got body " + quote(body)
}

func inRanges(code int, rs []config.StatusRange) bool {
	for _, r := range rs {
		if code >= r.Lo && code <= r.Hi {
			return true
		}
	}
	return false
}

// httpBody returns the body of the response in buf and whether it is
// complete. A chunked body is decoded.
func httpBody(buf []byte, last bool) ([]byte, bool) {
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	sep := 4
	if lf := bytes.Index(buf, []byte("\n\n")); lf >= 0 && (end < 0 || lf < end) {
		end, sep = lf, 2
	}
	if end < 0 {
		return nil, last || len(buf) >= maxCheckBuf
	}
	head, body := buf[:end], buf[end+sep:]
	full := last || len(buf) >= maxCheckBuf
	cl, chunked := -1, false
	for _, l := range bytes.Split(head, []byte("\n")) {
		name, value, ok := bytes.Cut(bytes.TrimRight(l, "\r"), []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("content-length")):
			if n, err := strconv.Atoi(string(value)); err == nil {
				cl = n
			}
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		}
	}
	switch {
	case chunked:
		dec, done := dechunk(body)
		return dec, done || full
	case cl >= 0 && len(body) >= cl:
		return body[:cl], true
	}
	return body, full
}

// dechunk decodes a chunked body as far as it goes; done once the last
// chunk arrived.
func dechunk(b []byte) (out []byte, done bool) {
	for {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return out, false
		}
		sizeLine := bytes.TrimRight(b[:nl], "\r")
		if i := bytes.IndexByte(sizeLine, ';'); i >= 0 {
			sizeLine = sizeLine[:i]
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(sizeLine)), 16, 32)
		if err != nil || n < 0 {
			return out, true // malformed: judge what there is
		}
		b = b[nl+1:]
		if n == 0 {
			return out, true
		}
		if int64(len(b)) < n {
			return append(out, b...), false
		}
		out = append(out, b[:n]...)
		b = bytes.TrimPrefix(bytes.TrimPrefix(b[n:], []byte("\r")), []byte("\n"))
	}
}

// parseStatusLine reads "HTTP/1.x NNN reason" and returns NNN.
func parseStatusLine(line string) (int, bool) {
	line = strings.TrimRight(line, "\r\n")
	proto, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/") || len(rest) < 3 {
		return 0, false
	}
	if len(rest) > 3 && rest[3] != ' ' {
		return 0, false
	}
	code := 0
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return 0, false
	}
	return code, true
}

// maxQuoted bounds how much of what was read a result shows.
const maxQuoted = 64

// quote shows read bytes in a result: Go-quoted, at most maxQuoted bytes.
func quote(b []byte) string {
	if len(b) > maxQuoted {
		return strconv.Quote(string(b[:maxQuoted])) + "..."
	}
	return strconv.Quote(string(b))
}
