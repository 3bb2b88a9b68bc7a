package haproxy

import (
	"path"
	"strings"
)

// bind reads "bind ADDRESS[,ADDRESS...] [options]". "ssl" with its crt,
// crt-list and other TLS options becomes the frontend's TLS (bindtls.go).
func (p *parser) bind(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(px, l.num, "'bind' wants an address, e.g. 'bind *:80'")
		return
	}
	var addrs []string
	for a := range strings.SplitSeq(l.args[0], ",") {
		addr, err := bindAddress(a)
		if err != nil {
			p.errorf(px, l.num, "bind: %v", err)
			continue
		}
		addrs = append(addrs, addr)
	}
	b := bindState{tls: p.sslBindDefaults.clone()}
	opts := l.args[1:]
	for i := 0; i < len(opts); i++ {
		o := opts[i]
		bo, ok := bindTLSOpts[o]
		if !ok {
			bo, ok = bindOpts[o]
		}
		if !ok {
			p.refusef(px, l.num, "unknown bind option '%s': HAProxy 2.6 has no such option (tandem does not know what it would do)", o)
			continue
		}
		if i+bo.arity >= len(opts) {
			p.errorf(px, l.num, "bind option '%s' wants a value", o)
			break
		}
		value := ""
		if bo.arity > 0 {
			value = opts[i+1]
		}
		written := joinWords(opts[i : i+1+bo.arity])
		i += bo.arity
		switch bo.class {
		case mapped:
			bo.fn(p, px, l, &b, o, value)
		case refused:
			p.refusef(px, l.num, "bind option '%s': %s", written, bo.why)
		default:
			p.warnf(px, l.num, "bind option '%s' ignored: %s", written, bo.why)
		}
	}
	switch {
	case b.ssl:
		p.bindTLS(px, l, &b.tls)
	case len(b.tls.sources) > 0:
		p.warnf(px, l.num, "bind: 'crt' without 'ssl' ignored (HAProxy ignores it too)")
		fallthrough
	default:
		px.plainLine = pick(px.plainLine, l.num)
	}
	for _, a := range addrs {
		px.binds = append(px.binds, bindLine{addr: a, line: l.num, tls: b.ssl, proxy: b.proxy, proto: b.proto})
	}
}

// bindState gathers the options of one bind line.
type bindState struct {
	ssl   bool
	tls   tlsBind
	proxy bool   // accept-proxy
	proto string // proto h1|h2
}

// bindHandler applies one mapped bind option with its value.
type bindHandler func(p *parser, px *proxy, l line, b *bindState, o, v string)

// crtPath puts a relative certificate path under the global crt-base.
func (p *parser) crtPath(v string) string {
	if p.crtBase != "" && !path.IsAbs(v) {
		v = path.Join(p.crtBase, v)
	}
	if p.defaultPath != "" && !path.IsAbs(v) {
		v = path.Join(p.defaultPath, v) // a path the agent reads too: resolved
	}
	return v
}

// bindAddress checks a bind address; see hostPort.
func bindAddress(a string) (string, error) {
	for _, pre := range []string{"quic4@", "quic6@", "udp@", "udp4@", "udp6@"} {
		if strings.HasPrefix(a, pre) {
			return "", errUDPBind(a)
		}
	}
	return hostPort(a, true)
}

type errUDPBind string

func (e errUDPBind) Error() string {
	return "address " + string(e) + ": tandem listens on TCP only (no QUIC or UDP)"
}
