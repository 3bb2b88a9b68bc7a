package rules

import (
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

// toInt converts a sample to an integer (c_str2int reads a leading
// signed decimal number and fails on anything else).
func toInt(smp *sample) bool {
	switch smp.t {
	case crules.TypeInt, crules.TypeBool:
	case crules.TypeStr, crules.TypeBin:
		n, ok := parseLeadingInt(smp.b, false)
		if !ok {
			return false
		}
		smp.i = n
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

// parseLeadingInt reads [+-]digits; prefixOK allows trailing bytes
// (hdr_val reads "12abc" as 12).
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
