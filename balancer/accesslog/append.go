package accesslog

import (
	"net/netip"
	"strconv"
	"time"
)

const hexDigits = "0123456789ABCDEF"

// Append formats r as one log line (without a line feed) and appends it
// to dst. It allocates nothing beyond growing dst.
func (p *Program) Append(dst []byte, r *Record) []byte {
	t := timersOf(r)
	space := true // HAProxy's last_isspace: a separator after nothing, or a space, is dropped
	for i := range p.nodes {
		n := &p.nodes[i]
		if n.kind == kSep {
			if !space {
				dst = append(dst, ' ')
				space = true
			}
			continue
		}
		before := len(dst)
		dst = p.appendNode(dst, n, r, &t)
		if len(dst) != before || emitsAlways(n.kind) {
			space = false
		}
	}
	return dst
}

// emitsAlways tells the nodes that count as written even when empty
// (HAProxy clears last_isspace for every variable except the header
// captures of a frontend that has none).
func emitsAlways(k kind) bool {
	switch k {
	case kReqHeaders, kReqHdrList, kResHeaders, kResHdrList:
		return false
	}
	return true
}

// timers are the request's steps in whole milliseconds since Accept
// (HAProxy's strm_logs: t_request, t_queue, t_connect, t_data, t_close;
// -1: not reached), with Th and Ti.
type timers struct {
	req, queue, connect, data, close, th, ti int64
}

func timersOf(r *Record) timers {
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return -1
		}
		return max(t.Sub(r.Accept).Milliseconds(), 0)
	}
	return timers{
		req: ms(r.HeadDone), queue: ms(r.Queued), connect: ms(r.Connected),
		data: ms(r.Response), close: max(ms(r.End), 0),
		th: r.Handshake.Milliseconds(), ti: r.Idle.Milliseconds(),
	}
}

// orMinus returns v when ok, else -1 (a timer never reached).
func orMinus(ok bool, v int64) int64 {
	if ok {
		return v
	}
	return -1
}

func (p *Program) appendNode(dst []byte, n *node, r *Record, t *timers) []byte {
	switch n.kind {
	case kText:
		return append(dst, n.text...)
	case kSample:
		return p.appendSample(dst, n, r)
	case kClientIP:
		return appendIP(dst, r.ClientAddr, n.opts)
	case kClientPort:
		return appendPort(dst, r.ClientAddr, n.opts)
	case kFrontendIP:
		return appendIP(dst, r.FrontendAddr, n.opts)
	case kFrontendPort:
		return appendPort(dst, r.FrontendAddr, n.opts)
	case kServerIP:
		return appendIP(dst, r.ServerAddr, n.opts)
	case kServerPort:
		return appendPort(dst, r.ServerAddr, n.opts)
	case kBackendIP, kBackendPort:
		return appendText(dst, "", n.opts) // the server connection's source is not recorded
	case kDate:
		return appendDate(dst, r.Accept)
	case kReqDate:
		return appendDate(dst, requestStart(r))
	case kDateGMT:
		return appendDateZone(dst, r.Accept.UTC())
	case kReqDateGMT:
		return appendDateZone(dst, requestStart(r).UTC())
	case kDateLocal:
		return appendDateZone(dst, r.Accept)
	case kReqDateLocal:
		return appendDateZone(dst, requestStart(r))
	case kTs:
		return appendUint(dst, uint64(r.Accept.Unix()), n.opts, 4)
	case kMillis:
		if n.opts&optHex != 0 {
			return appendHex(dst, uint64(r.Accept.Nanosecond()/1e6), 2)
		}
		return appendPad(dst, r.Accept.Nanosecond()/1e6, 3)
	case kFrontend:
		return appendText(dst, r.FrontendName, n.opts)
	case kFrontendXprt:
		return appendXprt(dst, r, n.opts)
	case kBackend:
		return appendText(dst, r.BackendName, n.opts)
	case kServer:
		if r.ServerName == "" {
			return appendText(dst, "<NOSRV>", n.opts)
		}
		return appendText(dst, r.ServerName, n.opts)
	case kSSLCipher:
		return appendText(dst, r.TLSCipher, n.opts)
	case kSSLVersion:
		return appendText(dst, r.TLSVersion, n.opts)
	case kHostname:
		return appendText(dst, r.Hostname, n.opts)
	case kMode:
		if r.HTTP {
			return append(dst, "HTTP"...)
		}
		return append(dst, "TCP"...)
	}
	return p.appendMore(dst, n, r, t)
}

