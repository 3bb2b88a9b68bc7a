package rules

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"time"

	crules "github.com/tandem-lb/tandem/config/rules"
)

// convert applies one converter (configuration.txt 7.3.1).
func (s *State) convert(c *conv, smp *sample) bool {
	if !s.cast(smp, c.in) {
		return false
	}
	if done, ok := s.convString(c, smp); done {
		return ok
	}
	switch c.id {
	case crules.ConvMap:
		return s.convMap(c, smp)
	case crules.ConvLength:
		*smp = intSample(int64(len(smp.b)))
	case crules.ConvBytes:
		return convBytes(c, smp)
	case crules.ConvField, crules.ConvWord:
		return convField(c, smp)
	case crules.ConvIPMask:
		return convIPMask(c, smp)
	case crules.ConvHTTPDate:
		*smp = strSample(httpDate(s, c, smp.i))
	case crules.ConvPortOnly:
		_, p := splitHostPort(smp.b)
		n, _ := parseLeadingInt(p, false)
		*smp = intSample(n)
	case crules.ConvIif:
		v := c.args[1].s
		if smp.i != 0 {
			v = c.args[0].s
		}
		*smp = strSample(v)
	case crules.ConvStrcmp:
		other, ok := s.varValue(c.args[0])
		if !ok || !s.cast(&other, crules.TypeStr) {
			return false
		}
		*smp = intSample(int64(bytes.Compare(smp.b, other.b)))
	case crules.ConvSetVar:
		s.setVar(c.args[0].slot, c.args[0].scope, *smp)
	case crules.ConvUnsetVar:
		s.unsetVar(c.args[0].slot, c.args[0].scope)
	default:
		return s.convArith(c, smp)
	}
	return true
}

// convString applies the converters that write new bytes; done is false
// for the other converters.
func (s *State) convString(c *conv, smp *sample) (done, ok bool) {
	switch c.id {
	case crules.ConvLower, crules.ConvUpper:
		out := s.alloc(len(smp.b))
		for i, ch := range smp.b {
			if c.id == crules.ConvLower && ch >= 'A' && ch <= 'Z' {
				ch += 'a' - 'A'
			} else if c.id == crules.ConvUpper && ch >= 'a' && ch <= 'z' {
				ch -= 'a' - 'A'
			}
			out[i] = ch
		}
		smp.b = out
	case crules.ConvBase64:
		out := s.alloc(base64.StdEncoding.EncodedLen(len(smp.b)))
		base64.StdEncoding.Encode(out, smp.b)
		smp.b = out
	case crules.ConvB64Dec:
		out := s.alloc(base64.StdEncoding.DecodedLen(len(smp.b)))
		n, err := base64.StdEncoding.Decode(out, smp.b)
		if err != nil {
			return true, false
		}
		smp.b = out[:n]
	case crules.ConvHex:
		out := s.alloc(2 * len(smp.b)) // HAProxy writes upper-case hex
		for i, ch := range smp.b {
			out[2*i], out[2*i+1] = hexDigits[ch>>4], hexDigits[ch&15]
		}
		smp.b = out
	case crules.ConvRegsub:
		return true, s.convRegsub(c, smp)
	case crules.ConvConcat:
		return true, s.convConcat(c, smp)
	case crules.ConvLtrim:
		smp.b = bytes.TrimLeft(smp.b, c.args[0].str)
	case crules.ConvRtrim:
		smp.b = bytes.TrimRight(smp.b, c.args[0].str)
	case crules.ConvURLDec:
		smp.b = s.urlDecode(smp.b, len(c.args) > 0 && c.args[0].i != 0)
	case crules.ConvHostOnly:
		// The host without its port, lower-cased (configuration.txt 7.3.1).
		h, _ := splitHostPort(smp.b)
		smp.b = keyBytes(s, strSample(h), true)
	default:
		return false, false
	}
	return true, true
}

