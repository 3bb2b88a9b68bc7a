package rules

import (
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// Pattern is one ACL or map pattern parsed for its match method.
type Pattern struct {
	// Text is the pattern as written: strings, regexes, methods, groups.
	Text string
	// Min and Max bound integer and length patterns (inclusive); a bound
	// that is absent is math.MinInt64 / math.MaxInt64.
	Min, Max int64
	// Prefix is the network of an ip pattern.
	Prefix netip.Prefix
	// Bin is the block of a bin pattern.
	Bin []byte
}

// Op is an integer comparison operator (configuration.txt 7.1.2).
type Op uint8

const (
	OpEq Op = iota
	OpGe
	OpGt
	OpLe
	OpLt
)

func opByName(s string) (Op, bool) {
	switch s {
	case "eq":
		return OpEq, true
	case "ge":
		return OpGe, true
	case "gt":
		return OpGt, true
	case "le":
		return OpLe, true
	case "lt":
		return OpLt, true
	}
	return OpEq, false
}

// parsePattern parses one pattern for match method m; t is the type of the
// sample it will be compared with.
func (p *parser) parsePattern(m Match, op Op, text string, t Type) (Pattern, error) {
	if m == MatchGroup && !p.groupExists(text) {
		return Pattern{Text: text}, fmt.Errorf("group %q does not exist in userlist %q", text, p.userlist)
	}
	return parsePatternText(m, op, text)
}

func parsePatternText(m Match, op Op, text string) (Pattern, error) {
	pat := Pattern{Text: text}
	switch m {
	case MatchInt, MatchLen:
		lo, hi, err := parseIntRange(text)
		if err != nil {
			return pat, err
		}
		pat.Min, pat.Max = applyOp(op, lo, hi)
	case MatchIP:
		pfx, err := ParseIPPattern(text)
		if err != nil {
			return pat, err
		}
		pat.Prefix = pfx
	case MatchBin:
		b, err := hex.DecodeString(text)
		if err != nil {
			return pat, fmt.Errorf("%q is not an even number of hex digits", text)
		}
		pat.Bin = b
	case MatchReg, MatchRegm:
		if err := checkRegex(text); err != nil {
			return pat, err
		}
	}
	return pat, nil
}

// parseIntRange parses "N", "N:M", ":M", "N:" (or '-' for ':'), as
// pattern.c pat_parse_int does: integer patterns are not negative.
func parseIntRange(s string) (lo, hi int64, err error) {
	lo, hi = math.MinInt64, math.MaxInt64
	sep := strings.IndexAny(s, ":-")
	num := func(t string) (int64, error) {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not an integer or a range like 1024:65535", s)
		}
		return n, nil
	}
	switch {
	case s == "":
		return 0, 0, fmt.Errorf("empty integer pattern")
	case sep < 0:
		lo, err = num(s)
		hi = lo
	case sep == 0 && len(s) > 1:
		hi, err = num(s[1:])
	case sep == len(s)-1:
		lo, err = num(s[:sep])
	default:
		if lo, err = num(s[:sep]); err == nil {
			hi, err = num(s[sep+1:])
		}
	}
	return lo, hi, err
}

// applyOp turns "OP N" into a range, as acl.c does ("lt x" is ":x-1").
func applyOp(op Op, lo, hi int64) (int64, int64) {
	if lo != hi {
		return lo, hi // operators do not apply to ranges
	}
	switch op {
	case OpGe:
		return lo, math.MaxInt64
	case OpGt:
		return lo + 1, math.MaxInt64
	case OpLe:
		return math.MinInt64, lo
	case OpLt:
		return math.MinInt64, lo - 1
	}
	return lo, hi
}

