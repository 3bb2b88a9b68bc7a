package haproxy

import (
	"path"
	"slices"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// bind reads "bind ADDRESS[,ADDRESS...] [options]". "ssl crt PEM" becomes
// the frontend's TLS, the PEM holding certificate and key (or the key in
// PEM.key, as HAProxy looks for it); "crt DIR" loads the certificates of a
// directory, of which tandem serves one until SNI certificates land.
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
	var b bindState
	opts := l.args[1:]
	for i := 0; i < len(opts); i++ {
		o := opts[i]
		bo, ok := bindOpts[o]
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
	case b.ssl && len(b.crts) == 0:
		p.errorf(px, l.num, "bind: 'ssl' wants 'crt <pem file or directory>'")
	case b.ssl:
		p.bindTLS(px, l, b.crts, b.alpn)
	case len(b.crts) > 0:
		p.warnf(px, l.num, "bind: 'crt' without 'ssl' ignored (HAProxy ignores it too)")
		fallthrough
	default:
		px.plainLine = pick(px.plainLine, l.num)
	}
	for _, a := range addrs {
		px.binds = append(px.binds, bindLine{addr: a, line: l.num, tls: b.ssl, proxy: b.proxy})
	}
}

// bindState gathers the TLS options of one bind line.
type bindState struct {
	ssl   bool
	crts  []string
	alpn  string
	proxy bool // accept-proxy
}

// bindHandler applies one mapped bind option with its value.
type bindHandler func(p *parser, px *proxy, l line, b *bindState, o, v string)

func bindTLSOption(p *parser, px *proxy, l line, b *bindState, o, v string) {
	switch o {
	case "ssl":
		b.ssl = true
	case "crt":
		b.crts = append(b.crts, p.crtPath(v))
	case "alpn":
		b.alpn = v
	case "verify":
		if v != "none" {
			p.refusef(px, l.num, "bind option 'verify %s': HAProxy asks clients for a certificate and checks it; tandem does not", v)
		}
	}
}

// crtPath puts a relative certificate path under the global crt-base.
func (p *parser) crtPath(v string) string {
	if p.crtBase != "" && !path.IsAbs(v) {
		return path.Join(p.crtBase, v)
	}
	return v
}

// bindTLS sets the frontend's certificate from the crt options of one ssl
// bind. tandem serves one certificate per frontend: several (crt DIR with
// more than one, several crt, or other binds with others) are refused
// rather than served by the wrong name; --lenient serves the first.
func (p *parser) bindTLS(px *proxy, l line, crts []string, alpn string) {
	var certs []config.TLS
	for _, c := range crts {
		certs = append(certs, p.certificates(px, l, c)...)
	}
	if len(certs) == 0 {
		return
	}
	if len(certs) > 1 {
		names := make([]string, len(certs))
		for i, c := range certs {
			names[i] = c.Cert
		}
		p.refusef(px, l.num, "bind: %d certificates (%s): HAProxy picks one by the client's SNI; tandem serves one certificate per frontend (SNI certificates come in a later issue)", len(certs), strings.Join(names, ", "))
	}
	tls := certs[0]
	switch {
	case px.tls == nil:
		px.tls = &tls
	case px.tls.Cert != tls.Cert || px.tls.Key != tls.Key:
		p.refusef(px, l.num, "bind: certificate %s differs from %s on line %d: HAProxy serves each bind its own; tandem serves one certificate per frontend", tls.Cert, px.tls.Cert, px.tlsLine)
	}
	px.tlsLine = pick(px.tlsLine, l.num)
	if alpn != "" && alpn != "h2,http/1.1" && alpn != "http/1.1,h2" {
		p.warnf(px, l.num, "bind option 'alpn %s' read as 'alpn h2,http/1.1': tandem offers HTTP/2 and HTTP/1.1 on TLS binds", alpn)
	} else if alpn == "" {
		p.warnf(px, l.num, "bind: HAProxy 2.6 offers HTTP/1.1 only on a TLS bind without 'alpn'; tandem offers HTTP/2 too (as with 'alpn h2,http/1.1')")
	}
}

// reservedCertExt are the extensions HAProxy skips when it loads a
// certificate directory: they hold a certificate's extra files.
var reservedCertExt = []string{".key", ".issuer", ".ocsp", ".sctl"}

// certificates lists the certificates "crt NAME" loads: NAME, or every
// file of directory NAME but dot files and the reserved extensions, in
// alphabetic order, as HAProxy loads them.
func (p *parser) certificates(px *proxy, l line, name string) []config.TLS {
	if p.opts.Files == nil {
		if strings.HasSuffix(name, "/") {
			p.errorf(px, l.num, "bind: crt directory %s: cannot list it (%v)", name, errNoFS)
			return nil
		}
		return []config.TLS{{Cert: name, Key: name}}
	}
	entries, err := p.opts.Files.ReadDir(name)
	if err != nil {
		if strings.HasSuffix(name, "/") {
			p.errorf(px, l.num, "bind: crt directory %s: cannot list it (%v)", name, err)
			return nil
		}
		return []config.TLS{p.certificate(name)}
	}
	var certs []config.TLS
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || slices.Contains(reservedCertExt, path.Ext(n)) {
			continue
		}
		full := path.Join(name, n)
		key := full
		if names[n+".key"] {
			key = full + ".key"
		}
		certs = append(certs, config.TLS{Cert: full, Key: key})
	}
	if len(certs) == 0 {
		p.errorf(px, l.num, "bind: crt directory %s holds no certificate", name)
	}
	return certs
}

// certificate is "crt FILE": its key is in FILE, or in FILE.key when that exists.
func (p *parser) certificate(name string) config.TLS {
	tls := config.TLS{Cert: name, Key: name}
	if entries, err := p.opts.Files.ReadDir(path.Dir(name)); err == nil {
		for _, e := range entries {
			if e.Name() == path.Base(name)+".key" {
				tls.Key = name + ".key"
			}
		}
	}
	return tls
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
