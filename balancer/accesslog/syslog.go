package accesslog

import (
	"fmt"
	"strconv"
	"time"
)

// Format is a log target's header format (section 4.2, "log ... format").
type Format uint8

const (
	FormatLocal    Format = iota // RFC 3164 without the hostname (HAProxy's default)
	FormatRFC3164                // <PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG
	FormatRFC5424                // <PRI>1 ISODATE HOST TAG PID - SD MSG
	FormatPriority               // <PRI>MSG
	FormatShort                  // <LEVEL>MSG (what systemd reads)
	FormatTimed                  // <LEVEL>ISODATE MSG
	FormatISO                    // ISODATE MSG
	FormatRaw                    // MSG
)

var formatNames = [...]string{"local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if s == n {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("unknown log format %q (want one of local, rfc3164, rfc5424, priority, short, timed, iso, raw)", s)
}

// Level is a syslog severity, emerg (0) to debug (7).
type Level uint8

const (
	LevelEmerg Level = iota
	LevelAlert
	LevelCrit
	LevelErr
	LevelWarning
	LevelNotice
	LevelInfo
	LevelDebug
)

var levelNames = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "level(" + strconv.Itoa(int(l)) + ")"
}

// ParseLevel reads a level name.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if s == n {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("unknown log level %q (want one of emerg, alert, crit, err, warning, notice, info, debug)", s)
}

// Facility is one of the 24 syslog facilities.
type Facility uint8

var facilityNames = [...]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

func (f Facility) String() string {
	if int(f) < len(facilityNames) {
		return facilityNames[f]
	}
	return "facility(" + strconv.Itoa(int(f)) + ")"
}

// ParseFacility reads a facility name.
func ParseFacility(s string) (Facility, error) {
	for i, n := range facilityNames {
		if s == n {
			return Facility(i), nil
		}
	}
	return 0, fmt.Errorf("unknown log facility %q (want one of kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, auth2, ftp, ntp, audit, alert, cron2, local0 to local7)", s)
}

// Header is what a syslog header carries besides the message.
type Header struct {
	Format   Format
	Facility Facility
	Level    Level
	// Time is written in its own zone: pass local time (time.Now()), as
	// HAProxy writes its headers.
	Time     time.Time
	Hostname string // RFC 3164 and 5424 (HAProxy's log-send-hostname); "": none
	Tag      string // the program name ("haproxy" for HAProxy)
	PID      int
	// SD is RFC 5424's structured data, already formatted
	// (log-format-sd); empty: "-".
	SD []byte
}

// DefaultMaxLen is the longest line a target sends unless told otherwise
// (header included, line feed excluded), HAProxy's default "len".
const DefaultMaxLen = 1024

// AppendFrame appends one syslog line: h's header, then msg, cut so that
// both take at most maxLen bytes (≤ 0: DefaultMaxLen), then a line feed,
// as HAProxy's __do_send_log sends it.
func AppendFrame(dst []byte, h *Header, msg []byte, maxLen int) []byte {
	if maxLen <= 0 {
		maxLen = DefaultMaxLen
	}
	start := len(dst)
	dst = appendHeader(dst, h)
	if len(dst)-start >= maxLen {
		dst = dst[:start+maxLen]
	} else {
		room := maxLen - (len(dst) - start)
		dst = append(dst, cut(msg, room)...)
	}
	return append(dst, '\n')
}

func appendHeader(dst []byte, h *Header) []byte {
	switch h.Format {
	case FormatLocal, FormatRFC3164, FormatRFC5424, FormatPriority:
		dst = appendPRI(dst, int(h.Facility)<<3+int(h.Level))
	case FormatTimed, FormatShort:
		dst = appendPRI(dst, int(h.Level))
	}
	switch h.Format {
	case FormatLocal, FormatRFC3164:
		dst = appendLegacyTime(dst, h.Time)
		if h.Format == FormatRFC3164 {
			if h.Hostname != "" {
				dst = append(dst, h.Hostname...)
			} else {
				dst = append(dst, "localhost"...)
			}
			dst = append(dst, ' ')
		}
		if h.Tag != "" {
			dst = append(dst, h.Tag...)
			dst = append(dst, '[')
			dst = strconv.AppendInt(dst, int64(h.PID), 10)
			dst = append(dst, "]: "...)
		}
	case FormatRFC5424:
		dst = append(dst, "1 "...)
		dst = appendISOTime(dst, h.Time)
		dst = appendNil(dst, h.Hostname)
		dst = appendNil(dst, h.Tag)
		dst = strconv.AppendInt(dst, int64(h.PID), 10)
		dst = append(dst, " - "...) // MSGID
		sd := h.SD
		for len(sd) > 0 && sd[len(sd)-1] == ' ' {
			sd = sd[:len(sd)-1]
		}
		if len(sd) == 0 {
			dst = append(dst, '-')
		} else {
			dst = append(dst, sd...)
		}
		dst = append(dst, ' ')
	case FormatTimed, FormatISO:
		dst = appendISOTime(dst, h.Time)
	}
	return dst
}

func appendPRI(dst []byte, pri int) []byte {
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(pri), 10)
	return append(dst, '>')
}

func appendNil(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "- "...)
	}
	dst = append(dst, s...)
	return append(dst, ' ')
}

// appendLegacyTime writes "Feb  6 12:14:14 " (RFC 3164, day padded with a
// space).
func appendLegacyTime(dst []byte, t time.Time) []byte {
	_, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = append(dst, months[3*(mo-1):3*mo]...)
	dst = append(dst, ' ')
	if d < 10 {
		dst = append(dst, ' ')
	}
	dst = strconv.AppendInt(dst, int64(d), 10)
	dst = append(dst, ' ')
	dst = appendPad(dst, h, 2)
	dst = append(dst, ':')
	dst = appendPad(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendPad(dst, s, 2)
	return append(dst, ' ')
}

// appendISOTime writes "2009-02-06T12:14:14.655123+01:00 " (HAProxy's
// timeofday_as_iso_us: microseconds, local offset).
func appendISOTime(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = appendPad(dst, y, 4)
	dst = append(dst, '-')
	dst = appendPad(dst, int(mo), 2)
	dst = append(dst, '-')
	dst = appendPad(dst, d, 2)
	dst = append(dst, 'T')
	dst = appendPad(dst, h, 2)
	dst = append(dst, ':')
	dst = appendPad(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendPad(dst, s, 2)
	dst = append(dst, '.')
	dst = appendPad(dst, t.Nanosecond()/1e3, 6)
	dst = appendZone(dst, t, ":")
	return append(dst, ' ')
}
