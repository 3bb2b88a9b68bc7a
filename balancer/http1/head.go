package http1

import "bytes"

// Limits of a head, HAProxy's defaults where they matter for what reaches
// a server (tune.http.maxhdr).
const (
	// MaxHeadBytes bounds a head with its leading empty lines.
	MaxHeadBytes = 64 << 10
	// MaxFields bounds the field lines of a head.
	MaxFields = 100
)

// Field is one header field line. Name and Value alias the parsed buffer;
// Value has no leading or trailing whitespace.
type Field struct{ Name, Value []byte }

// Version is the protocol version of a message.
type Version int

// Versions. HTTP/1.2 and later minor versions are read as HTTP/1.1
// (RFC 9110 2.5: a recipient treats a higher minor version as the
// highest it supports).
const (
	HTTP10 Version = iota
	HTTP11
)

func (v Version) String() string {
	if v == HTTP10 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// Head is a parsed request or response head. Its slices alias the buffer
// it was parsed from; reuse a Head to parse many messages without
// allocating.
type Head struct {
	// Request line (requests only).
	Method, Target []byte
	// Status line (responses only).
	Status int
	Reason []byte

	Version Version
	// Fields in the order received, duplicates of Host and
	// Content-Length removed.
	Fields []Field

	// Framing. ContentLength is -1 when none was given or when
	// Transfer-Encoding overrides it.
	ContentLength int64
	Chunked       bool
	// CloseAfter says the connection must close after this message: its
	// framing was ambiguous (Content-Length with Transfer-Encoding, or
	// Transfer-Encoding in HTTP/1.0), RFC 9112 6.1.
	CloseAfter bool

	// Connection options (the Connection field's tokens).
	ConnClose, ConnKeepAlive, ConnUpgrade bool
	// ConnTokens are the other field names the Connection field lists:
	// hop-by-hop, not forwarded.
	ConnTokens [][]byte
	// Upgrade is the Upgrade field's value (nil: none).
	Upgrade []byte
	// Expect100 is set by "Expect: 100-continue".
	Expect100 bool
	// Host is the Host field's value; HasHost tells an empty one from none.
	Host    []byte
	HasHost bool
}

// reset clears h for a new message, keeping the capacity of its slices.
func (h *Head) reset() {
	*h = Head{Fields: h.Fields[:0], ConnTokens: h.ConnTokens[:0], ContentLength: -1}
}

// Get returns the value of the first field named lower (ASCII lower case),
// or nil.
func (h *Head) Get(lower string) []byte {
	for i := range h.Fields {
		if EqualFold(h.Fields[i].Name, lower) {
			return h.Fields[i].Value
		}
	}
	return nil
}

// HopByHop reports whether a field must not be forwarded to the next hop:
// the fixed hop-by-hop set of RFC 9110 7.6.1, the framing fields (the
// balancer writes its own) and the names the Connection field listed.
// Trailer is end-to-end (RFC 9110 6.6.2).
func (h *Head) HopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return EqualFold(name, "te")
	case 7:
		return EqualFold(name, "upgrade")
	case 10:
		if EqualFold(name, "connection") || EqualFold(name, "keep-alive") {
			return true
		}
	case 14:
		if EqualFold(name, "content-length") {
			return true
		}
	case 16:
		if EqualFold(name, "proxy-connection") {
			return true
		}
	case 17:
		if EqualFold(name, "transfer-encoding") {
			return true
		}
	}
	for _, t := range h.ConnTokens {
		if bytes.EqualFold(t, name) {
			return true
		}
	}
	return false
}

// EqualFold compares b with lower, an ASCII lower-case string, ignoring
// ASCII case.
func EqualFold(b []byte, lower string) bool {
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
