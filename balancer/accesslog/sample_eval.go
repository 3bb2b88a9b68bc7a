package accesslog

import (
	"encoding/binary"
	"strconv"
)

// value is a fetched sample: bytes, an integer or an address, or none.
type value struct {
	b     []byte
	s     string
	n     int64
	isInt bool
	ok    bool
}

// appendSample writes a %[...] node: the fetched value through its
// converters, then as HAProxy's lf_text_len writes strings (Q, E, and "-"
// for none or empty under M).
func (p *Program) appendSample(dst []byte, n *node, r *Record) []byte {
	q := n.opts&optQuote != 0
	if q {
		dst = append(dst, '"')
	}
	var num [24]byte
	v := p.fetch(n.smp, r, num[:0])
	start := len(dst)
	if v.ok {
		if v.isInt && hasHex(n.smp.convs) {
			var bin [8]byte
			binary.BigEndian.PutUint64(bin[:], uint64(v.n))
			v.b = bin[:]
			for _, c := range v.b {
				dst = convert(dst, c, n.smp.convs, n.opts)
			}
		} else {
			if v.isInt {
				v.b = strconv.AppendInt(num[:0], v.n, 10)
			}
			for _, c := range v.b {
				dst = convert(dst, c, n.smp.convs, n.opts)
			}
			for i := 0; i < len(v.s); i++ {
				dst = convert(dst, v.s[i], n.smp.convs, n.opts)
			}
		}
	}
	if len(dst) == start && n.opts&(optQuote|optMandatory) == optMandatory {
		dst = append(dst, '-')
	}
	if q {
		dst = append(dst, '"')
	}
	return dst
}

func hasHex(cs []converter) bool {
	for _, c := range cs {
		if c == cHex {
			return true
		}
	}
	return false
}

// convert passes one byte through the converter chain, then writes it as
// text.
func convert(dst []byte, c byte, cs []converter, o opt) []byte {
	if len(cs) == 0 {
		return appendTextByte(dst, c, o)
	}
	switch cs[0] {
	case cLower:
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
	case cUpper:
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
	case cHex:
		dst = convert(dst, hexDigits[c>>4], cs[1:], o)
		return convert(dst, hexDigits[c&15], cs[1:], o)
	}
	return convert(dst, c, cs[1:], o)
}

// fetch reads one sample from r; num is scratch space for addresses.
func (p *Program) fetch(s *sample, r *Record, num []byte) value {
	str := func(v string) value { return value{s: v, ok: v != ""} }
	byts := func(v []byte) value { return value{b: v, ok: v != nil} }
	integer := func(n int64) value { return value{n: n, isInt: true, ok: true} }
	boolean := func(b bool) value {
		if b {
			return integer(1)
		}
		return integer(0)
	}
	switch s.fetch {
	case fSrc:
		if r.ClientAddr.IsValid() {
			return byts(r.ClientAddr.Addr().Unmap().AppendTo(num))
		}
	case fSrcPort:
		if r.ClientAddr.IsValid() {
			return integer(int64(r.ClientAddr.Port()))
		}
	case fDst:
		if r.FrontendAddr.IsValid() {
			return byts(r.FrontendAddr.Addr().Unmap().AppendTo(num))
		}
	case fDstPort:
		if r.FrontendAddr.IsValid() {
			return integer(int64(r.FrontendAddr.Port()))
		}
	case fFeName:
		return str(r.FrontendName)
	case fBeName:
		return str(r.BackendName)
	case fSrvName:
		return str(r.ServerName)
	case fStatus:
		if r.Status > 0 {
			return integer(int64(r.Status))
		}
	case fMethod:
		return byts(requestPartOrNil(kMethod, r.RequestLine))
	case fPath:
		return byts(requestPartOrNil(kPath, r.RequestLine))
	case fURL:
		return byts(requestPartOrNil(kURI, r.RequestLine))
	case fQuery:
		if q := requestPartOrNil(kQuery, r.RequestLine); len(q) > 1 {
			return byts(q[1:])
		}
	case fReqVer:
		if v := requestPartOrNil(kVersion, r.RequestLine); len(v) > 5 {
			return byts(v[5:]) // "HTTP/1.1" → "1.1"
		}
	case fReqHdr, fCapReq:
		if s.idx < len(r.ReqCaptures) {
			return byts(cut(r.ReqCaptures[s.idx], p.reqHdrs[s.idx].Len))
		}
	case fResHdr, fCapRes:
		if s.idx < len(r.ResCaptures) {
			return byts(cut(r.ResCaptures[s.idx], p.resHdrs[s.idx].Len))
		}
	case fSSLFc:
		return boolean(r.TLS)
	case fSNI:
		return str(r.SNI)
	case fSSLProt:
		return str(r.TLSVersion)
	case fSSLCiph:
		return str(r.TLSCipher)
	case fResumed:
		if r.TLS {
			return boolean(r.TLSResumed)
		}
	case fZeroTLS:
		return integer(0)
	case fTLSErr:
		if r.TLS {
			return integer(0)
		}
	case fUniqueID:
		return byts(r.UniqueID)
	case fHostname:
		return str(r.Hostname)
	}
	return value{}
}

// requestPartOrNil is requestPart for fetches: none when there is no
// request line (fetches fail where variables log <BADREQ>).
func requestPartOrNil(k kind, line []byte) []byte {
	if line == nil {
		return nil
	}
	b := requestPart(k, line)
	if len(b) > 0 && &b[0] == &badReq[0] {
		return nil
	}
	return b
}