// convArith implements the integer converters; a variable argument that
// is not set makes the conversion fail.
func (s *State) convArith(c *conv, smp *sample) bool {
	var x int64
	if len(c.args) > 0 {
		a := c.args[0]
		x = a.i
		if a.isVar {
			v, ok := s.varValue(a)
			if !ok || !toInt(&v) {
				return false
			}
			x = v.i
		}
	}
	n := smp.i
	switch c.id {
	case crules.ConvAdd:
		n += x
	case crules.ConvSub:
		n -= x
	case crules.ConvMul:
		n *= x
	case crules.ConvDiv:
		if x == 0 {
			n = 1<<63 - 1 // HAProxy: division by zero gives the largest value
		} else {
			n /= x
		}
	case crules.ConvMod:
		if x == 0 {
			n = 0
		} else {
			n %= x
		}
	case crules.ConvAnd:
		n &= x
	case crules.ConvOr:
		n |= x
	case crules.ConvXor:
		n ^= x
	case crules.ConvNeg:
		n = -n
	case crules.ConvCpl:
		n = ^n
	case crules.ConvBool:
		*smp = boolSample(n != 0)
		return true
	case crules.ConvNot:
		*smp = boolSample(n == 0)
		return true
	case crules.ConvOdd:
		*smp = boolSample(n&1 == 1)
		return true
	case crules.ConvEven:
		*smp = boolSample(n&1 == 0)
		return true
	default:
		return false
	}
	*smp = intSample(n)
	return true
}

func (s *State) varValue(a arg) (sample, bool) {
	v, ok := s.getVar(a.slot, a.scope)
	if !ok {
		return sample{}, false
	}
	return sample{t: v.t, b: v.b, i: v.i, a: v.a}, true
}

func convBytes(c *conv, smp *sample) bool {
	off := c.args[0].i
	if off < 0 || off >= int64(len(smp.b)) {
		return false
	}
	end := int64(len(smp.b))
	if len(c.args) > 1 && c.args[1].i > 0 && off+c.args[1].i < end {
		end = off + c.args[1].i
	}
	smp.b = smp.b[off:end]
	return true
}

// convField implements field() and word() (sample.c sample_conv_field
// and sample_conv_word): a 1-based index, negative from the end; count
// fields (0: to the end). word() skips empty fields.
func convField(c *conv, smp *sample) bool {
	idx, delims := c.args[0].i, c.args[1].s
	count := int64(1)
	if len(c.args) > 2 {
		count = c.args[2].i
	}
	isDelim := func(ch byte) bool { return bytes.IndexByte(delims, ch) >= 0 }
	// Split into fields (word: non-empty only).
	var starts, ends [64]int
	n := 0
	b := smp.b
	i := 0
	for n < len(starts) {
		j := i
		for j < len(b) && !isDelim(b[j]) {
			j++
		}
		if c.id == crules.ConvField || j > i {
			starts[n], ends[n] = i, j
			n++
		}
		if j >= len(b) {
			break
		}
		i = j + 1
	}
	if idx == 0 || n == 0 {
		return false
	}
	first := idx - 1
	if idx < 0 {
		first = int64(n) + idx
		if count > 0 {
			first = first - count + 1
		}
	}
	if first < 0 {
		if idx < 0 {
			first = 0
		} else {
			return false
		}
	}
	if first >= int64(n) {
		smp.b = smp.b[:0]
		return true
	}
	last := int64(n) - 1
	if count > 0 && first+count-1 < last {
		last = first + count - 1
	}
	smp.b = b[starts[first]:ends[last]]
	return true
}

func convIPMask(c *conv, smp *sample) bool {
	if smp.a.Is4() {
		p, err := smp.a.Prefix(int(c.args[0].i))
		if err != nil {
			return false
		}
		smp.a = p.Addr()
		return true
	}
	if len(c.args) < 2 {
		return false
	}
	p, err := smp.a.Prefix(int(c.args[1].i))
	if err != nil {
		return false
	}
	smp.a = p.Addr()
	return true
}

