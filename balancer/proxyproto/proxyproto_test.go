package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// v2 builds a binary header by hand: command, family, body.
func v2(cmd, fam byte, body ...[]byte) []byte {
	b := append([]byte(nil), sigV2...)
	b = append(b, 0x20|cmd, fam, 0, 0)
	for _, p := range body {
		b = append(b, p...)
	}
	binary.BigEndian.PutUint16(b[14:], uint16(len(b)-16))
	return b
}

var inet4 = []byte{192, 0, 2, 1, 198, 51, 100, 7, 0xdc, 0x04, 0x01, 0xbb} // 192.0.2.1:56324 → 198.51.100.7:443

func TestParseV1(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Header
		wantN   int
		wantErr string // substring; "" = ok; "more" = ErrNeedMore
	}{
		{"tcp4", "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nGET", Header{Version: 1, Src: ap("192.0.2.1:56324"), Dst: ap("198.51.100.7:443")}, 45, ""},
		{"tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", Header{Version: 1, Src: ap("[2001:db8::1]:1"), Dst: ap("[2001:db8::2]:65535")}, 44, ""},
		{"unknown", "PROXY UNKNOWN\r\n", Header{Version: 1, Local: true}, 15, ""},
		{"unknown ignores the rest", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", Header{Version: 1, Local: true}, 35, ""},
		{"port zero", "PROXY TCP4 1.2.3.4 5.6.7.8 0 0\r\n", Header{Version: 1, Src: ap("1.2.3.4:0"), Dst: ap("5.6.7.8:0")}, 32, ""},
		{"prefix", "PROX", Header{}, 0, "more"},
		{"no CRLF yet", "PROXY TCP4 192.0.2.1 198.51.", Header{}, 0, "more"},
		{"line too long", "PROXY TCP4 " + strings.Repeat("1", 100), Header{}, 0, "no CRLF within 107"},
		{"bare LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", Header{}, 0, "CRLF"},
		{"unknown protocol", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", Header{}, 0, "want TCP4, TCP6 or UNKNOWN"},
		{"IPv6 under TCP4", "PROXY TCP4 ::1 ::2 1 2\r\n", Header{}, 0, "not an IPv4 address"},
		{"IPv4 under TCP6", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", Header{}, 0, "not an IPv6 address"},
		{"missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", Header{}, 0, "got 4 fields"},
		{"two spaces", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", Header{}, 0, "got 6 fields"},
		{"port too big", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", Header{}, 0, "port \"65536\""},
		{"leading zero port", "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", Header{}, 0, "leading zeros"},
		{"signed port", "PROXY TCP4 1.2.3.4 5.6.7.8 +80 2\r\n", Header{}, 0, "port \"+80\""},
		{"hostname", "PROXY TCP4 example.com 5.6.7.8 1 2\r\n", Header{}, 0, "not an IPv4 address"},
		{"empty protocol", "PROXY \r\n", Header{}, 0, "protocol \"\""},
		{"not a header", "GET / HTTP/1.1\r\n", Header{}, 0, "no header"},
		{"lower case", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", Header{}, 0, "no header"},
		{"empty input", "", Header{}, 0, "more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, []byte(tt.in), tt.want, tt.wantN, tt.wantErr)
		})
	}
}

func check(t *testing.T, in []byte, want Header, wantN int, wantErr string) {
	t.Helper()
	h, n, err := Parse(in)
	switch {
	case wantErr == "more":
		if !errors.Is(err, ErrNeedMore) {
			t.Fatalf("Parse = %v, want ErrNeedMore", err)
		}
		return
	case wantErr != "":
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("Parse error = %v, want one containing %q", err, wantErr)
		}
		return
	case err != nil:
		t.Fatalf("Parse: %v", err)
	}
	if n != wantN {
		t.Errorf("length = %d, want %d", n, wantN)
	}
	if diff := cmp.Diff(want, h, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
}

func TestParseV2(t *testing.T) {
	inet6 := make([]byte, 36)
	copy(inet6, netip.MustParseAddr("2001:db8::1").AsSlice())
	copy(inet6[16:], netip.MustParseAddr("2001:db8::2").AsSlice())
	binary.BigEndian.PutUint16(inet6[32:], 1000)
	binary.BigEndian.PutUint16(inet6[34:], 443)
	alpn := []byte{TypeALPN, 0, 2, 'h', '2'}
	auth := append([]byte{TypeAuthority, 0, 11}, "example.com"...)
	tests := []struct {
		name    string
		in      []byte
		want    Header
		wantN   int
		wantErr string
	}{
		{"inet4 proxy", v2(1, 0x11, inet4), Header{Version: 2, Src: ap("192.0.2.1:56324"), Dst: ap("198.51.100.7:443")}, 28, ""},
		{"inet6 proxy", v2(1, 0x21, inet6), Header{Version: 2, Src: ap("[2001:db8::1]:1000"), Dst: ap("[2001:db8::2]:443")}, 52, ""},
		{"tlvs", v2(1, 0x11, inet4, alpn, auth), Header{Version: 2, Src: ap("192.0.2.1:56324"), Dst: ap("198.51.100.7:443"),
			TLVs: []TLV{{TypeALPN, []byte("h2")}, {TypeAuthority, []byte("example.com")}}}, 28 + 5 + 14, ""},
		{"local ignores addresses", v2(0, 0x11, inet4), Header{Version: 2, Local: true}, 28, ""},
		{"local unspec", v2(0, 0x00), Header{Version: 2, Local: true}, 16, ""},
		{"proxy unspec is local", v2(1, 0x00), Header{Version: 2, Local: true}, 16, ""},
		{"unix is local", v2(1, 0x31, make([]byte, 216)), Header{Version: 2, Local: true}, 232, ""},
		{"udp over inet4", v2(1, 0x12, inet4), Header{Version: 2, Src: ap("192.0.2.1:56324"), Dst: ap("198.51.100.7:443")}, 28, ""},
		{"signature prefix", sigV2[:5], Header{}, 0, "more"},
		{"fixed part short", v2(1, 0x11, inet4)[:15], Header{}, 0, "more"},
		{"truncated addresses", v2(1, 0x11, inet4)[:20], Header{}, 0, "more"},
		{"version 1 in v2", append(append([]byte(nil), sigV2...), 0x11, 0x11, 0, 0), Header{}, 0, "version 1"},
		{"command 2", append(append([]byte(nil), sigV2...), 0x22, 0x11, 0, 0), Header{}, 0, "command 2"},
		{"family 4", v2(1, 0x41, inet4), Header{}, 0, "family"},
		{"transport 3", v2(1, 0x13, inet4), Header{}, 0, "family"},
		{"address block short", v2(1, 0x11, inet4[:8]), Header{}, 0, "the family needs 12"},
		{"tlv overruns", v2(1, 0x11, inet4, []byte{TypeALPN, 0, 9, 'h'}), Header{}, 0, "overruns"},
		{"stray bytes", v2(1, 0x11, inet4, []byte{1, 0}), Header{}, 0, "stray bytes"},
		{"too long", func() []byte { b := v2(1, 0x11, inet4); binary.BigEndian.PutUint16(b[14:], 5000); return b }(), Header{}, 0, "longer than tandem accepts"},
		{"bad crc", v2(1, 0x11, inet4, []byte{TypeCRC32C, 0, 4, 1, 2, 3, 4}), Header{}, 0, "CRC32C mismatch"},
		{"crc of 3 bytes", v2(1, 0x11, inet4, []byte{TypeCRC32C, 0, 3, 1, 2, 3}), Header{}, 0, "want 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, tt.in, tt.want, tt.wantN, tt.wantErr)
		})
	}
}

func TestGoodCRCIsAccepted(t *testing.T) {
	h := Header{Src: ap("10.1.2.3:4000"), Dst: ap("10.9.9.9:80")}
	b := h.AppendV2(nil, true)
	got, n, err := Parse(b)
	if err != nil || n != len(b) {
		t.Fatalf("Parse = %v, %d; want ok, %d", err, n, len(b))
	}
	v := got.TLV(TypeCRC32C)
	c := bytes.Clone(b)
	clear(c[len(c)-4:])
	if binary.BigEndian.Uint32(v) != crc32.Checksum(c, castagnoli) {
		t.Errorf("CRC TLV %x is not the checksum", v)
	}
}

func TestAppendRoundTrips(t *testing.T) {
	tests := []struct {
		name    string
		h       Header
		v1, v2  string // v1 line; v2: "" = round trip only
		wantSrc netip.AddrPort
		wantLoc bool
	}{
		{name: "ipv4", h: Header{Src: ap("192.0.2.1:56324"), Dst: ap("198.51.100.7:443")},
			v1: "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n", wantSrc: ap("192.0.2.1:56324")},
		{name: "ipv6", h: Header{Src: ap("[2001:db8::1]:1"), Dst: ap("[2001:db8::2]:2")},
			v1: "PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n", wantSrc: ap("[2001:db8::1]:1")},
		{name: "mapped ipv4 is ipv4", h: Header{Src: ap("[::ffff:192.0.2.1]:5"), Dst: ap("[::ffff:192.0.2.2]:6")},
			v1: "PROXY TCP4 192.0.2.1 192.0.2.2 5 6\r\n", wantSrc: ap("192.0.2.1:5")},
		{name: "mixed families", h: Header{Src: ap("192.0.2.1:5"), Dst: ap("[2001:db8::2]:6")},
			v1: "PROXY UNKNOWN\r\n", wantSrc: ap("[::ffff:192.0.2.1]:5")},
		{name: "local", h: Header{Local: true}, v1: "PROXY UNKNOWN\r\n", wantLoc: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.h.AppendV1(nil)); got != tt.v1 {
				t.Errorf("AppendV1 = %q, want %q", got, tt.v1)
			}
			h := tt.h
			h.TLVs = []TLV{{TypeALPN, []byte("http/1.1")}, {TypeAuthority, []byte("a.example")}}
			b := h.AppendV2(nil, true)
			got, n, err := Parse(b)
			if err != nil || n != len(b) {
				t.Fatalf("Parse(AppendV2) = %v, %d; want ok, %d", err, n, len(b))
			}
			if got.Local != tt.wantLoc || !tt.wantLoc && got.Src.Addr().Unmap() != tt.wantSrc.Addr().Unmap() {
				t.Errorf("round trip: %+v, want src %v local %v", got, tt.wantSrc, tt.wantLoc)
			}
			if string(got.TLV(TypeALPN)) != "http/1.1" || string(got.TLV(TypeAuthority)) != "a.example" {
				t.Errorf("TLVs lost: %+v", got.TLVs)
			}
		})
	}
}

