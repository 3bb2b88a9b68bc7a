package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"strconv"
	"strings"
)

// Header is a PROXY protocol header.
type Header struct {
	Version int  // 1 or 2
	Local   bool // no client addresses: the sender's own connection (v1 UNKNOWN, v2 LOCAL)
	// Src is the client, Dst the address it connected to (on the sender).
	Src, Dst netip.AddrPort
	TLVs     []TLV // version 2 only
}

// TLV is one type-length-value extension of a v2 header.
type TLV struct {
	Type  byte
	Value []byte
}

// TLV types of proxy-protocol.txt 2.2.
const (
	TypeALPN      = 0x01
	TypeAuthority = 0x02
	TypeCRC32C    = 0x03
	TypeNoop      = 0x04
	TypeUniqueID  = 0x05
	TypeSSL       = 0x20
	TypeNetNS     = 0x30
)

// Limits of the format.
const (
	MaxV1Len = 107 // the longest v1 line, CRLF included
	// MaxV2Len bounds a v2 header tandem accepts (16 + 216 for a UNIX
	// address block, and room for TLVs); the format allows 65551.
	MaxV2Len = 4096
	v2Fixed  = 16
)

// sigV2 starts every v2 header.
var sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")

var prefixV1 = []byte("PROXY ")

// ErrNeedMore means the input is a valid beginning of a header: read more.
var ErrNeedMore = errors.New("proxy protocol: incomplete header")

// Parse parses the header at the start of b and returns it with its
// length in bytes.
func Parse(b []byte) (Header, int, error) {
	switch {
	case len(b) >= len(sigV2) && bytes.Equal(b[:len(sigV2)], sigV2):
		return parseV2(b)
	case len(b) >= len(prefixV1) && bytes.Equal(b[:len(prefixV1)], prefixV1):
		return parseV1(b)
	case len(b) < len(sigV2) && (bytes.HasPrefix(sigV2, b) || bytes.HasPrefix(prefixV1, b)):
		return Header{}, 0, ErrNeedMore
	}
	return Header{}, 0, fmt.Errorf("proxy protocol: no header: the connection starts with %q", head(b))
}

func head(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

// parseV1 parses "PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n".
func parseV1(b []byte) (Header, int, error) {
	end := bytes.IndexByte(b[:min(len(b), MaxV1Len)], '\n')
	if end < 0 {
		if len(b) >= MaxV1Len {
			return Header{}, 0, fmt.Errorf("proxy protocol v1: no CRLF within %d bytes", MaxV1Len)
		}
		return Header{}, 0, ErrNeedMore
	}
	if end == 0 || b[end-1] != '\r' {
		return Header{}, 0, errors.New("proxy protocol v1: line does not end in CRLF")
	}
	line := string(b[len(prefixV1) : end-1])
	h := Header{Version: 1}
	fields := splitSpaces(line)
	if len(fields) == 0 {
		return Header{}, 0, errors.New("proxy protocol v1: no protocol after PROXY")
	}
	switch fields[0] {
	case "UNKNOWN":
		h.Local = true // the rest of the line is ignored
		return h, end + 1, nil
	case "TCP4", "TCP6":
	default:
		return Header{}, 0, fmt.Errorf("proxy protocol v1: protocol %q: want TCP4, TCP6 or UNKNOWN", fields[0])
	}
	if len(fields) != 5 {
		return Header{}, 0, fmt.Errorf("proxy protocol v1: want 'PROXY %s SRC DST SPORT DPORT' (got %d fields)", fields[0], len(fields))
	}
	src, err1 := v1Addr(fields[1], fields[3], fields[0] == "TCP6")
	dst, err2 := v1Addr(fields[2], fields[4], fields[0] == "TCP6")
	if err := errors.Join(err1, err2); err != nil {
		return Header{}, 0, fmt.Errorf("proxy protocol v1: %w", err)
	}
	h.Src, h.Dst = src, dst
	return h, end + 1, nil
}

// splitSpaces splits on single spaces; an empty field (two spaces) is kept
// so that it is refused.
func splitSpaces(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

func v1Addr(ip, port string, six bool) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" || a.Is4() == six {
		fam := "IPv4"
		if six {
			fam = "IPv6"
		}
		return netip.AddrPort{}, fmt.Errorf("address %q is not an %s address", ip, fam)
	}
	p, err := v1Port(port)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a, p), nil
}

func v1Port(s string) (uint16, error) {
	if s == "" || len(s) > 5 || len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("port %q: want 0-65535 without leading zeros", s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("port %q: want 0-65535 without leading zeros", s)
		}
	}
	n, _ := strconv.Atoi(s)
	if n > 65535 {
		return 0, fmt.Errorf("port %q: want 0-65535 without leading zeros", s)
	}
	return uint16(n), nil
}

