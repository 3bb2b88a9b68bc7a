package haproxy

import (
	"slices"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// serverTLSOpts are the server options of TLS to the server (HAProxy's
// 5.2 SSL options); they are looked up before serverOpts.
var serverTLSOpts = map[string]serverOpt{
	"ssl":            sMapped(0, serverTLSOption),
	"no-ssl":         sMapped(0, serverTLSOption),
	"verify":         sMapped(1, serverTLSOption),
	"verifyhost":     sMapped(1, serverTLSOption),
	"no-verifyhost":  sMapped(0, serverTLSOption),
	"ca-file":        sMapped(1, serverTLSOption),
	"crl-file":       sMapped(1, serverTLSOption),
	"crt":            sMapped(1, serverTLSOption),
	"sni":            sMapped(1, serverTLSOption),
	"alpn":           sMapped(1, serverTLSOption),
	"ssl-min-ver":    sMapped(1, serverTLSOption),
	"ssl-max-ver":    sMapped(1, serverTLSOption),
	"ciphers":        sMapped(1, serverTLSOption),
	"ciphersuites":   sMapped(1, serverTLSOption),
	"curves":         sMapped(1, serverTLSOption),
	"no-tls-tickets": sMapped(0, serverTLSOption),
	"tls-tickets":    sMapped(0, serverTLSOption),
	"no-sslv3":       sMapped(0, serverTLSOption),
	"no-tlsv10":      sMapped(0, serverTLSOption),
	"no-tlsv11":      sMapped(0, serverTLSOption),
	"no-tlsv12":      sMapped(0, serverTLSOption),
	"no-tlsv13":      sMapped(0, serverTLSOption),
	"force-tlsv10":   sMapped(0, serverTLSOption),
	"force-tlsv11":   sMapped(0, serverTLSOption),
	"force-tlsv12":   sMapped(0, serverTLSOption),
	"force-tlsv13":   sMapped(0, serverTLSOption),
	"proto":          sMapped(1, serverTLSOption),
	"force-sslv3":    sOpt(0, refused, "HAProxy speaks SSLv3 to this server; Go's crypto/tls has no SSLv3"),
	"sigalgs":        sOpt(1, refused, "HAProxy limits the signature algorithms of the handshake; Go's crypto/tls offers its own set"),
	"client-sigalgs": sOpt(1, refused, "HAProxy limits the signature algorithms of its client certificate; Go's crypto/tls offers its own set"),
	"npn":            sOpt(1, neutral, "NPN is obsolete; tandem negotiates by ALPN"),
	"ssl-reuse":      sOpt(0, neutral, "tandem resumes TLS sessions to servers, as HAProxy's default"),
	"no-ssl-reuse":   sOpt(0, neutral, "it only makes every connection to the server a full handshake"),
	"allow-0rtt":     sOpt(0, neutral, "Go's crypto/tls sends no early data: the request follows the handshake"),
}

func tlsOf(s *config.Server) *config.ServerTLS {
	if s.TLS == nil {
		s.TLS = &config.ServerTLS{Off: true}
	}
	return s.TLS
}

func serverTLSOption(p *parser, px *proxy, l line, s *config.Server, o, v string) {
	switch o {
	case "ssl":
		tlsOf(s).Off = false
	case "no-ssl":
		if s.TLS != nil {
			s.TLS.Off = true
		}
	case "proto":
		if v != "h1" && v != "h2" {
			p.refusef(px, l.num, "server option 'proto %s': HAProxy speaks it to the server; tandem speaks h1 and h2", v)
			return
		}
		s.Proto = v
	case "verify":
		if v != "none" && v != "required" {
			p.errorf(px, l.num, "server option 'verify %s': want none or required", v)
			return
		}
		tlsOf(s).Verify = v
	case "verifyhost":
		tlsOf(s).VerifyHost = v
	case "no-verifyhost":
		tlsOf(s).VerifyHost = ""
	case "ca-file":
		tlsOf(s).CA = p.caPath(v)
	case "crl-file":
		tlsOf(s).CRL = p.caPath(v)
	case "crt":
		tlsOf(s).Certificate = p.crtPath(v)
	case "sni":
		tlsOf(s).SNI = v
	case "alpn":
		tlsOf(s).ALPN = strings.Split(v, ",")
	case "ciphers":
		tlsOf(s).Ciphers = v
	case "ciphersuites":
		tlsOf(s).CipherSuites = v
	case "curves":
		tlsOf(s).Curves = v
	case "no-tls-tickets", "tls-tickets":
		tlsOf(s).NoTickets = o == "no-tls-tickets"
	case "ssl-min-ver", "ssl-max-ver":
		if v == "SSLv3" || !slices.Contains(versionOrder, v) {
			p.errorf(px, l.num, "server option '%s %s': %v", o, v, map[bool]error{true: errSSLv3, false: errVersion(v)}[v == "SSLv3"])
			return
		}
		if o == "ssl-min-ver" {
			tlsOf(s).MinVersion = v
		} else {
			tlsOf(s).MaxVersion = v
		}
	case "no-sslv3":
	default: // no-tlsv1x, force-tlsv1x
		t := tlsOf(s)
		if f, ok := strings.CutPrefix(o, "force-"); ok {
			t.ForceVersion = versionFlags[f]
		} else {
			t.NoVersions = append(slices.Clone(t.NoVersions), versionFlags[strings.TrimPrefix(o, "no-")])
		}
	}
}

// finishServerTLS settles a server line's TLS: what default-server and
// ssl-default-server-* gave, the versions, HAProxy's verify required by
// default (and its refusal without a CA file), the files read into the
// cluster; settings without ssl go to its TLS checks (check-ssl) or away.
func (p *parser) finishServerTLS(px *proxy, l line, s *config.Server) {
	t := s.TLS
	if t == nil && s.CheckTLS == nil {
		return
	}
	if t == nil {
		t = &config.ServerTLS{Off: true}
	}
	d := p.sslServerDefaults
	t.Ciphers, t.CipherSuites, t.Curves = pickStr(t.Ciphers, d.ciphers), pickStr(t.CipherSuites, d.suites), pickStr(t.Curves, d.curves)
	t.NoTickets = t.NoTickets || d.noTickets
	v := d.versions
	v.no = append(slices.Clone(v.no), t.NoVersions...)
	if t.MinVersion != "" {
		v.min = t.MinVersion
	}
	if t.MaxVersion != "" {
		v.max = t.MaxVersion
	}
	if t.ForceVersion != "" {
		v.force = t.ForceVersion
	}
	minV, maxV, err := v.resolve()
	if err != nil {
		p.errorf(px, l.num, "server '%s': %v", s.Name, err)
	}
	t.MinVersion, t.MaxVersion = keepUnless(minV, "TLSv1.2"), keepUnless(maxV, "TLSv1.3")
	t.NoVersions, t.ForceVersion = nil, ""
	if t.Verify == "" && p.serverVerify != "" {
		t.Verify = p.serverVerify
	}
	if t.Verify != "none" {
		t.Verify = "" // required, the default
		if t.CA == "" {
			p.errorf(px, l.num, "server '%s': TLS verifies the server's certificate by default ('ssl-server-verify required') but no 'ca-file' is given: HAProxy refuses this too (write 'verify none' to trust any server, or give its CA)", s.Name)
		}
	}
	t.CA = p.tlsFile(px, l, t.CA, "ca-file")
	t.CRL = p.tlsFile(px, l, t.CRL, "crl-file")
	if c := t.Certificate; c != "" {
		if certs := p.certificates(px, l, c); len(certs) == 1 {
			t.Certificate = p.certificateName(certs[0], l.num)
		} else if len(certs) > 1 {
			p.errorf(px, l.num, "server '%s': crt %s: one client certificate, not a directory", s.Name, c)
		}
	}
	if t.Off {
		if ct := s.CheckTLS; ct != nil {
			ct.Verify, ct.CA, ct.VerifyHost, ct.Certificate = t.Verify, t.CA, t.VerifyHost, t.Certificate
			if ct.Verify == "" {
				ct.Verify = ""
			}
		}
		s.TLS = nil
		return
	}
	t.Off = false
	s.TLS = t
}

func pickStr(v, d string) string {
	if v != "" {
		return v
	}
	return d
}

func keepUnless(v, def string) string {
	if v == def {
		return ""
	}
	return v
}

// globalSSLServer reads ssl-server-verify and ssl-default-server-*.
func (p *parser) globalSSLServer(l line) {
	if len(l.args) == 0 {
		p.errorf(nil, l.num, "'%s' wants a value", l.kw)
		return
	}
	d := &p.sslServerDefaults
	switch l.kw {
	case "ssl-server-verify":
		if l.args[0] != "none" && l.args[0] != "required" {
			p.errorf(nil, l.num, "'ssl-server-verify %s': want none or required", l.args[0])
			return
		}
		p.serverVerify = l.args[0]
	case "ssl-default-server-ciphers":
		d.ciphers = l.args[0]
	case "ssl-default-server-ciphersuites":
		d.suites = l.args[0]
	case "ssl-default-server-curves":
		d.curves = l.args[0]
	case "ssl-default-server-options":
		p.sslBindOptions(l, d)
	}
}
