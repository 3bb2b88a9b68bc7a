package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that reads HAProxy's time format ("2000" = 2000
// ms, "5000ms", "50s", "1m", "1h", "1d", "100us") as well as Go's ("1m30s"),
// and writes Go's. Zero means "unset: inherit".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

var haproxyUnits = []struct {
	suffix string
	unit   time.Duration
}{
	{"us", time.Microsecond},
	{"ms", time.Millisecond},
	{"s", time.Second},
	{"m", time.Minute},
	{"h", time.Hour},
	{"d", 24 * time.Hour},
}

// ParseDuration parses HAProxy's time format: a non-negative integer with an
// optional unit (us, ms, s, m, h, d; none means milliseconds). Go duration
// strings such as "1m30s" or "1.5s" are accepted too.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	num := strings.TrimRight(s, "abcdefghijklmnopqrstuvwxyz")
	unit := s[len(num):]
	if n, err := strconv.ParseUint(num, 10, 63); err == nil {
		if unit == "" {
			return checkedMul(s, n, time.Millisecond)
		}
		for _, u := range haproxyUnits {
			if unit == u.suffix {
				return checkedMul(s, n, u.unit)
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number with unit us, ms, s, m, h or d (bare number = ms)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: negative", s)
	}
	return d, nil
}

func checkedMul(s string, n uint64, unit time.Duration) (time.Duration, error) {
	if n > uint64(1<<62)/uint64(unit) {
		return 0, fmt.Errorf("invalid duration %q: too large", s)
	}
	return time.Duration(n) * unit, nil
}