// parseV2 parses a binary header.
func parseV2(b []byte) (Header, int, error) {
	if len(b) < v2Fixed {
		return Header{}, 0, ErrNeedMore
	}
	verCmd, fam := b[12], b[13]
	n := v2Fixed + int(binary.BigEndian.Uint16(b[14:16]))
	switch {
	case verCmd>>4 != 2:
		return Header{}, 0, fmt.Errorf("proxy protocol v2: version %d: want 2", verCmd>>4)
	case verCmd&0xf > 1:
		return Header{}, 0, fmt.Errorf("proxy protocol v2: command %d: want LOCAL (0) or PROXY (1)", verCmd&0xf)
	case fam>>4 > 3 || fam&0xf > 2:
		return Header{}, 0, fmt.Errorf("proxy protocol v2: unknown address family/transport 0x%02x", fam)
	case n > MaxV2Len:
		return Header{}, 0, fmt.Errorf("proxy protocol v2: header of %d bytes is longer than tandem accepts (%d)", n, MaxV2Len)
	case len(b) < n:
		return Header{}, 0, ErrNeedMore
	}
	h := Header{Version: 2, Local: verCmd&0xf == 0}
	body := b[v2Fixed:n]
	var addrLen int
	switch fam >> 4 {
	case 1:
		addrLen = 12
	case 2:
		addrLen = 36
	case 3:
		addrLen = 216
	}
	if len(body) < addrLen {
		return Header{}, 0, fmt.Errorf("proxy protocol v2: %d bytes of addresses, the family needs %d", len(body), addrLen)
	}
	switch {
	case h.Local:
	case fam>>4 == 1:
		h.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:12]))
	case fam>>4 == 2:
		h.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])).Unmap(), binary.BigEndian.Uint16(body[32:34]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])).Unmap(), binary.BigEndian.Uint16(body[34:36]))
	default: // UNSPEC or UNIX: no IP address to take
		h.Local = true
	}
	tlvs, err := parseTLVs(body[addrLen:])
	if err != nil {
		return Header{}, 0, err
	}
	h.TLVs = tlvs
	if err := checkCRC(b[:n], v2Fixed+addrLen, tlvs); err != nil {
		return Header{}, 0, err
	}
	return h, n, nil
}

func parseTLVs(b []byte) ([]TLV, error) {
	var out []TLV
	for len(b) > 0 {
		if len(b) < 3 {
			return nil, fmt.Errorf("proxy protocol v2: %d stray bytes after the TLVs", len(b))
		}
		l := int(binary.BigEndian.Uint16(b[1:3]))
		if len(b) < 3+l {
			return nil, fmt.Errorf("proxy protocol v2: TLV 0x%02x of %d bytes overruns the header", b[0], l)
		}
		out = append(out, TLV{Type: b[0], Value: b[3 : 3+l]})
		b = b[3+l:]
	}
	return out, nil
}

// checkCRC verifies a CRC32C TLV: the checksum of the whole header with
// the TLV's value zeroed.
func checkCRC(hdr []byte, tlvStart int, tlvs []TLV) error {
	off := tlvStart
	for _, t := range tlvs {
		if t.Type == TypeCRC32C {
			if len(t.Value) != 4 {
				return fmt.Errorf("proxy protocol v2: CRC32C TLV of %d bytes: want 4", len(t.Value))
			}
			c := bytes.Clone(hdr)
			clear(c[off+3 : off+7])
			if crc32.Checksum(c, castagnoli) != binary.BigEndian.Uint32(t.Value) {
				return errors.New("proxy protocol v2: CRC32C mismatch")
			}
		}
		off += 3 + len(t.Value)
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// TLV returns the value of the first TLV of type t, or nil.
func (h *Header) TLV(t byte) []byte {
	for _, x := range h.TLVs {
		if x.Type == t {
			return x.Value
		}
	}
	return nil
}

// AppendV1 appends the v1 line of h: "PROXY TCP4 ..." or, for a Local
// header or addresses of two families, "PROXY UNKNOWN".
func (h *Header) AppendV1(dst []byte) []byte {
	src, d := h.Src.Addr().Unmap(), h.Dst.Addr().Unmap()
	if h.Local || !src.IsValid() || !d.IsValid() || src.Is4() != d.Is4() {
		return append(dst, "PROXY UNKNOWN\r\n"...)
	}
	proto := "TCP6 "
	if src.Is4() {
		proto = "TCP4 "
	}
	dst = append(dst, "PROXY "...)
	dst = append(dst, proto...)
	dst = src.AppendTo(dst)
	dst = append(dst, ' ')
	dst = d.AppendTo(dst)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(h.Src.Port()), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(h.Dst.Port()), 10)
	return append(dst, "\r\n"...)
}

// AppendV2 appends the binary header of h with its TLVs; with crc, a
// CRC32C TLV is added last and filled in. IPv4 addresses are sent as
// such when both are IPv4, else both as IPv6 (as HAProxy does).
func (h *Header) AppendV2(dst []byte, crc bool) []byte {
	start := len(dst)
	dst = append(dst, sigV2...)
	src, d := h.Src.Addr().Unmap(), h.Dst.Addr().Unmap()
	switch {
	case h.Local || !src.IsValid() || !d.IsValid():
		dst = append(dst, 0x20, 0x00, 0, 0)
	case src.Is4() && d.Is4():
		dst = append(dst, 0x21, 0x11, 0, 0)
		s4, d4 := src.As4(), d.As4()
		dst = append(dst, s4[:]...)
		dst = append(dst, d4[:]...)
		dst = binary.BigEndian.AppendUint16(dst, h.Src.Port())
		dst = binary.BigEndian.AppendUint16(dst, h.Dst.Port())
	default:
		dst = append(dst, 0x21, 0x21, 0, 0)
		s16, d16 := src.As16(), d.As16()
		dst = append(dst, s16[:]...)
		dst = append(dst, d16[:]...)
		dst = binary.BigEndian.AppendUint16(dst, h.Src.Port())
		dst = binary.BigEndian.AppendUint16(dst, h.Dst.Port())
	}
	for _, t := range h.TLVs {
		if t.Type == TypeCRC32C {
			continue
		}
		dst = append(dst, t.Type)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(t.Value)))
		dst = append(dst, t.Value...)
	}
	crcAt := -1
	if crc {
		dst = append(dst, TypeCRC32C, 0, 4)
		crcAt = len(dst)
		dst = append(dst, 0, 0, 0, 0)
	}
	binary.BigEndian.PutUint16(dst[start+14:], uint16(len(dst)-start-v2Fixed))
	if crcAt >= 0 {
		binary.BigEndian.PutUint32(dst[crcAt:], crc32.Checksum(dst[start:], castagnoli))
	}
	return dst
}
