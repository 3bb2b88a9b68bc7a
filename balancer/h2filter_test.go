package balancer

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"

	"github.com/tandem-lb/tandem/config"
)

// h2frame builds one frame.
func h2frame(typ, flags byte, stream uint32, payload []byte) []byte {
	f := []byte{byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typ, flags, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(f[5:], stream)
	return append(f, payload...)
}

func settingsPayload(pairs ...uint32) []byte {
	var p []byte
	for i := 0; i+1 < len(pairs); i += 2 {
		p = binary.BigEndian.AppendUint16(p, uint16(pairs[i]))
		p = binary.BigEndian.AppendUint32(p, pairs[i+1])
	}
	return p
}

// headerBlock HPACK-encodes fields ("name", "value", ...) with enc.
func headerBlock(enc *hpack.Encoder, buf *bytes.Buffer, fields ...string) []byte {
	buf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return append([]byte(nil), buf.Bytes()...)
}

// runFilter feeds in to a filter step bytes at a time.
func runFilter(in []byte, step int) ([]byte, error) {
	var f h2Filter
	var out, pending []byte
	for i := 0; i < len(in); i += step {
		pending = append(pending, in[i:min(i+step, len(in))]...)
		var used int
		var err error
		out, used, err = f.filter(pending, out)
		pending = pending[used:]
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func TestH2FilterPassesValidFramesUnchanged(t *testing.T) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	in := []byte(h2Preface)
	in = append(in, h2frame(h2FrameSettings, 0, 0, settingsPayload(3, 100, 4, 65535))...)
	req := headerBlock(enc, &buf, ":method", "GET", ":path", "/", ":scheme", "https", ":authority", "a", "te", "trailers", "x-a", "b")
	in = append(in, h2frame(h2FrameHeaders, 0, 1, req[:5])...) // split over CONTINUATION
	in = append(in, h2frame(h2FrameContinuation, h2FlagEndHeaders, 1, req[5:])...)
	in = append(in, h2frame(0x0, 0x1, 1, []byte("body"))...) // DATA
	big := bytes.Repeat([]byte("x"), h2MaxFrameSize+10)      // oversized: passed for the server to refuse
	in = append(in, h2frame(0x0, 0, 3, big)...)
	for _, step := range []int{1, 7, 9, 100, len(in)} {
		out, err := runFilter(in, step)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("step %d: err %v, output differs from input (%d vs %d bytes)", step, err, len(out), len(in))
		}
	}
}

func TestH2FilterKeepsTheLastOfRepeatedSettings(t *testing.T) {
	in := append([]byte(h2Preface), h2frame(h2FrameSettings, 0, 0, settingsPayload(4, 100, 3, 10, 4, 1))...)
	out, err := runFilter(in, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte(h2Preface), h2frame(h2FrameSettings, 0, 0, settingsPayload(3, 10, 4, 1))...)
	if !bytes.Equal(out, want) {
		t.Fatalf("got %x, want %x", out, want)
	}
	// An invalid value among the repeats stays, so the server refuses it.
	in = append([]byte(h2Preface), h2frame(h2FrameSettings, 0, 0, settingsPayload(4, 1<<31, 4, 1))...)
	out, _ = runFilter(in, len(in))
	want = append([]byte(h2Preface), h2frame(h2FrameSettings, 0, 0, settingsPayload(4, 1<<31))...)
	if !bytes.Equal(out, want) {
		t.Fatalf("invalid repeat: got %x, want %x", out, want)
	}
}

func TestH2FilterRefusesConnectionSpecificFields(t *testing.T) {
	for _, f := range [][2]string{{"connection", "keep-alive"}, {"keep-alive", "5"}, {"proxy-connection", "x"},
		{"transfer-encoding", "chunked"}, {"upgrade", "h2c"}, {"te", "gzip"}, {"te", "trailers, deflate"}} {
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		// A valid request first, so the dynamic table is in use.
		ok := headerBlock(enc, &buf, ":method", "GET", ":path", "/", "x-a", "b")
		bad := headerBlock(enc, &buf, ":method", "GET", ":path", "/", f[0], f[1])
		in := append([]byte(h2Preface), h2frame(h2FrameHeaders, h2FlagEndHeaders, 1, ok)...)
		in = append(in, h2frame(h2FrameHeaders, h2FlagEndHeaders|h2FlagPadded, 3, append(append([]byte{2}, bad...), 0, 0))...)
		out, err := runFilter(in, 5)
		if err != errH2Malformed {
			t.Errorf("%s: %s: err %v, want the connection refused", f[0], f[1], err)
		}
		if bytes.Contains(out, bad) {
			t.Errorf("%s: the malformed request reached the server", f[0])
		}
	}
}

// FuzzH2Filter checks the filter's invariants on any byte stream: the
// output does not depend on how the input is split into reads, it is
// never longer than the input, and a stream without repeated settings
// passes unchanged unless refused.
func FuzzH2Filter(f *testing.F) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	req := headerBlock(enc, &buf, ":method", "GET", ":path", "/", "te", "trailers")
	seeds := [][]byte{
		append([]byte(h2Preface), h2frame(h2FrameSettings, 0, 0, settingsPayload(4, 100, 4, 1))...),
		append([]byte(h2Preface), h2frame(h2FrameHeaders, h2FlagEndHeaders|h2FlagPriority, 1, append(make([]byte, 5), req...))...),
		append([]byte(h2Preface), h2frame(h2FrameHeaders, 0, 1, req[:2])...),
		append([]byte(h2Preface), h2frame(h2FrameContinuation, h2FlagEndHeaders, 1, req)...),
		append([]byte(h2Preface), h2frame(h2FrameHeaders, h2FlagEndHeaders|h2FlagPadded, 1, []byte{200})...),
		append([]byte(h2Preface), h2frame(h2FrameHeaders, h2FlagEndHeaders, 1, []byte{0xff, 0xff})...),
		[]byte(h2Preface[:10]),
	}
	for _, s := range seeds {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, in []byte, step int) {
		if step <= 0 {
			step = 1
		}
		whole, errWhole := runFilter(in, len(in)+1)
		split, errSplit := runFilter(in, step)
		if (errWhole == nil) != (errSplit == nil) || (errWhole == nil && !bytes.Equal(whole, split)) {
			t.Fatalf("split reads changed the result: %v/%v, %x vs %x", errWhole, errSplit, whole, split)
		}
		if len(whole) > len(in) {
			t.Fatalf("output longer than input")
		}
	})
}

