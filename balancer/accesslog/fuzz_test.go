package accesslog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzLogFormat: Compile never panics; an error says where, inside the
// string; a compiled format formats a full and an empty record without
// panicking; a format without control bytes makes lines without them; a
// format without '%' logs itself with its spaces merged.
func FuzzLogFormat(f *testing.F) {
	for _, s := range []string{
		HTTPLog, TCPLog, HTTPLogCLF, HTTPSLog, "", " ", "%", "%%", "%{", "%{+Q}", "%{+Q}o %b", "%[", "%[src",
		"%[src,hex,lower]", "%[capture.req.hdr(0)]", "%[capture.res.hdr(9)]", "%[req.hdr(host)]", "%Xy", "% 1", "%5",
		"a%.b", "%{+X}ci:%{+X}cp %{+E}r %{-M}ID", "%HM %HU %HP %HPO %HQ %HV %hrl %hsl %Tl %trl", "x  y   z",
		"%[src(1)]", "%[src(]", "%[nosuch]", "%[src,nosuch]", "%{+Q,-M,+E,+X,+Z}s",
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, format string, http bool) {
		o := Options{HTTP: http, RequestCaptures: []Capture{{"Host", 8}}, ResponseCaptures: []Capture{{"Server", 0}}}
		p, err := Compile(format, o)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Pos < 0 || e.Pos > len(format) || e.Msg == "" {
				t.Fatalf("Compile(%q): %v is not an *Error inside the string", format, err)
			}
			return
		}
		full := httpRecord()
		full.HTTP = http
		full.ReqCaptures = full.ReqCaptures[:1]
		line := p.Append(nil, full)
		p.Append(nil, &Record{})
		if !hasControl(format) && hasControl(string(line)) {
			t.Fatalf("format %q without control bytes logged %q", format, line)
		}
		if !strings.Contains(format, "%") {
			if want := mergeSpaces(format); string(line) != want {
				t.Fatalf("literal format %q logged %q, want %q", format, line, want)
			}
		}
	})
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// mergeSpaces is what HAProxy makes of literal text: runs of spaces become
// one, leading ones vanish.
func mergeSpaces(s string) string {
	var b strings.Builder
	space := true
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		b.WriteByte(s[i])
		space = false
	}
	return b.String()
}

// FuzzFrame: a frame is never longer than its len plus the line feed,
// ends with exactly one, and starts with the message's first bytes when
// the format has no header.
func FuzzFrame(f *testing.F) {
	for i := range formatNames {
		f.Add(uint8(i), uint8(16), uint8(6), "lb1", "tandem", "[sd@1 a=\"b\"] ", "message", 1024)
	}
	f.Add(uint8(2), uint8(200), uint8(200), "", "", "   ", "", 80)
	f.Fuzz(func(t *testing.T, format, facility, level uint8, host, tag, sd, msg string, maxLen int) {
		h := Header{Format: Format(format % uint8(len(formatNames))), Facility: Facility(facility % 24), Level: Level(level % 8),
			Time: base, Hostname: host, Tag: tag, PID: 1, SD: []byte(sd)}
		if maxLen > 1<<16 || maxLen < -1 {
			maxLen = 1 << 16
		}
		out := AppendFrame([]byte("prefix"), &h, []byte(msg), maxLen)
		frame := out[len("prefix"):]
		limit := maxLen
		if limit <= 0 {
			limit = DefaultMaxLen
		}
		if len(frame) > limit+1 || frame[len(frame)-1] != '\n' {
			t.Fatalf("frame of %d bytes for len %d: %q", len(frame), maxLen, frame)
		}
		if h.Format == FormatRaw && !bytes.HasPrefix([]byte(msg), frame[:len(frame)-1]) {
			t.Fatalf("raw frame %q is not the message %q", frame, msg)
		}
	})
}
