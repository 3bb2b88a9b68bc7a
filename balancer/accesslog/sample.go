package accesslog

import (
	"sort"
	"strconv"
	"strings"
)

// fetch is a sample fetch that %[...] may name: the cheap ones, read from
// the Record (HAProxy's section 7.3 names and results).
type fetch uint8

const (
	fSrc fetch = iota
	fSrcPort
	fDst
	fDstPort
	fFeName
	fBeName
	fSrvName
	fStatus // none at log time, as in HAProxy (the response is gone)
	fMethod
	fCapReq  // capture.req.hdr(N)
	fCapRes  // capture.res.hdr(N)
	fSSLFc   // ssl_fc
	fSNI     // ssl_fc_sni
	fSSLProt // ssl_fc_protocol
	fSSLCiph // ssl_fc_cipher
	fResumed // ssl_fc_is_resumed
	fZeroTLS // fc_err: 0 on any connection
	fTLSErr  // ssl_fc_err, ssl_c_err, ssl_c_ca_err: 0 on TLS, none otherwise
	fUniqueID
	fHostname
)

type fetchDef struct {
	f   fetch
	arg byte // 0: none, 's': a name, 'n': a number
}

var fetches = map[string]fetchDef{
	"src": {fSrc, 0}, "src_port": {fSrcPort, 0}, "dst": {fDst, 0}, "dst_port": {fDstPort, 0},
	"fe_name": {fFeName, 0}, "be_name": {fBeName, 0}, "srv_name": {fSrvName, 0},
	"status": {fStatus, 0}, "method": {fMethod, 0},
	"capture.req.hdr": {fCapReq, 'n'}, "capture.res.hdr": {fCapRes, 'n'},
	"ssl_fc": {fSSLFc, 0}, "ssl_fc_sni": {fSNI, 0}, "ssl_fc_protocol": {fSSLProt, 0},
	"ssl_fc_cipher": {fSSLCiph, 0}, "ssl_fc_is_resumed": {fResumed, 0},
	"fc_err": {fZeroTLS, 0}, "ssl_fc_err": {fTLSErr, 0}, "ssl_c_err": {fTLSErr, 0},
	"ssl_c_ca_err": {fTLSErr, 0}, "unique-id": {fUniqueID, 0}, "hostname": {fHostname, 0},
}

// unavailable are fetches HAProxy refuses in a log-format because what
// they read is gone when the line is written.
var unavailable = map[string]string{
	"path": "HTTP request headers", "query": "HTTP request headers", "url": "HTTP request headers",
	"req.ver": "HTTP request headers", "req.hdr": "HTTP request headers", "hdr": "HTTP request headers",
	"req.fhdr": "HTTP request headers", "req.cook": "HTTP request headers", "base": "HTTP request headers",
	"res.hdr": "HTTP response headers", "shdr": "HTTP response headers", "res.fhdr": "HTTP response headers",
}

// converter is a sample converter %[...] may chain.
type converter uint8

const (
	cLower converter = iota
	cUpper
	cHex
)

var converters = map[string]converter{"lower": cLower, "upper": cUpper, "hex": cHex}

type sample struct {
	fetch fetch
	idx   int // capture slot (fReqHdr, fResHdr, fCapReq, fCapRes)
	convs []converter
}

// sampleExpr compiles "%[fetch(args),conv,...]" at c.i (on the '[').
func (c *compiler) sampleExpr(start int, opts opt) error {
	c.i++ // '['
	exprStart := c.i
	end, depth := -1, 0
	for j := c.i; j < len(c.s) && end < 0; j++ {
		switch c.s[j] {
		case '(':
			depth++
		case ')':
			depth--
		case ']':
			if depth <= 0 {
				end = j
			}
		}
	}
	if end < 0 {
		return c.errf(start, "missing ']' after '%s'", c.s[start:])
	}
	expr := c.s[exprStart:end]
	c.i = end + 1
	parts := splitExpr(expr)
	smp, err := c.compileFetch(parts[0], exprStart)
	if err != nil {
		return err
	}
	for _, cv := range parts[1:] {
		name := strings.TrimSpace(cv)
		conv, ok := converters[name]
		if !ok {
			return c.errf(exprStart, "unsupported converter '%s' in '%%[%s]' (tandem's log-format knows %s)", name, expr, names(converters))
		}
		smp.convs = append(smp.convs, conv)
	}
	c.p.nodes = append(c.p.nodes, node{kind: kSample, opts: opts, smp: smp})
	return nil
}

// splitExpr splits "fetch(a,b),conv1,conv2(x)" on the commas outside
// parentheses.
func splitExpr(s string) []string {
	var out []string
	depth, from := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[from:i])
				from = i + 1
			}
		}
	}
	return append(out, s[from:])
}

func (c *compiler) compileFetch(s string, pos int) (*sample, error) {
	name, arg, hasArg := s, "", false
	if i := strings.IndexByte(s, '('); i >= 0 {
		if !strings.HasSuffix(s, ")") {
			return nil, c.errf(pos, "missing ')' in sample fetch '%s'", s)
		}
		name, arg, hasArg = s[:i], s[i+1:len(s)-1], true
	}
	def, ok := fetches[name]
	if what, gone := unavailable[name]; gone {
		return nil, c.errf(pos, "sample fetch '%s' may not be reliably used here because it needs '%s' which is not available here (capture the header and log %%[capture.req.hdr(N)])", name, what)
	}
	if !ok {
		return nil, c.errf(pos, "unsupported sample fetch '%s' (tandem's log-format knows %s)", name, names(fetches))
	}
	smp := &sample{fetch: def.f}
	switch {
	case def.arg == 0 && hasArg && arg != "":
		return nil, c.errf(pos, "sample fetch '%s' takes no argument", name)
	case def.arg != 0 && strings.TrimSpace(arg) == "":
		return nil, c.errf(pos, "sample fetch '%s' needs an argument", name)
	}
	arg = strings.TrimSpace(arg)
	switch def.f {
	case fCapReq, fCapRes:
		n, err := strconv.Atoi(arg)
		limit := c.p.nReq
		if def.f == fCapRes {
			limit = c.p.nRes
		}
		if err != nil || n < 0 || n >= limit {
			return nil, c.errf(pos, "'%s(%s)': no such capture slot (the frontend declares %d)", name, arg, limit)
		}
		smp.idx = n
	case fSNI, fSSLProt, fSSLCiph, fResumed:
		c.p.needs |= NeedTLS
	case fDst, fDstPort:
		c.p.needs |= NeedFrontendAddr
	case fMethod:
		if !c.o.HTTP {
			return nil, c.errf(pos, "sample fetch '%s' needs HTTP mode", name)
		}
		c.p.needs |= NeedRequestLine
	case fUniqueID:
		c.p.needs |= NeedUniqueID
	}
	return smp, nil
}

func names[V any](m map[string]V) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
