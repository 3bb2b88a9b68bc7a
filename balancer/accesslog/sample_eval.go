package accesslog

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// value is a fetched sample: bytes, an integer or an address, or none.
type value struct {
	addr  netip.Addr
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
	v := p.fetch(n.smp, r)
	start := len(dst)
	if v.ok {
		var bin [16]byte
		switch {
		case v.isInt && hasHex(n.smp.convs):
			binary.BigEndian.PutUint64(bin[:8], uint64(v.n)) // HAProxy's int to binary cast
			for _, c := range bin[:8] {
				dst = convert(dst, c, n.smp.convs, n.opts)
			}
		case v.addr.IsValid() && hasHex(n.smp.convs):
			b := bin[:4]
			if v.addr.Is4() {
				a4 := v.addr.As4()
				copy(b, a4[:])
			} else {
				a16 := v.addr.As16()
				b = bin[:16]
				copy(b, a16[:])
			}
			for _, c := range b {
				dst = convert(dst, c, n.smp.convs, n.opts)
			}
		default:
			if v.addr.IsValid() {
				v.b = v.addr.AppendTo(num[:0])
			}
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

// fetch reads one sample from r.
func (p *Program) fetch(s *sample, r *Record) value {
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
			return value{addr: r.ClientAddr.Addr().Unmap(), ok: true}
		}
	case fSrcPort:
		if r.ClientAddr.IsValid() {
			return integer(int64(r.ClientAddr.Port()))
		}
	case fDst:
		if r.FrontendAddr.IsValid() {
			return value{addr: r.FrontendAddr.Addr().Unmap(), ok: true}
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
	case fMethod:
		return byts(requestPartOrNil(kMethod, r.RequestLine))
	case fCapReq:
		if s.idx < len(r.ReqCaptures) {
			return byts(cut(r.ReqCaptures[s.idx], p.reqHdrs[s.idx].Len))
		}
	case fCapRes:
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
		return boolean(r.TLSResumed)
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
