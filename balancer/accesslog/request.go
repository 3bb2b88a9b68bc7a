package accesslog

import (
	"bytes"
	"time"
)

var (
	badReq = []byte("<BADREQ>")
	http09 = []byte("HTTP/0.9")
)

// appendRequestPart writes %r, %HM, %HU, %HP, %HPO, %HQ or %HV from the
// request line, splitting it as src/log.c does (on spaces and tabs).
func appendRequestPart(dst []byte, n *node, line []byte) []byte {
	q := n.opts&optQuote != 0
	if q {
		dst = append(dst, '"')
	}
	dst = appendEncoded(dst, requestPart(n.kind, line), false, n.opts)
	if q {
		dst = append(dst, '"')
	}
	return dst
}

func isSP(c byte) bool { return c == ' ' || c == '\t' }

// requestPart is the piece of the request line a variable logs.
func requestPart(k kind, line []byte) []byte {
	if line == nil {
		return badReq
	}
	if k == kRequest {
		return line
	}
	i := 0
	for i < len(line) && !isSP(line[i]) {
		i++
	}
	method := line[:i]
	spaces := 0
	for i < len(line) && isSP(line[i]) {
		i++
		spaces++
	}
	uriStart := i
	for i < len(line) && !isSP(line[i]) {
		i++
	}
	uri := line[uriStart:i]
	for i < len(line) && isSP(line[i]) {
		i++
	}
	switch k {
	case kMethod:
		if len(method) == len(line) {
			return badReq
		}
		return method
	case kQuery:
		if q := bytes.IndexByte(uri, '?'); q >= 0 {
			return uri[q:]
		}
		return nil
	}
	if spaces == 0 {
		return badReq
	}
	switch k {
	case kURI:
		return uri
	case kPath:
		if q := bytes.IndexByte(uri, '?'); q >= 0 {
			return uri[:q]
		}
		return uri
	case kPathOnly:
		return pathOnly(uri)
	case kVersion:
		if i == len(line) {
			return http09
		}
		return line[i:]
	}
	return nil
}

// pathOnly strips the scheme and authority of an absolute URI and the
// query (HAProxy's %HPO).
func pathOnly(uri []byte) []byte {
	if len(uri) > 0 && uri[0] != '/' && uri[0] != '*' {
		if s := bytes.Index(uri, []byte("://")); s >= 0 {
			rest := uri[s+3:]
			if p := bytes.IndexByte(rest, '/'); p >= 0 {
				uri = rest[p:]
			} else {
				uri = nil
			}
		}
	}
	if q := bytes.IndexByte(uri, '?'); q >= 0 {
		uri = uri[:q]
	}
	return uri
}

const months = "JanFebMarAprMayJunJulAugSepOctNovDec"

// appendDate writes HAProxy's %t date: 06/Feb/2009:12:14:14.655.
func appendDate(dst []byte, t time.Time) []byte {
	dst = appendDay(dst, t)
	dst = append(dst, '.')
	return appendPad(dst, t.Nanosecond()/1e6, 3)
}

// appendDateZone writes %T/%Tl: 06/Feb/2009:12:14:14 +0100.
func appendDateZone(dst []byte, t time.Time) []byte {
	dst = appendDay(dst, t)
	dst = append(dst, ' ')
	return appendZone(dst, t, "")
}

// appendZone writes t's offset from UTC as +hhmm, or +hh:mm with sep ":".
func appendZone(dst []byte, t time.Time, sep string) []byte {
	_, off := t.Zone()
	if off < 0 {
		dst = append(dst, '-')
		off = -off
	} else {
		dst = append(dst, '+')
	}
	dst = appendPad(dst, off/3600, 2)
	dst = append(dst, sep...)
	return appendPad(dst, off/60%60, 2)
}

func appendDay(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = appendPad(dst, d, 2)
	dst = append(dst, '/')
	dst = append(dst, months[3*(mo-1):3*mo]...)
	dst = append(dst, '/')
	dst = appendPad(dst, y, 4)
	dst = append(dst, ':')
	dst = appendPad(dst, h, 2)
	dst = append(dst, ':')
	dst = appendPad(dst, mi, 2)
	dst = append(dst, ':')
	return appendPad(dst, s, 2)
}

// appendPad appends n (≥ 0) zero-padded to width digits.
func appendPad(dst []byte, n, width int) []byte {
	var d [20]byte
	i := len(d)
	for (n > 0 || width > 0) && i > 0 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	return append(dst, d[i:]...)
}
