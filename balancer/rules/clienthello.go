package rules

import (
	"errors"
)

// ErrNeedMore: the bytes so far are a valid beginning but not enough.
var ErrNeedMore = errors.New("need more bytes")

var errNotHello = errors.New("not a TLS handshake record")

// ClientHello is what tcp-request content rules read from the first TLS
// record a client sends (req.ssl_hello_type, req.ssl_sni, req.ssl_alpn;
// HAProxy's payload.c). Slices point into the buffer parsed.
type ClientHello struct {
	// Type is the handshake message type: 1 for a ClientHello, 0 unknown.
	Type int
	// SNI is the server_name extension's host name, nil if absent.
	SNI []byte
	// ALPN is the first protocol of the ALPN extension, nil if absent.
	ALPN []byte
}

// ParseClientHello parses the first TLS record of b. It returns
// ErrNeedMore while b is a valid but incomplete beginning (with Type set as
// soon as it is known), and another error when b is not a TLS handshake
// record or the hello is malformed. As HAProxy, it reads only the first
// record: a hello split over records has no SNI.
func ParseClientHello(b []byte) (ClientHello, error) {
	var h ClientHello
	if len(b) >= 1 && b[0] != 0x16 || len(b) >= 2 && b[1] != 3 {
		return h, errNotHello
	}
	if len(b) < 6 {
		return h, ErrNeedMore
	}
	recLen := int(b[3])<<8 | int(b[4])
	if recLen < 4 {
		return h, errNotHello
	}
	h.Type = int(b[5])
	if len(b) < 5+recLen {
		return h, ErrNeedMore
	}
	rec := b[5 : 5+recLen]
	if h.Type != 1 {
		return h, nil
	}
	hsLen := int(rec[1])<<16 | int(rec[2])<<8 | int(rec[3])
	if hsLen > len(rec)-4 {
		return h, errNotHello
	}
	body := rec[4 : 4+hsLen]
	// client_version(2) random(32) session_id<0..32>
	r := reader{b: body}
	r.skip(2 + 32)
	r.skip(r.u8())
	r.skip(r.u16()) // cipher_suites
	r.skip(r.u8())  // compression_methods
	if r.bad || r.left() == 0 {
		return h, r.err()
	}
	exts := reader{b: r.bytes(r.u16())}
	for !r.bad && !exts.bad && exts.left() > 0 {
		typ := exts.u16()
		data := reader{b: exts.bytes(exts.u16())}
		switch typ {
		case 0: // server_name
			list := reader{b: data.bytes(data.u16())}
			for !list.bad && list.left() > 0 {
				kind := list.u8()
				name := list.bytes(list.u16())
				if kind == 0 && !list.bad && len(name) > 0 {
					h.SNI = name
					break
				}
			}
		case 16: // application_layer_protocol_negotiation
			list := reader{b: data.bytes(data.u16())}
			if p := list.bytes(list.u8()); !list.bad && len(p) > 0 {
				h.ALPN = p
			}
		}
	}
	if r.bad || exts.bad {
		return ClientHello{Type: h.Type}, errNotHello
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
