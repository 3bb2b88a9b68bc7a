package rules

import (
	"bytes"
	"net/netip"
	"time"

	crules "github.com/tandem-lb/tandem/config/rules"
)

// iter carries a fetch's position between the values an ACL tries in turn
// (HAProxy's SMP_OPT_ITERATE and SMP_F_NOT_LAST): "hdr(x) -m str a"
// matches if any value of any x field is "a".
type iter struct {
	acl     bool // asked by an ACL: every value in turn
	more    bool // set by the fetch: another value may follow
	started bool // a value was fetched already (memo.go)
	a, b, c int  // fetch-specific positions
}

// eval evaluates an expression into smp: the fetch then each converter.
// The sample is written in place (it is 64 bytes: returning it by value
// through every level showed in profiles).
func (s *State) eval(e *expr, it *iter, smp *sample) bool {
	if !s.memoFetch(e, it, smp) {
		return false
	}
	for i := range e.convs {
		if !s.convert(&e.convs[i], smp) {
			return false
		}
	}
	return true
}

// fetch dispatches one fetch (configuration.txt 7.3.2-7.3.6).
func (s *State) fetch(e *expr, it *iter, smp *sample) (ok bool) {
	it.more, it.started = false, true
	switch e.group {
	case groupConn:
		*smp, ok, _ = s.fetchConn(e)
	case groupPayload:
		*smp, ok, _ = s.fetchPayload(e)
	case groupFields:
		*smp, ok, _ = s.fetchFields(e, it)
	case groupRequest:
		*smp, ok = s.fetchRequest(e, it)
	default:
		*smp, ok = s.fetchInternal(e)
	}
	return ok
}

// fetchGroup is chosen once per expression at compile time, so that a
// fetch is one switch away.
type fetchGroup uint8

const (
	groupInternal fetchGroup = iota
	groupConn
	groupPayload
	groupFields
	groupRequest
)

func groupOf(f crules.Fetch) fetchGroup {
	switch f {
	case crules.FetchSrc, crules.FetchSrcPort, crules.FetchDst, crules.FetchDstPort,
		crules.FetchSSLFc, crules.FetchSSLFcSNI, crules.FetchSSLFcALPN, crules.FetchSSLFcProtocol:
		return groupConn
	case crules.FetchSSLCUsed, crules.FetchSSLCVerify, crules.FetchSSLCErr, crules.FetchSSLCCaErr, crules.FetchSSLCCaErrDepth,
		crules.FetchSSLCSDN, crules.FetchSSLCIDN, crules.FetchSSLCSerial, crules.FetchSSLCSHA1, crules.FetchSSLCDER,
		crules.FetchSSLCNotBefore, crules.FetchSSLCNotAfter, crules.FetchSSLCVersion, crules.FetchSSLCSigAlg, crules.FetchSSLCKeyAlg,
		crules.FetchSSLFcHasCrt, crules.FetchSSLFcHasSNI, crules.FetchSSLFcCipher, crules.FetchSSLFcUseKeysize,
		crules.FetchSSLFcAlgKeysize, crules.FetchSSLFcIsResumed:
		return groupConn
	case crules.FetchReqLen, crules.FetchReqPayload, crules.FetchReqSSLSNI, crules.FetchReqSSLHelloType, crules.FetchReqSSLALPN:
		return groupPayload
	case crules.FetchReqHdr, crules.FetchReqFhdr, crules.FetchResHdr, crules.FetchResFhdr, crules.FetchReqHdrCnt,
		crules.FetchReqFhdrCnt, crules.FetchResHdrCnt, crules.FetchResFhdrCnt, crules.FetchReqHdrIP, crules.FetchResHdrIP,
		crules.FetchReqHdrVal, crules.FetchResHdrVal, crules.FetchReqCook, crules.FetchResCook, crules.FetchReqCookCnt,
		crules.FetchResCookCnt, crules.FetchReqCookVal, crules.FetchStatus, crules.FetchResVer:
		return groupFields
	case crules.FetchAlwaysFalse, crules.FetchAlwaysTrue, crules.FetchStr, crules.FetchInt, crules.FetchBool,
		crules.FetchIPv4, crules.FetchIPv6, crules.FetchVar, crules.FetchNbsrv, crules.FetchSrvIsUp,
		crules.FetchBeName, crules.FetchFeName, crules.FetchSrvName, crules.FetchDate:
		return groupInternal
	}
	return groupRequest
}

// fetchInternal handles constants, variables and the balancer's state.
func (s *State) fetchInternal(e *expr) (sample, bool) {
	in := &s.In
	switch e.fetch {
	case crules.FetchAlwaysTrue:
		return boolSample(true), true
	case crules.FetchAlwaysFalse:
		return boolSample(false), true
	case crules.FetchStr:
		return strSample(e.args[0].s), true
	case crules.FetchInt:
		return intSample(e.args[0].i), true
	case crules.FetchBool:
		v := e.args[0].str
		return boolSample(v == "1" || v == "true" || v == "TRUE" || v == "True"), true
	case crules.FetchIPv4, crules.FetchIPv6:
		smp := strSample(e.args[0].s)
		return smp, toAddr(&smp)
	case crules.FetchVar:
		if v, ok := s.varValue(e.args[0]); ok {
			return v, true
		}
		if len(e.args) > 1 {
			return strSample(e.args[1].s), true
		}
		return sample{}, false
	case crules.FetchNbsrv:
		be := in.Backend
		if len(e.args) > 0 {
			be = e.args[0].n
		}
		if be < 0 || in.Servers == nil {
			return intSample(0), true
		}
		return intSample(int64(in.Servers.Usable(be))), true
	case crules.FetchSrvIsUp:
		a := e.args[0]
		srv, ok := s.serverIndex(a)
		return boolSample(ok && in.Servers != nil && in.Servers.Up(a.n, srv)), true
	case crules.FetchBeName:
		if in.Backend < 0 {
			return sample{}, false
		}
		return strSample(s.prog.backends[in.Backend].nameB), true
	case crules.FetchFeName:
		if s.fe == nil {
			return sample{}, false
		}
		return strSample(s.fe.nameB), true
	case crules.FetchSrvName:
		return s.serverName()
	case crules.FetchDate:
		// configuration.txt 7.3.2 "date": the epoch in the unit, plus
		// the offset in that unit.
		now := in.Now
		if now.IsZero() {
			now = time.Now()
		}
		n := now.Unix()
		if len(e.args) > 1 {
			switch e.args[1].str {
			case "ms":
				n = now.UnixMilli()
			case "us":
				n = now.UnixMicro()
			}
		}
		if len(e.args) > 0 {
			n += e.args[0].i
		}
		return intSample(n), true
	}
	return sample{}, false
}

