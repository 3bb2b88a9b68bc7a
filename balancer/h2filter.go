package balancer

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"net"

	"golang.org/x/net/http2/hpack"
)

// h2Filter reads the frames a client sends before x/net/http2's server
// does, to apply three rules of RFC 9113 that the server gets wrong or
// stricter than the RFC (h2spec 6.5.3/1, 8.1.2.2/1 and /2):
//   - a SETTINGS frame may repeat a setting, applied in order: the filter
//     keeps each setting's last value (or its first invalid one, so the
//     server still refuses it), where the server would hang up;
//   - a request carrying a connection-specific field (Connection,
//     Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade) or a TE
//     other than "trailers" is malformed: the filter ends the connection
//     (RFC 9113 5.4: any stream error may be treated as a connection
//     error), where the server would answer 400 as if it were valid.
//
// To see header fields the filter decodes every header block with its own
// HPACK decoder, in order, so that its dynamic table follows the
// server's. Everything else passes through byte for byte; anything it
// cannot make sense of is passed on for the server to refuse.
type h2Filter struct {
	preface int // bytes of the connection preface passed so far
	pass    int // payload bytes of the current frame still to pass through
	blind   bool
	dec     *hpack.Decoder
	bad     bool // the block being decoded has a forbidden field
	held    []byte
	block   []byte
	stream  uint32 // the stream of the header block in progress (0: none)
}

// Frame types and flags the filter looks at.
const (
	h2FrameHeaders      = 0x1
	h2FrameSettings     = 0x4
	h2FrameContinuation = 0x9
	h2FlagEndHeaders    = 0x4
	h2FlagPadded        = 0x8
	h2FlagPriority      = 0x20
	h2FlagAck           = 0x1
	// h2MaxHeaderBlock bounds a header block the filter holds (a
	// CONTINUATION flood is cut here).
	h2MaxHeaderBlock = 1 << 20
)

var errH2Malformed = errors.New("http2: malformed request: connection-specific header field")

const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// filter consumes whole frames (or pass-through bytes) from in and
// appends what the server should read to out. It returns the bytes of in
// it used; the rest waits for more input.
func (f *h2Filter) filter(in, out []byte) ([]byte, int, error) {
	used := 0
	if f.preface < len(h2Preface) {
		n := min(len(h2Preface)-f.preface, len(in))
		out, used, f.preface = append(out, in[:n]...), n, f.preface+n
	}
	for used < len(in) {
		rest := in[used:]
		if f.pass > 0 || f.blind {
			n := len(rest)
			if !f.blind {
				n = min(n, f.pass)
				f.pass -= n
			}
			out, used = append(out, rest[:n]...), used+n
			continue
		}
		if len(rest) < 9 {
			break
		}
		length := int(rest[0])<<16 | int(rest[1])<<8 | int(rest[2])
		typ, flags := rest[3], rest[4]
		stream := binary.BigEndian.Uint32(rest[5:9]) & (1<<31 - 1)
		inspect := typ == h2FrameSettings || typ == h2FrameHeaders || typ == h2FrameContinuation
		if f.stream != 0 && typ != h2FrameContinuation {
			// A header block interrupted: a protocol error the server
			// reports. Give it everything and stop looking.
			out, f.held, f.blind = append(out, f.held...), f.held[:0], true
			continue
		}
		if !inspect || length > h2MaxFrameSize {
			if f.stream != 0 { // an oversized CONTINUATION: the server refuses it
				out, f.held, f.blind = append(out, f.held...), f.held[:0], true
				continue
			}
			out, used = append(out, rest[:9]...), used+9
			f.pass = length
			continue
		}
		if len(rest) < 9+length {
			break
		}
		frame := rest[:9+length]
		used += len(frame)
		var err error
		switch typ {
		case h2FrameSettings:
			out = appendSettings(out, frame, flags, stream)
		default:
			out, err = f.headerFrame(out, frame, typ, flags, stream)
		}
		if err != nil {
			return out, used, err
		}
	}
	return out, used, nil
}

// headerFrame holds a HEADERS or CONTINUATION frame until its block is
// complete, then decodes the block and passes the frames on, or refuses
// the request.
func (f *h2Filter) headerFrame(out, frame []byte, typ, flags byte, stream uint32) ([]byte, error) {
	payload := frame[9:]
	if typ == h2FrameHeaders {
		if f.stream != 0 || stream == 0 {
			f.blind = true
			return append(out, frame...), nil
		}
		if flags&h2FlagPadded != 0 {
			if len(payload) < 1 || int(payload[0]) > len(payload)-1 {
				f.blind = true // bad padding: the server refuses it
				return append(out, frame...), nil
			}
			payload = payload[1 : len(payload)-int(payload[0])]
		}
		if flags&h2FlagPriority != 0 {
			if len(payload) < 5 {
				f.blind = true
				return append(out, frame...), nil
			}
			payload = payload[5:]
		}
		f.stream, f.bad, f.block = stream, false, f.block[:0]
	} else if f.stream == 0 || stream != f.stream {
		f.blind = true // CONTINUATION out of place: the server refuses it
		return append(append(out, f.held...), frame...), nil
	}
	f.held = append(f.held, frame...)
	f.block = append(f.block, payload...)
	if len(f.held) > h2MaxHeaderBlock {
		return out, errH2Malformed
	}
	if flags&h2FlagEndHeaders == 0 {
		return out, nil
	}
	if f.dec == nil {
		f.dec = hpack.NewDecoder(4096, f.field) // the server's table size (the HTTP/2 default)
	}
	_, err := f.dec.Write(f.block)
	if err == nil {
		err = f.dec.Close()
	}
	held := f.held
	f.held, f.stream = f.held[:0], 0
	switch {
	case err != nil:
		f.blind = true // the server's own decoder reports COMPRESSION_ERROR
	case f.bad:
		return out, errH2Malformed // the request never reaches the server
	}
	return append(out, held...), nil
}