func (s *State) convConcat(c *conv, smp *sample) bool {
	var parts [4][]byte
	parts[0] = smp.b
	if len(c.args) > 0 {
		parts[1] = c.args[0].s
	}
	if len(c.args) > 1 && c.args[1].isVar {
		v, ok := s.varValue(c.args[1])
		if ok && s.cast(&v, crules.TypeStr) {
			parts[2] = v.b
		}
	}
	if len(c.args) > 2 {
		parts[3] = c.args[2].s
	}
	smp.b = s.concat(parts[:]...)
	return true
}

// urlDecode percent-decodes into the arena; plus turns '+' into ' '.
func (s *State) urlDecode(b []byte, plus bool) []byte {
	out := s.alloc(len(b))[:0]
	for i := 0; i < len(b); i++ {
		switch ch := b[i]; {
		case ch == '%' && i+2 < len(b) && isHexByte(b[i+1]) && isHexByte(b[i+2]):
			out = append(out, unhexByte(b[i+1])<<4|unhexByte(b[i+2]))
			i += 2
		case ch == '+' && plus:
			out = append(out, ' ')
		default:
			out = append(out, ch)
		}
	}
	return out
}

func isHexByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhexByte(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// splitHostPort splits "host:port", "[v6]:port" or "host".
func splitHostPort(b []byte) (host, port []byte) {
	if len(b) > 0 && b[0] == '[' {
		end := bytes.IndexByte(b, ']')
		if end < 0 {
			return b, nil
		}
		if end+1 < len(b) && b[end+1] == ':' {
			return b[:end+1], b[end+2:]
		}
		return b[:end+1], nil
	}
	if i := bytes.LastIndexByte(b, ':'); i >= 0 && bytes.IndexByte(b[:i], ':') < 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// convRegsub replaces the regex's matches (the first, or all with the g
// flag) by the replacement with \N expanded (sample.c sample_conv_regsub).
func (s *State) convRegsub(c *conv, smp *sample) bool {
	src := smp.b
	out := s.alloc(len(src) + len(c.tmpl))[:0]
	pos := 0
	for pos <= len(src) {
		m := c.re.FindSubmatchIndex(src[pos:])
		if m == nil {
			break
		}
		for i := range m {
			if m[i] >= 0 {
				m[i] += pos
			}
		}
		out = append(out, src[pos:m[0]]...)
		rep, ok := s.expReplace(src, c.tmpl, m)
		if !ok {
			return false
		}
		out = append(out, rep...)
		if m[1] == m[0] { // an empty match: keep one byte and go on
			if m[1] < len(src) {
				out = append(out, src[m[1]])
			}
			pos = m[1] + 1
		} else {
			pos = m[1]
		}
		if !c.global {
			break
		}
	}
	if pos < len(src) {
		out = append(out, src[pos:]...)
	}
	smp.b = s.concat(out)
	return true
}

// httpDate formats an epoch (in the converter's unit, plus its offset) as
// an HTTP date, "Tue, 01 Dec 2026 09:45:23 GMT"; with the ms or us unit
// HAProxy adds the fraction unpadded, ".250" (configuration.txt 7.3.1
// "http_date", http_conv.c sample_conv_http_date).
func httpDate(s *State, c *conv, n int64) []byte {
	if len(c.args) > 0 {
		n += c.args[0].i
	}
	frac, unit := int64(-1), ""
	if len(c.args) > 1 {
		unit = c.args[1].str
	}
	switch unit {
	case "ms":
		frac, n = n%1000, n/1000
	case "us":
		frac, n = n%1000000, n/1000000
	}
	out := time.Unix(n&0x007fffffffffffff, 0).UTC().AppendFormat(s.alloc(40)[:0], "Mon, 02 Jan 2006 15:04:05")
	if frac >= 0 {
		out = strconv.AppendInt(append(out, '.'), frac, 10)
	}
	return append(out, " GMT"...)
}