// appendMore handles the timers, counters and HTTP variables.
func (p *Program) appendMore(dst []byte, n *node, r *Record, t *timers) []byte {
	switch n.kind {
	case kTh:
		return strconv.AppendInt(dst, t.th, 10)
	case kTi:
		return strconv.AppendInt(dst, t.ti, 10)
	case kTR:
		return strconv.AppendInt(dst, orMinus(t.req >= 0, t.req-t.ti-t.th), 10)
	case kTq:
		return strconv.AppendInt(dst, t.req, 10)
	case kTw:
		return strconv.AppendInt(dst, orMinus(t.queue >= 0, t.queue-t.req), 10)
	case kTc:
		return strconv.AppendInt(dst, orMinus(t.connect >= 0, t.connect-t.queue), 10)
	case kTr:
		return strconv.AppendInt(dst, orMinus(t.data >= 0, t.data-t.connect), 10)
	case kTd:
		if r.HTTP {
			return strconv.AppendInt(dst, orMinus(t.data >= 0, t.close-t.data), 10)
		}
		return strconv.AppendInt(dst, orMinus(t.connect >= 0, t.close-t.connect), 10)
	case kTa:
		return strconv.AppendInt(dst, t.close-max(t.ti, 0)-t.th, 10)
	case kTt:
		return strconv.AppendInt(dst, t.close, 10)
	case kTu:
		return strconv.AppendInt(dst, t.close-max(t.ti, 0), 10)
	case kStatus:
		return strconv.AppendInt(dst, int64(r.Status), 10)
	case kBytesOut:
		return strconv.AppendInt(dst, r.BytesOut, 10)
	case kBytesIn:
		return strconv.AppendInt(dst, r.BytesIn, 10)
	case kReqCookie:
		return appendTextBytes(dst, r.ReqCookie, n.opts)
	case kResCookie:
		return appendTextBytes(dst, r.ResCookie, n.opts)
	case kTerm:
		return append(dst, termChar(r.Term[0]), termChar(r.Term[1]))
	case kTermCookie:
		return append(dst, termChar(r.Term[0]), termChar(r.Term[1]), termChar(r.Cookie[0]), termChar(r.Cookie[1]))
	case kActConn:
		return strconv.AppendInt(dst, r.ActConn, 10)
	case kFeConn:
		return strconv.AppendInt(dst, r.FeConn, 10)
	case kBeConn:
		return strconv.AppendInt(dst, r.BeConn, 10)
	case kSrvConn:
		return strconv.AppendInt(dst, r.SrvConn, 10)
	case kRetries:
		if r.Redispatched {
			dst = append(dst, '+')
		}
		return strconv.AppendInt(dst, int64(r.Retries), 10)
	case kSrvQueue:
		return strconv.AppendInt(dst, r.SrvQueue, 10)
	case kBackendQueue:
		return strconv.AppendInt(dst, r.BackendQueue, 10)
	case kReqCounter:
		return appendUint(dst, r.RequestCounter, n.opts, 4)
	case kLogCounter:
		return appendUint(dst, r.LogCounter, n.opts, 4)
	case kPID:
		return appendUint(dst, uint64(r.PID), n.opts, 4)
	case kUniqueID:
		return appendTextBytes(dst, r.UniqueID, n.opts)
	case kReqHeaders:
		return appendCaptures(dst, r.ReqCaptures, p.nReq, p.reqHdrs, n.opts)
	case kResHeaders:
		return appendCaptures(dst, r.ResCaptures, p.nRes, p.resHdrs, n.opts)
	case kReqHdrList:
		return appendCaptureList(dst, r.ReqCaptures, p.nReq, p.reqHdrs, n.opts)
	case kResHdrList:
		return appendCaptureList(dst, r.ResCaptures, p.nRes, p.resHdrs, n.opts)
	}
	return appendRequestPart(dst, n, r.RequestLine)
}

// requestStart is when the request's first byte arrived (%tr): the accept
// date plus Th and Ti.
func requestStart(r *Record) time.Time { return r.Accept.Add(r.Handshake + max(r.Idle, 0)) }

// termChar keeps a termination state printable ('-' for an unset one).
func termChar(c byte) byte {
	if c <= ' ' || c >= 0x7f {
		return '-'
	}
	return c
}

func appendXprt(dst []byte, r *Record, o opt) []byte {
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	dst = append(dst, r.FrontendName...)
	if r.TLS {
		dst = append(dst, '~')
	}
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	return dst
}