// ParseIPPattern parses an ip pattern (configuration.txt 7.1.6): an IPv4
// address in dotted or abbreviated form ("10.12" is 10.0.0.12) with an
// optional "/bits" or dotted mask, or an IPv6 address with "/bits". Host
// names are not resolved (the config is the same on every node).
func ParseIPPattern(s string) (netip.Prefix, error) {
	addr, mask, hasMask := strings.Cut(s, "/")
	if a, err := netip.ParseAddr(addr); err == nil && a.Is6() {
		bits := 128
		if hasMask {
			n, err := strconv.Atoi(mask)
			if err != nil || n < 0 || n > 128 {
				return netip.Prefix{}, fmt.Errorf("%q: an IPv6 mask is a bit count 0-128", s)
			}
			bits = n
		}
		return netip.PrefixFrom(a.WithZone(""), bits).Masked(), nil
	}
	a, ok := parseIPv4(addr)
	if !ok {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 address (host names are not resolved)", s)
	}
	bits := 32
	if hasMask {
		if bits, ok = parseMask4(mask); !ok {
			return netip.Prefix{}, fmt.Errorf("%q: want a mask like /24 or /255.255.255.0 (contiguous)", s)
		}
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

// parseIPv4 reads an IPv4 address as inet_aton does: "a.b.c.d", "a.b.c"
// (c is 16 bits), "a.b" (b is 24 bits), "a" (32 bits).
func parseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 || s == "" {
		return netip.Addr{}, false
	}
	var v uint64
	for i, part := range parts {
		if part == "" || strings.ContainsAny(part, "+-") {
			return netip.Addr{}, false
		}
		n, err := strconv.ParseUint(part, 10, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		rest := 8 * (4 - i) // bits left for the last part
		if rest < 64 && n >= 1<<rest {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseMask4 parses a bit count or a contiguous dotted mask.
func parseMask4(s string) (int, bool) {
	if !strings.Contains(s, ".") {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0 && n <= 32
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, false
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for bits < 32 && m&(1<<(31-bits)) != 0 {
		bits++
	}
	if bits < 32 && m<<bits != 0 {
		return 0, false // not contiguous
	}
	return bits, true
}

// FileLine is one pattern of a pattern file with its line number.
type FileLine struct {
	Line int
	Text string
}

// ParsePatternFile reads an ACL pattern file as HAProxy does (pattern.c
// pat_ref_read_from_file, configuration.txt 7.1 "-f"): one pattern per
// line; a line starting with '#' is a comment, leading spaces and tabs are
// stripped ("  #x" is the pattern "#x"), empty lines are ignored, the rest
// of the line up to CR or LF is the pattern, trailing spaces included.
func ParsePatternFile(content string) []FileLine {
	var out []FileLine
	for n, line := range splitLines(content) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimLeft(line, " \t")
		if i := strings.IndexAny(line, "\r\x00"); i >= 0 {
			line = line[:i]
		}
		if line != "" {
			out = append(out, FileLine{Line: n + 1, Text: line})
		}
	}
	return out
}

// MapEntry is one key and value of a map file.
type MapEntry struct {
	Line       int
	Key, Value string
}

// ParseMapFile reads a map file as HAProxy does (configuration.txt 7.3.1
// "map", pattern.c pat_ref_read_from_file_smp): '#' at the start of a line
// is a comment, leading spaces and tabs are stripped, the key is the first
// word, the value is the rest of the line without the spaces around it
// (it may be empty).
func ParseMapFile(content string) ([]MapEntry, error) {
	var out []MapEntry
	for n, line := range splitLines(content) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimLeft(line, " \t")
		if i := strings.IndexAny(line, "\r\x00"); i >= 0 {
			line = line[:i]
		}
		if line == "" {
			continue
		}
		key, value := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			key = line[:i]
			value = strings.Trim(line[i:], " \t")
		}
		out = append(out, MapEntry{Line: n + 1, Key: key, Value: value})
	}
	return out, nil
}

func splitLines(content string) []string {
	lines := strings.Split(content, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	return lines
}

// Map is a map file parsed for one match method and output type.
type Map struct {
	Items []MapItem
}

// MapItem is one entry of a Map.
type MapItem struct {
	Line  int
	Key   Pattern
	Value string // the value as written
	Int   int64  // the value of an _int map
	Addr  netip.Addr
}

// ParseMap parses a map file for the converter that uses it: keys are
// patterns of the match method, values of the output type (configuration.txt
// 7.3.1 "map"). Errors name the line.
func ParseMap(content string, m Match, out Type) (*Map, error) {
	entries, err := ParseMapFile(content)
	if err != nil {
		return nil, err
	}
	mp := &Map{Items: make([]MapItem, 0, len(entries))}
	for _, e := range entries {
		key, err := parsePatternText(m, OpEq, e.Key)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", e.Line, err)
		}
		it := MapItem{Line: e.Line, Key: key, Value: e.Value}
		switch out {
		case TypeInt:
			if it.Int, err = strconv.ParseInt(e.Value, 10, 64); err != nil {
				return nil, fmt.Errorf("line %d: value %q is not an integer", e.Line, e.Value)
			}
		case TypeAddr:
			pfx, err := ParseIPPattern(e.Value)
			if err != nil || pfx.Bits() != pfx.Addr().BitLen() {
				return nil, fmt.Errorf("line %d: value %q is not an IP address", e.Line, e.Value)
			}
			it.Addr = pfx.Addr()
		}
		mp.Items = append(mp.Items, it)
	}
	return mp, nil
}
