package rules

import (
	"errors"
)

// ErrNeedMore: the bytes so far are a valid beginning but not enough.
var ErrNeedMore = errors.New("need more bytes")

var errNotHello = errors.New("not a TLS handshake record")

// ClientHello is what tcp-request content rules read from the first TLS
// bytes a client sends (req.ssl_sni, req.ssl_alpn; HAProxy's payload.c).
// Slices point into the buffer parsed.
type ClientHello struct {
	// SNI is the server_name extension's host name, nil if absent.
	SNI []byte
	// ALPN is the first protocol of the ALPN extension, nil if absent.
	ALPN []byte
}

// HelloType is req.ssl_hello_type (payload.c smp_fetch_ssl_hello_type): the
// handshake message type of a TLS record (1: ClientHello) once the whole
// message has arrived. ErrNeedMore while it may still come.
func HelloType(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, ErrNeedMore
	}
	if !(b[0] >= 0x14 && b[0] <= 0x17 || b[0] == 0xff) {
		return 0, errNotHello
	}
	if len(b) < 9 {
		return 0, ErrNeedMore
	}
	if int(b[1])<<16|int(b[2]) < 0x030000 || int(b[3])<<8|int(b[4]) < 4 {
		return 0, errNotHello
	}
	if len(b) < 9+(int(b[6])<<16|int(b[7])<<8|int(b[8])) {
		return 0, ErrNeedMore
	}
	return int(b[5]), nil
}

// ParseClientHello parses the TLS ClientHello at the start of b, as
// payload.c smp_fetch_ssl_hello_sni does: a handshake record of TLS 1.0 or
// later whose first message is a complete ClientHello. It returns
// ErrNeedMore while b is a valid but incomplete beginning, and another
// error when b is not a ClientHello or is malformed.
func ParseClientHello(b []byte) (ClientHello, error) {
	var h ClientHello
	switch {
	case len(b) == 0:
		return h, ErrNeedMore
	case b[0] != 0x16:
		return h, errNotHello
	case len(b) < 3:
		return h, ErrNeedMore
	case b[1] < 3:
		return h, errNotHello
	case len(b) < 5:
		return h, ErrNeedMore
	case int(b[3])<<8|int(b[4]) < 46: // too short to have an extension
		return h, errNotHello
	}
	msg := b[5:]
	switch {
	case len(msg) < 1:
		return h, ErrNeedMore
	case msg[0] != 1:
		return h, errNotHello
	case len(msg) < 4:
		return h, ErrNeedMore
	}
	hsLen := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
	if hsLen < 42 {
		return h, errNotHello
	}
	if len(msg) < 4+hsLen {
		return h, ErrNeedMore
	}
	r := reader{b: msg[4 : 4+hsLen]}
	if ver := r.bytes(2); ver[0] < 3 || ver[1] < 1 { // TLS 1.0 at least
		return h, errNotHello
	}
	r.skip(32)
	if sid := r.u8(); sid > 32 {
		return h, errNotHello
	} else {
		r.skip(sid)
	}
	if cs := r.u16(); cs < 2 {
		return h, errNotHello
	} else {
		r.skip(cs)
	}
	if cm := r.u8(); cm < 1 {
		return h, errNotHello
	} else {
		r.skip(cm)
	}
	exts := reader{b: r.bytes(r.u16())}
	for !exts.bad && exts.left() >= 4 {
		typ := exts.u16()
		data := reader{b: exts.bytes(exts.u16())}
		switch typ {
		case 0: // server_name: the first host_name entry
			list := reader{b: data.bytes(data.u16())}
			for !list.bad && list.left() > 0 && h.SNI == nil {
				kind := list.u8()
				if name := list.bytes(list.u16()); kind == 0 && !list.bad {
					h.SNI = name
				}
			}
		case 16: // application_layer_protocol_negotiation: the first one
			list := reader{b: data.bytes(data.u16())}
			if p := list.bytes(list.u8()); !list.bad && len(p) > 0 {
				h.ALPN = p
			}
		}
	}
	if r.bad || exts.bad {
		return ClientHello{}, errNotHello
	}
	return h, nil
}

// reader reads big-endian TLS fields; a short read sets bad.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) left() int { return len(r.b) }

func (r *reader) err() error {
	if r.bad {
		return errNotHello
	}
	return nil
}

func (r *reader) bytes(n int) []byte {
	if r.bad || n > len(r.b) {
		r.bad = true
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) skip(n int) { r.bytes(n) }

func (r *reader) u8() int {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return int(b[0])
}

func (r *reader) u16() int {
	b := r.bytes(2)
	if b == nil {
		return 0
	}
	return int(b[0])<<8 | int(b[1])
}
