package http1

import (
	"strings"
	"testing"
)

// decodeAll runs a Chunked decoder over in, fed step bytes at a time.
func decodeAll(in []byte, step int) (data string, rest int, err error) {
	var c Chunked
	var out strings.Builder
	pos := 0
	avail := min(step, len(in))
	for !c.Done() {
		n, d, err := c.Next(in[pos:avail])
		out.Write(d)
		pos += n
		if err != nil {
			return out.String(), pos, err
		}
		if n == 0 || pos == avail {
			if avail == len(in) {
				if n == 0 {
					return out.String(), pos, errShort
				}
				continue
			}
			avail = min(avail+step, len(in))
		}
	}
	return out.String(), pos, nil
}

var errShort = &Error{Status: 0, Reason: "input ended"}

func TestChunked(t *testing.T) {
	for _, tc := range []struct {
		name, in, data, trailers string
		err                      error
	}{
		{"two chunks", "5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n", "hello!", "", nil},
		{"zero-padded size", "0005\r\nhello\r\n000\r\n\r\n", "hello", "", nil},
		{"extension dropped", "5;ext=1\r\nhello\r\n0;a\r\n\r\n", "hello", "", nil},
		{"space after size", "5 \r\nhello\r\n0\r\n\r\n", "hello", "", nil},
		{"bare LF", "5\nhello\n0\n\n", "hello", "", nil},
		{"upper-case hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", "", nil},
		{"trailers kept", "5\r\nhello\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n", "hello", "X-T: 1\r\nY: 2\r\n", nil},
		{"letters as size", "zz\r\nhello\r\n0\r\n\r\n", "", "", ErrChunk},
		{"negative size", "-5\r\nhello\r\n0\r\n\r\n", "", "", ErrChunk},
		{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", "", "", ErrChunk},
		{"huge size", "ffffffffffffffffff\r\nx\r\n0\r\n\r\n", "", "", ErrChunk},
		{"empty size", "\r\nhello\r\n0\r\n\r\n", "", "", ErrChunk},
		{"digits after space", "5 6\r\nhello\r\n0\r\n\r\n", "", "", ErrChunk},
		{"CR in extension", "5;a\rb\r\nhello\r\n0\r\n\r\n", "", "", ErrChunk},
		{"data longer than size", "5\r\nhelloX\r\n0\r\n\r\n", "hello", "", ErrChunk},
		{"bad trailer", "0\r\nX T: 1\r\n\r\n", "", "", ErrTrailer},
		{"CR in trailer", "0\r\nX: a\rb\r\n\r\n", "", "", ErrChunk},
		{"truncated", "5\r\nhel", "hel", "", errShort},
	} {
		for _, step := range []int{1, 2, 3, 7, 1 << 20} {
			data, _, err := decodeAll([]byte(tc.in), step)
			if err != tc.err {
				t.Errorf("%s (step %d): err = %v, want %v", tc.name, step, err, tc.err)
				continue
			}
			if err == nil && data != tc.data {
				t.Errorf("%s (step %d): data %q, want %q", tc.name, step, data, tc.data)
			}
		}
	}
}

func TestChunkedStopsAtTheEnd(t *testing.T) {
	in := []byte("2\r\nok\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n")
	_, rest, err := decodeAll(in, 1<<20)
	if err != nil || string(in[rest:]) != "GET /next HTTP/1.1\r\n\r\n" {
		t.Fatalf("rest %q err %v", in[rest:], err)
	}
}

func TestChunkedTrailerLimit(t *testing.T) {
	in := "0\r\n" + strings.Repeat("X-Long: "+strings.Repeat("v", 100)+"\r\n", 100) + "\r\n"
	if _, _, err := decodeAll([]byte(in), 1<<20); err != ErrTrailer {
		t.Fatalf("err = %v, want %v", err, ErrTrailer)
	}
}