// FuzzParse checks Parse's invariants on any input: the length is within
// the input; every shorter prefix of a header needs more data; bytes after
// a header change nothing; a parsed header written again (v1 or v2) parses
// to the same addresses.
func FuzzParse(f *testing.F) {
	seeds := [][]byte{
		[]byte("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nGET / HTTP/1.1\r\n"),
		[]byte("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n"),
		[]byte("PROXY UNKNOWN\r\n"),
		[]byte("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n"),
		[]byte("PROXY TCP4 " + strings.Repeat("9", 120)),
		[]byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
		[]byte("GET / HTTP/1.1\r\n"),
		v2(1, 0x11, inet4),
		v2(0, 0x00),
		v2(1, 0x21, make([]byte, 36)),
		v2(1, 0x31, make([]byte, 216)),
		v2(1, 0x11, inet4, []byte{TypeALPN, 0, 2, 'h', '2'}),
		v2(1, 0x11, inet4, []byte{TypeCRC32C, 0, 4, 1, 2, 3, 4}),
		v2(1, 0x11, inet4, []byte{TypeALPN, 0, 9}),
		v2(1, 0x41, inet4),
		(&Header{Src: ap("10.0.0.1:1"), Dst: ap("10.0.0.2:2")}).AppendV2(nil, true),
		sigV2[:7],
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with length %d", err, n)
			}
			if errors.Is(err, ErrNeedMore) && len(b) >= MaxV2Len+16 {
				t.Fatalf("needs more after %d bytes", len(b))
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d outside (0, %d]", n, len(b))
		}
		for k := 0; k < n; k++ {
			if _, _, err := Parse(b[:k]); !errors.Is(err, ErrNeedMore) {
				t.Fatalf("prefix of %d bytes of a %d-byte header: %v, want ErrNeedMore", k, n, err)
			}
		}
		h2, n2, err := Parse(append(bytes.Clone(b[:n]), "trailing bytes"...))
		if err != nil || n2 != n || h2.Local != h.Local || h2.Src != h.Src {
			t.Fatalf("trailing bytes changed the result: %+v %d %v", h2, n2, err)
		}
		for _, enc := range [][]byte{h.AppendV1(nil), h.AppendV2(nil, false)} {
			r, rn, err := Parse(enc)
			if err != nil || rn != len(enc) {
				t.Fatalf("re-encoded %q does not parse: %v", enc, err)
			}
			if !h.Local && (r.Local || r.Src.Addr().Unmap() != h.Src.Addr().Unmap() || r.Src.Port() != h.Src.Port()) {
				if h.Src.Addr().Is4() == h.Dst.Addr().Is4() || r.Version == 2 {
					t.Fatalf("re-encoded header %+v, want src %v", r, h.Src)
				}
			}
		}
	})
}
