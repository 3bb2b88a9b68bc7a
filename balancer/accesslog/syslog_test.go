package accesslog

import (
	"strings"
	"testing"
	"time"
)

// TestFrames checks each header format against the bytes HAProxy 2.6's
// build_log_header writes (src/log.c; section 4.2 "log ... format").
func TestFrames(t *testing.T) {
	at := time.Date(2009, 2, 6, 12, 14, 14, 655_123_000, time.FixedZone("", 3600))
	msg := []byte("the message")
	tests := []struct {
		h    Header
		want string
	}{
		{Header{Format: FormatLocal, Facility: 16, Level: LevelInfo, Tag: "haproxy", PID: 14389},
			"<134>Feb  6 12:14:14 haproxy[14389]: the message\n"},
		{Header{Format: FormatRFC3164, Facility: 16, Level: LevelInfo, Tag: "haproxy", PID: 14389},
			"<134>Feb  6 12:14:14 localhost haproxy[14389]: the message\n"},
		{Header{Format: FormatRFC3164, Facility: 3, Level: LevelErr, Hostname: "lb1", Tag: "tandem", PID: 7},
			"<27>Feb  6 12:14:14 lb1 tandem[7]: the message\n"},
		{Header{Format: FormatRFC5424, Facility: 16, Level: LevelInfo, Tag: "haproxy", PID: 14389},
			"<134>1 2009-02-06T12:14:14.655123+01:00 - haproxy 14389 - - the message\n"},
		{Header{Format: FormatRFC5424, Facility: 23, Level: LevelDebug, Hostname: "lb1", Tag: "tandem", PID: 7, SD: []byte(`[x@1 a="b"]  `)},
			`<191>1 2009-02-06T12:14:14.655123+01:00 lb1 tandem 7 - [x@1 a="b"] the message` + "\n"},
		{Header{Format: FormatPriority, Facility: 1, Level: LevelNotice}, "<13>the message\n"},
		{Header{Format: FormatShort, Facility: 16, Level: LevelErr}, "<3>the message\n"},
		{Header{Format: FormatTimed, Facility: 16, Level: LevelInfo}, "<6>2009-02-06T12:14:14.655123+01:00 the message\n"},
		{Header{Format: FormatISO, Facility: 16, Level: LevelInfo}, "2009-02-06T12:14:14.655123+01:00 the message\n"},
		{Header{Format: FormatRaw, Facility: 16, Level: LevelInfo}, "the message\n"},
	}
	for _, tc := range tests {
		t.Run(tc.h.Format.String(), func(t *testing.T) {
			tc.h.Time = at
			if got := string(AppendFrame(nil, &tc.h, msg, 0)); got != tc.want {
				t.Fatalf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestFrameIsCutToMaxLen: header and message together take at most len
// bytes, then the line feed.
func TestFrameIsCutToMaxLen(t *testing.T) {
	h := Header{Format: FormatShort, Level: LevelInfo}
	msg := []byte(strings.Repeat("x", 200))
	got := AppendFrame(nil, &h, msg, 80)
	if len(got) != 81 || got[80] != '\n' || string(got[:3]) != "<6>" {
		t.Fatalf("got %d bytes %q", len(got), got)
	}
	if got := AppendFrame(nil, &h, msg, 0); len(got) != 3+200+1 {
		t.Fatalf("default len cut a short line: %d bytes", len(got))
	}
	long := []byte(strings.Repeat("y", 2000))
	if got := AppendFrame(nil, &h, long, 0); len(got) != DefaultMaxLen+1 {
		t.Fatalf("default len: %d bytes, want %d", len(got), DefaultMaxLen+1)
	}
}

func TestParseNames(t *testing.T) {
	for i, n := range facilityNames {
		if f, err := ParseFacility(n); err != nil || int(f) != i || f.String() != n {
			t.Errorf("facility %s: %v %v", n, f, err)
		}
	}
	for i, n := range levelNames {
		if l, err := ParseLevel(n); err != nil || int(l) != i || l.String() != n {
			t.Errorf("level %s: %v %v", n, l, err)
		}
	}
	for i, n := range formatNames {
		if f, err := ParseFormat(n); err != nil || int(f) != i || f.String() != n {
			t.Errorf("format %s: %v %v", n, f, err)
		}
	}
	for _, bad := range []string{"", "LOCAL0", "local8", "info "} {
		if _, err := ParseFacility(bad); err == nil {
			t.Errorf("facility %q accepted", bad)
		}
		if _, err := ParseLevel(bad); err == nil {
			t.Errorf("level %q accepted", bad)
		}
		if _, err := ParseFormat(bad); err == nil {
			t.Errorf("format %q accepted", bad)
		}
	}
}