func (s *State) serverIndex(a arg) (int, bool) {
	if a.n < 0 || a.n >= len(s.prog.backends) {
		return 0, false
	}
	i, ok := s.prog.backends[a.n].serverByName[a.str]
	return i, ok
}

func (s *State) serverName() (sample, bool) {
	in := &s.In
	if in.Backend < 0 || in.Server < 0 {
		return sample{}, false
	}
	names := s.prog.backends[in.Backend].serverNames
	if in.Server >= len(names) {
		return sample{}, false
	}
	return strSample(names[in.Server]), true
}

// fetchConn handles layer 4 and 5 fetches.
func (s *State) fetchConn(e *expr) (smp sample, ok, handled bool) {
	c := s.In.Conn
	switch e.fetch {
	case crules.FetchSrc, crules.FetchSrcPort, crules.FetchDst, crules.FetchDstPort:
		if c == nil {
			return sample{}, false, true
		}
		src, dst := c.Addrs()
		ap := src
		if e.fetch == crules.FetchDst || e.fetch == crules.FetchDstPort {
			ap = dst
		}
		if !ap.IsValid() {
			return sample{}, false, true
		}
		if e.fetch == crules.FetchSrc || e.fetch == crules.FetchDst {
			return sample{t: crules.TypeAddr, a: ap.Addr()}, true, true
		}
		return intSample(int64(ap.Port())), true, true
	case crules.FetchSSLFc, crules.FetchSSLFcSNI, crules.FetchSSLFcALPN, crules.FetchSSLFcProtocol:
		var info TLSInfo
		tls := false
		if c != nil {
			info, tls = c.TLS()
		}
		var v string
		switch e.fetch {
		case crules.FetchSSLFc:
			return boolSample(tls), true, true
		case crules.FetchSSLFcSNI:
			v = info.SNI
		case crules.FetchSSLFcALPN:
			v = info.ALPN
		default:
			v = info.Version
		}
		if !tls || v == "" {
			return sample{}, false, true
		}
		b := s.alloc(len(v))
		copy(b, v)
		return strSample(b), true, true
	}
	return s.fetchSSL(e, c)
}

// fetchPayload handles the raw request bytes (tcp-request content):
// while more bytes may come, a missing value is "may change" (s.miss) and
// the rule waits (configuration.txt 4.2 "tcp-request inspect-delay").
// Only tcp-request content rules wait: every other stage evaluates as
// final (HAProxy passes SMP_OPT_FINAL there).
func (s *State) fetchPayload(e *expr) (smp sample, ok, handled bool) {
	p := s.In.Payload
	final := !s.partial
	switch e.fetch {
	case crules.FetchReqLen:
		if !final {
			s.miss = true
		}
		return intSample(int64(len(p))), true, true
	case crules.FetchReqPayload:
		off, n := e.args[0].i, e.args[1].i
		if n == 0 {
			n = int64(len(p)) - off
		}
		if off < 0 || n < 0 || off+n > int64(len(p)) {
			if !final {
				s.miss = true
			}
			return sample{}, false, true
		}
		return sample{t: crules.TypeBin, b: p[off : off+n]}, true, true
	case crules.FetchReqSSLHelloType:
		typ, err := HelloType(p)
		if err == ErrNeedMore && !final {
			s.miss = true
		}
		return intSample(int64(typ)), err == nil, true
	case crules.FetchReqSSLSNI, crules.FetchReqSSLALPN:
		h, err := ParseClientHello(p)
		if err == ErrNeedMore && !final {
			s.miss = true
		}
		v := h.SNI
		if e.fetch == crules.FetchReqSSLALPN {
			v = h.ALPN
		}
		if err != nil || v == nil {
			return sample{}, false, true
		}
		return strSample(v), true, true
	}
	return sample{}, false, false
}

// parseHdrIP reads an address header value as smp_fetch_hdr_ip does: a
// dotted IPv4 address at the start (anything after it, a port, ignored),
// else an IPv6 address.
func parseHdrIP(v []byte) (netip.Addr, bool) {
	end := 0
	for end < len(v) && (v[end] >= '0' && v[end] <= '9' || v[end] == '.') {
		end++
	}
	if end > 0 {
		if a, err := netip.ParseAddr(string(v[:end])); err == nil && a.Is4() {
			return a, true
		}
	}
	a, err := netip.ParseAddr(string(bytes.Trim(v, " \t")))
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a.WithZone(""), true
}
