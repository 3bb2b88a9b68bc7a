package rules

import (
	"strconv"

	crules "github.com/tandem-lb/tandem/config/rules"
)

const hexDigits = "0123456789ABCDEF"

// part is one evaluated piece of a log-format; encode marks sample values.
type part struct {
	b      []byte
	encode bool
}

// render evaluates a log-format into the arena (log.c build_logline with
// LOG_OPT_HTTP, as rules use it): a sample that is not found writes
// nothing; in sample values, bytes that cannot appear in a header value
// (0x00-0x08, 0x0a-0x1f, 0x7f) are written %XX (log.c http_encode_map);
// %{+Q} quotes variables (HAProxy ignores it on samples in rules).
func (s *State) render(f *lformat) []byte {
	if f == nil {
		return nil
	}
	if f.isStat {
		return f.static
	}
	// Evaluating a sample may use the arena: collect the pieces first,
	// then write them out in one place.
	base := len(s.buf.parts)
	for i := range f.nodes {
		n := &f.nodes[i]
		switch {
		case n.e != nil:
			var smp sample
			if s.eval(n.e, &iter{}, &smp) && s.cast(&smp, crules.TypeStr) {
				s.buf.parts = append(s.buf.parts, part{b: smp.b, encode: true})
			}
		case n.v != crules.LFNone:
			if n.quote {
				s.buf.parts = append(s.buf.parts, part{b: quote})
			}
			s.buf.parts = append(s.buf.parts, part{b: s.formatVar(n.v)})
			if n.quote {
				s.buf.parts = append(s.buf.parts, part{b: quote})
			}
		default:
			s.buf.parts = append(s.buf.parts, part{b: n.lit})
		}
	}
	parts := s.buf.parts[base:]
	total := 0
	for _, p := range parts {
		total += len(p.b)
		if p.encode {
			for _, c := range p.b {
				if mustEncode(c) {
					total += 2
				}
			}
		}
	}
	out := s.alloc(total)[:0]
	for _, p := range parts {
		if !p.encode {
			out = append(out, p.b...)
			continue
		}
		for _, c := range p.b {
			if mustEncode(c) {
				out = append(out, '%', hexDigits[c>>4], hexDigits[c&15])
			} else {
				out = append(out, c)
			}
		}
	}
	clear(parts)
	s.buf.parts = s.buf.parts[:base]
	return out
}

func mustEncode(c byte) bool { return c <= 0x08 || c >= 0x0a && c <= 0x1f || c == 0x7f }

// formatVar writes a log-format variable (configuration.txt 8.2.4).
func (s *State) formatVar(v crules.LFVar) []byte {
	in := &s.In
	switch v {
	case crules.LFClientIP, crules.LFClientPort, crules.LFFrontendIP, crules.LFFrontendPort:
		if in.Conn == nil {
			return nil
		}
		src, dst := in.Conn.Addrs()
		ap := src
		if v == crules.LFFrontendIP || v == crules.LFFrontendPort {
			ap = dst
		}
		if v == crules.LFClientIP || v == crules.LFFrontendIP {
			return ap.Addr().Unmap().AppendTo(s.alloc(46)[:0])
		}
		return strconv.AppendUint(s.alloc(5)[:0], uint64(ap.Port()), 10)
	case crules.LFFrontend:
		if s.fe != nil {
			return s.fe.nameB
		}
	case crules.LFFrontendTransport:
		if s.fe == nil {
			return nil
		}
		if in.Conn != nil {
			if _, tls := in.Conn.TLS(); tls {
				return s.concat(s.fe.nameB, tilde)
			}
		}
		return s.fe.nameB
	case crules.LFBackend:
		if in.Backend >= 0 {
			return s.prog.backends[in.Backend].nameB
		}
	case crules.LFServer:
		smp, _ := s.serverName()
		return smp.b
	case crules.LFStatus:
		if in.Res != nil {
			return strconv.AppendInt(s.alloc(20)[:0], int64(in.Res.Status()), 10)
		}
	default:
		return s.requestVar(v)
	}
	return nil
}

var tilde = []byte("~")

func (s *State) requestVar(v crules.LFVar) []byte {
	if s.In.Req == nil {
		return nil
	}
	method, target, version := s.In.Req.Line()
	switch v {
	case crules.LFMethod:
		return method
	case crules.LFURI:
		return target
	case crules.LFPath:
		p, _ := pathOnly(target)
		return p
	case crules.LFQuery:
		if q, ok := queryOf(target); ok {
			return s.concat(questionMark, q)
		}
	case crules.LFVersion:
		return version
	}
	return nil
}