// TestH2Spec runs h2spec (a tool dependency: go tool h2spec) against an
// HTTP/2 TLS frontend: every test must pass, as with HAProxy.
func TestH2Spec(t *testing.T) {
	if testing.Short() {
		t.Skip("h2spec: not in -short")
	}
	for _, tlsOn := range []bool{true, false} {
		t.Run(map[bool]string{true: "TLS", false: "h2c"}[tlsOn], func(t *testing.T) {
			// Some tests need a body larger than the window sizes they set.
			s := newSite(t, "s1", func(w http.ResponseWriter, r *http.Request) { w.Write(bytes.Repeat([]byte("x"), 1024)) })
			c := cluster(srv("s1", s.addr()))
			args := []string{"tool", "h2spec", "-o", "5"}
			if tlsOn {
				cert, key := selfSigned(t)
				c.Frontends[0].TLS = &config.TLS{Cert: cert, Key: key}
				args = append(args, "-t", "-k")
			} else {
				// HTTP/2 only: an invalid preface is not HTTP/1 to answer.
				c.Frontends[0].H2C = "only"
			}
			e := start(t, c)
			host, port, _ := strings.Cut(e.addr("fe"), ":")
			out, err := exec.Command("go", append(args, "-h", host, "-p", port)...).CombinedOutput()
			summary := string(out)
			if i := strings.LastIndex(summary, "Failures:"); i >= 0 {
				summary = summary[i:]
			}
			if err != nil || !strings.Contains(string(out), "145 tests, 145 passed, 0 skipped, 0 failed") {
				t.Fatalf("h2spec: %v\n%s", err, tail(summary, 4000))
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
