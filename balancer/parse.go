package balancer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Limits of a request or response head.
const (
	maxHeadBytes   = 64 << 10
	maxHeaderLines = 200
)

var (
	errHeadTooLarge = errors.New("header too large")
	errMalformed    = errors.New("malformed HTTP message")
	errBadFraming   = errors.New("invalid Content-Length or Transfer-Encoding")
)

// hdr is one header field; both slices point into head.buf.
type hdr struct{ name, value []byte }

// head is a parsed request or response head. Its buffers are reused.
type head struct {
	buf   []byte
	offs  []int // start, end of each line in buf (line terminator excluded)
	first [3][]byte
	hdrs  []hdr

	// Interpreted framing and connection management.
	contentLength int64 // -1: none given
	chunked       bool
	connClose     bool
	connKeepAlive bool
	connUpgrade   bool
	upgrade       []byte
	connTokens    [][]byte // other header names listed in Connection
	expect100     bool
	hasHost       bool
}

// read reads a head from br. It returns io.EOF when the peer closed before
// sending a byte.
func (h *head) read(br *bufio.Reader) error {
	h.buf, h.offs, h.hdrs, h.connTokens = h.buf[:0], h.offs[:0], h.hdrs[:0], h.connTokens[:0]
	for {
		start := len(h.buf)
		for {
			line, err := br.ReadSlice('\n')
			h.buf = append(h.buf, line...)
			if len(h.buf) > maxHeadBytes {
				return errHeadTooLarge
			}
			if err == nil {
				break
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF && len(h.buf) > 0 {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		end := len(h.buf) - 1
		if end > start && h.buf[end-1] == '\r' {
			end--
		}
		if end == start {
			if len(h.offs) == 0 {
				h.buf = h.buf[:0] // tolerate empty lines before the start line
				continue
			}
			break
		}
		if len(h.offs) >= 2*maxHeaderLines {
			return errHeadTooLarge
		}
		h.offs = append(h.offs, start, end)
	}
	return h.parse()
}

// size is the number of bytes the head took on the wire (approximately).
func (h *head) size() int { return len(h.buf) }

func (h *head) parse() error {
	line := h.buf[h.offs[0]:h.offs[1]]
	i := bytes.IndexByte(line, ' ')
	if i <= 0 {
		return errMalformed
	}
	h.first[0] = line[:i]
	rest := line[i+1:]
	j := bytes.IndexByte(rest, ' ')
	if j < 0 {
		h.first[1], h.first[2] = rest, nil
	} else {
		h.first[1], h.first[2] = rest[:j], rest[j+1:]
	}
	for k := 2; k < len(h.offs); k += 2 {
		l := h.buf[h.offs[k]:h.offs[k+1]]
		if l[0] == ' ' || l[0] == '\t' {
			return errMalformed // obsolete line folding
		}
		c := bytes.IndexByte(l, ':')
		if c <= 0 || !isToken(l[:c]) {
			return errMalformed
		}
		h.hdrs = append(h.hdrs, hdr{name: l[:c], value: trimOWS(l[c+1:])})
	}
	return nil
}

// interpret derives framing and connection options from the headers.
func (h *head) interpret() error {
	h.contentLength, h.chunked = -1, false
	h.connClose, h.connKeepAlive, h.connUpgrade, h.expect100 = false, false, false, false
	h.upgrade, h.hasHost = nil, false
	for _, f := range h.hdrs {
		switch {
		case eqFold(f.name, "content-length"):
			n, ok := parseLength(f.value)
			if !ok || (h.contentLength >= 0 && h.contentLength != n) {
				return errBadFraming
			}
			h.contentLength = n
		case eqFold(f.name, "transfer-encoding"):
			if !lastTokenIs(f.value, "chunked") {
				return errBadFraming
			}
			h.chunked = true
		case eqFold(f.name, "connection"):
			forTokens(f.value, func(t []byte) {
				switch {
				case eqFold(t, "close"):
					h.connClose = true
				case eqFold(t, "keep-alive"):
					h.connKeepAlive = true
				case eqFold(t, "upgrade"):
					h.connUpgrade = true
				default:
					h.connTokens = append(h.connTokens, t)
				}
			})
		case eqFold(f.name, "upgrade"):
			h.upgrade = f.value
		case eqFold(f.name, "host"):
			h.hasHost = true
		case eqFold(f.name, "expect"):
			h.expect100 = eqFold(f.value, "100-continue")
		}
	}
	if h.chunked {
		h.contentLength = -1 // Transfer-Encoding overrides Content-Length
	}
	return nil
}

// hopByHop reports whether a header must not be forwarded: the fixed
// hop-by-hop set, the framing headers (regenerated) and the names listed in
// Connection.
func (h *head) hopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return eqFold(name, "te")
	case 7:
		// Trailer is end-to-end (RFC 9110 §6.6.2): the fields it
		// announces are forwarded with a chunked body.
		return eqFold(name, "upgrade")
	case 10:
		if eqFold(name, "connection") || eqFold(name, "keep-alive") {
			return true
		}
	case 14:
		if eqFold(name, "content-length") {
			return true
		}
	case 16:
		if eqFold(name, "proxy-connection") {
			return true
		}
	case 17:
		if eqFold(name, "transfer-encoding") {
			return true
		}
	}
	for _, t := range h.connTokens {
		if bytes.EqualFold(t, name) {
			return true
		}
	}
	return false
}

// get returns the first value of a header, or nil.
func (h *head) get(lower string) []byte {
	for _, f := range h.hdrs {
		if eqFold(f.name, lower) {
			return f.value
		}
	}
	return nil
}

// eqFold compares b with lower, an ASCII lower-case string, ignoring case.
func eqFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// forTokens calls f with each non-empty comma-separated token of v.
func forTokens(v []byte, f func([]byte)) {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		var t []byte
		if i < 0 {
			t, v = v, nil
		} else {
			t, v = v[:i], v[i+1:]
		}
		if t = trimOWS(t); len(t) > 0 {
			f(t)
		}
	}
}

func lastTokenIs(v []byte, lower string) bool {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return eqFold(trimOWS(v), lower)
}

func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// isToken reports whether b is an RFC 9110 token (a valid header name).
func isToken(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || !tokenChars[c] {
			return false
		}
	}
	return len(b) > 0
}

var tokenChars = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
