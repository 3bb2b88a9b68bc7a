package rules

import (
	"math"
	"net/netip"
	"strconv"

	crules "github.com/tandem-lb/tandem/config/rules"
)

// sample is a fetched or converted value. b may point into the request
// head, the payload or the State's arena: never into a buffer that changes
// before the value is used.
type sample struct {
	t crules.Type
	b []byte
	i int64
	a netip.Addr
}

func boolSample(v bool) sample {
	if v {
		return sample{t: crules.TypeBool, i: 1}
	}
	return sample{t: crules.TypeBool}
}

func intSample(n int64) sample { return sample{t: crules.TypeInt, i: n} }

func strSample(b []byte) sample { return sample{t: crules.TypeStr, b: b} }

// toStr converts a sample to a string in place (HAProxy's c_*2str casts);
// the State provides space for the digits of numbers and addresses.
func (s *State) toStr(smp *sample) bool {
	switch smp.t {
	case crules.TypeStr, crules.TypeBin, crules.TypeMeth:
	case crules.TypeBool, crules.TypeInt:
		smp.b = strconv.AppendInt(s.alloc(20)[:0], smp.i, 10)
	case crules.TypeAddr:
		smp.b = smp.a.AppendTo(s.alloc(46)[:0])
	default:
		return false
	}
	smp.t = crules.TypeStr
	return true
}

// toInt converts a sample to an integer as HAProxy's c_str2int does: an
// empty string fails; otherwise the leading signed decimal number, 0 when
// there is none ("abc" is 0, "42x" is 42; tools.c read_int64).
func toInt(smp *sample) bool {
	switch smp.t {
	case crules.TypeInt, crules.TypeBool:
	case crules.TypeStr, crules.TypeBin:
		if len(smp.b) == 0 {
			return false
		}
		smp.i = readInt64(smp.b)
	case crules.TypeAddr:
		if !smp.a.Is4() {
			return false
		}
		b := smp.a.As4()
		smp.i = int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
	default:
		return false
	}
	smp.t = crules.TypeInt
	return true
}

// readInt64 is tools.c read_int64: an optional sign, then the leading
// digits (none: 0), saturating at the int64 bounds.
func readInt64(b []byte) int64 {
	i, neg := 0, false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	var n uint64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if n > (math.MaxUint64-d)/10 {
			n = math.MaxUint64
			break
		}
		n = n*10 + d
	}
	switch {
	case neg && n > 1<<63:
		return math.MinInt64
	case neg:
		return -int64(n)
	case n > math.MaxInt64:
		return math.MaxInt64
	}
	return int64(n)
}

// strl2ic is tools.c strl2ic, which hdr_val, urlp_val and cook_val use: a
// C int built digit by digit until a byte above '9'. Bytes below '0' (a
// space, '+', '.', a byte of 0x80 or more as a signed char) count as
// negative digits, so "+10" is -490 and "1.5" is 85: HAProxy's result,
// kept because routing depends on it.
func strl2ic(b []byte) int64 {
	var n int32
	if len(b) == 0 {
		return 0
	}
	if b[0] != '-' {
		for _, c := range b {
			d := int32(int8(c)) - '0'
			if d > 9 {
				break
			}
			n = n*10 + d
		}
		return int64(n)
	}
	for _, c := range b[1:] {
		d := int32(int8(c)) - '0'
		if d > 9 {
			break
		}
		n = n*10 - d
	}
	return int64(n)
}

// parseLeadingInt reads [+-]digits; prefixOK allows trailing bytes.
func parseLeadingInt(b []byte, prefixOK bool) (int64, bool) {
	i, neg := 0, false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	start := i
	var n int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	if i == start || (!prefixOK && i != len(b)) {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func toAddr(smp *sample) bool {
	switch smp.t {
	case crules.TypeAddr:
		return true
	case crules.TypeStr, crules.TypeBin:
		a, err := netip.ParseAddr(string(smp.b)) // string(b) in a call argument does not allocate
		if err != nil {
			return false
		}
		smp.a = a.WithZone("")
	case crules.TypeInt:
		v := uint32(smp.i)
		smp.a = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	default:
		return false
	}
	smp.t = crules.TypeAddr
	return true
}

// cast converts smp to the type a converter or matcher takes.
func (s *State) cast(smp *sample, to crules.Type) bool {
	if smp.t == to || to == crules.TypeAny {
		return true
	}
	switch to {
	case crules.TypeStr, crules.TypeBin:
		if s.toStr(smp) {
			smp.t = to
			return true
		}
	case crules.TypeInt:
		return toInt(smp)
	case crules.TypeBool:
		if toInt(smp) {
			smp.t = crules.TypeBool
			if smp.i != 0 {
				smp.i = 1
			}
			return true
		}
	case crules.TypeAddr:
		return toAddr(smp)
	case crules.TypeMeth:
		if smp.t == crules.TypeStr || smp.t == crules.TypeBin {
			smp.t = crules.TypeMeth
			return true
		}
	}
	return false
}