// field checks one decoded header field (RFC 9113 8.2.2).
func (f *h2Filter) field(hf hpack.HeaderField) {
	switch hf.Name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		f.bad = true
	case "te":
		f.bad = f.bad || hf.Value != "trailers"
	}
}

// appendSettings appends a SETTINGS frame with each repeated setting
// reduced to its last value (or its first invalid one), RFC 9113 6.5.3:
// "values ... MUST be processed in the order they appear".
func appendSettings(out, frame []byte, flags byte, stream uint32) []byte {
	payload := frame[9:]
	if flags&h2FlagAck != 0 || stream != 0 || len(payload)%6 != 0 || len(payload) > 6*100 {
		return append(out, frame...) // the server refuses or handles it
	}
	n := len(payload) / 6
	dup := false
	for i := 0; i < n && !dup; i++ {
		for j := i + 1; j < n; j++ {
			if payload[6*i] == payload[6*j] && payload[6*i+1] == payload[6*j+1] {
				dup = true
				break
			}
		}
	}
	if !dup {
		return append(out, frame...)
	}
	start := len(out)
	out = append(out, frame[:9]...)
	for i := 0; i < n; i++ {
		id := binary.BigEndian.Uint16(payload[6*i:])
		keep := i == lastSetting(payload, n, id)
		if bad := firstInvalid(payload, n, id); bad >= 0 {
			keep = i == bad // the server must still see it, and refuse it
		}
		if keep {
			out = append(out, payload[6*i:6*i+6]...)
		}
	}
	length := len(out) - start - 9
	out[start], out[start+1], out[start+2] = byte(length>>16), byte(length>>8), byte(length)
	return out
}

// lastSetting returns the index of the last occurrence of setting id.
func lastSetting(payload []byte, n int, id uint16) int {
	last := -1
	for i := 0; i < n; i++ {
		if binary.BigEndian.Uint16(payload[6*i:]) == id {
			last = i
		}
	}
	return last
}

// firstInvalid returns the index of the first occurrence of setting id
// whose value is invalid (RFC 9113 6.5.2), or -1.
func firstInvalid(payload []byte, n int, id uint16) int {
	for i := 0; i < n; i++ {
		if binary.BigEndian.Uint16(payload[6*i:]) != id {
			continue
		}
		v := binary.BigEndian.Uint32(payload[6*i+2:])
		switch {
		case id == 0x2 && v > 1, // ENABLE_PUSH
			id == 0x4 && v > 1<<31-1,                // INITIAL_WINDOW_SIZE
			id == 0x5 && (v < 1<<14 || v > 1<<24-1): // MAX_FRAME_SIZE
			return i
		}
	}
	return -1
}

// h2Conn feeds a client connection to x/net/http2 through an h2Filter.
// Writes pass through; a malformed request closes the connection.
type h2Conn struct {
	net.Conn
	f   h2Filter
	buf []byte // read buffer
	in  []byte // read, not yet filtered
	out []byte // filtered, not yet returned
	off int
	err error
}

// h2TLSConn is an h2Conn over TLS: ConnectionState lets the HTTP/2
// server see the TLS state (RFC 9113 9.2 checks, Request.TLS). A clear
// connection (h2c) must not have the method: the server would take it for
// TLS without a version.
type h2TLSConn struct {
	*h2Conn
	tc *tls.Conn
}

func (c h2TLSConn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// newH2Conn wraps conn for the HTTP/2 server.
func newH2Conn(conn net.Conn) net.Conn {
	c := &h2Conn{Conn: conn}
	if tc, ok := conn.(*tls.Conn); ok {
		return h2TLSConn{c, tc}
	}
	return c
}

func (c *h2Conn) Read(p []byte) (int, error) {
	for c.off == len(c.out) {
		if c.err != nil {
			return 0, c.err
		}
		c.out, c.off = c.out[:0], 0
		if c.buf == nil {
			c.buf = make([]byte, 16<<10)
		}
		n, err := c.Conn.Read(c.buf)
		c.in = append(c.in, c.buf[:n]...)
		out, used, ferr := c.f.filter(c.in, c.out)
		c.out = out
		c.in = append(c.in[:0], c.in[used:]...)
		switch {
		case ferr != nil:
			c.Conn.Close()
			c.err = ferr
		case err != nil:
			c.err = err
		}
	}
	n := copy(p, c.out[c.off:])
	c.off += n
	return n, nil
}