// appendText is HAProxy's lf_text: quoted with Q, escaped with E, "-" for
// an empty string with M (and without Q). Control bytes are written as
// #XX so that a line stays one line.
func appendText(dst []byte, s string, o opt) []byte {
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	if s == "" && o&(optQuote|optMandatory) == optMandatory {
		dst = append(dst, '-')
	}
	for i := 0; i < len(s); i++ {
		dst = appendTextByte(dst, s[i], o)
	}
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	return dst
}

func appendTextBytes(dst, s []byte, o opt) []byte {
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	if len(s) == 0 && o&(optQuote|optMandatory) == optMandatory {
		dst = append(dst, '-')
	}
	for _, c := range s {
		dst = appendTextByte(dst, c, o)
	}
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	return dst
}

func appendTextByte(dst []byte, c byte, o opt) []byte {
	switch {
	case c < 0x20 || c == 0x7f:
		return append(dst, '#', hexDigits[c>>4], hexDigits[c&15])
	case o&optEscape != 0 && (c == '"' || c == '\\' || c == ']'):
		return append(dst, '\\', c)
	}
	return append(dst, c)
}

// appendEncoded is HAProxy's lf_encode_string: bytes in the map (hdr:
// also '{', '|' and '}') become #XX; with E, '"', '\' and ']' get a '\'.
func appendEncoded(dst, s []byte, hdr bool, o opt) []byte {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '#' || hdr && (c == '{' || c == '|' || c == '}') {
			dst = append(dst, '#', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		if o&optEscape != 0 && (c == '\\' || c == ']') {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}

func appendIP(dst []byte, ap netip.AddrPort, o opt) []byte {
	if !ap.IsValid() {
		return appendText(dst, "", o)
	}
	a := ap.Addr().Unmap()
	if o&optHex != 0 {
		for _, b := range a.AsSlice() {
			dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
		}
		return dst
	}
	if o&optQuote != 0 {
		dst = append(dst, '"')
		return append(a.AppendTo(dst), '"')
	}
	return a.AppendTo(dst)
}

func appendPort(dst []byte, ap netip.AddrPort, o opt) []byte {
	if !ap.IsValid() {
		return appendText(dst, "", o)
	}
	if o&optHex != 0 {
		return appendHex(dst, uint64(ap.Port()), 4)
	}
	return strconv.AppendUint(dst, uint64(ap.Port()), 10)
}

// appendUint writes n in decimal, or with X as at least width upper-case
// hex digits (HAProxy's "%04X").
func appendUint(dst []byte, n uint64, o opt, width int) []byte {
	if o&optHex != 0 {
		return appendHex(dst, n, width)
	}
	return strconv.AppendUint(dst, n, 10)
}

func appendHex(dst []byte, n uint64, width int) []byte {
	var b [16]byte
	i := len(b)
	for n > 0 || width > 0 {
		i--
		b[i] = hexDigits[n&15]
		n >>= 4
		width--
	}
	return append(dst, b[i:]...)
}

// appendCaptures writes %hr/%hs: "{v1|v2}" over the declared captures,
// nothing at all when the frontend declares none.
func appendCaptures(dst []byte, vals [][]byte, n int, caps []Capture, o opt) []byte {
	if n == 0 {
		return dst
	}
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	dst = append(dst, '{')
	for i := 0; i < n; i++ {
		if i > 0 {
			dst = append(dst, '|')
		}
		if i < len(vals) {
			dst = appendEncoded(dst, cut(vals[i], caps[i].Len), true, o)
		}
	}
	dst = append(dst, '}')
	if o&optQuote != 0 {
		dst = append(dst, '"')
	}
	return dst
}

// appendCaptureList writes %hrl/%hsl: the values separated by spaces, "-"
// for an absent one (unless quoted).
func appendCaptureList(dst []byte, vals [][]byte, n int, caps []Capture, o opt) []byte {
	for i := 0; i < n; i++ {
		if i > 0 {
			dst = append(dst, ' ')
		}
		if o&optQuote != 0 {
			dst = append(dst, '"')
		}
		switch {
		case i < len(vals) && vals[i] != nil:
			dst = appendEncoded(dst, cut(vals[i], caps[i].Len), true, o)
		case o&optQuote == 0:
			dst = append(dst, '-')
		}
		if o&optQuote != 0 {
			dst = append(dst, '"')
		}
	}
	return dst
}

func cut(b []byte, n int) []byte {
	if n > 0 && len(b) > n {
		return b[:n]
	}
	return b
}
