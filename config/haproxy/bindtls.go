package haproxy

import (
	"path"
	"slices"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// tlsBind gathers the TLS options of one bind line (HAProxy's 5.1 SSL bind
// options), starting from the global ssl-default-bind-* lines read so far.
type tlsBind struct {
	sources   []certSource // crt and crt-list, in the order written
	alpn      []string     // nil: not set; [none]: no-alpn
	versions  tlsVersions
	ciphers   string
	suites    string
	curves    string
	noTickets bool
	strictSNI bool
	verify    string
	caFile    string
	crlFile   string
}

// certSource is one "crt PATH" or "crt-list PATH".
type certSource struct {
	path string
	list bool
}

// bindTLSOpts are the bind options that configure TLS termination; they
// are looked up before bindOpts.
var bindTLSOpts = map[string]bindOpt{
	"ssl":                   {0, mapped, "", bindTLSOption},
	"crt":                   {1, mapped, "", bindTLSOption},
	"crt-list":              {1, mapped, "", bindTLSOption},
	"alpn":                  {1, mapped, "", bindTLSOption},
	"no-alpn":               {0, mapped, "", bindTLSOption},
	"ssl-min-ver":           {1, mapped, "", bindTLSOption},
	"ssl-max-ver":           {1, mapped, "", bindTLSOption},
	"ciphers":               {1, mapped, "", bindTLSOption},
	"ciphersuites":          {1, mapped, "", bindTLSOption},
	"curves":                {1, mapped, "", bindTLSOption},
	"ecdhe":                 {1, mapped, "", bindTLSOption},
	"strict-sni":            {0, mapped, "", bindTLSOption},
	"verify":                {1, mapped, "", bindTLSOption},
	"ca-file":               {1, mapped, "", bindTLSOption},
	"crl-file":              {1, mapped, "", bindTLSOption},
	"no-tls-tickets":        {0, mapped, "", bindTLSOption},
	"no-sslv3":              {0, mapped, "", bindTLSOption},
	"no-tlsv10":             {0, mapped, "", bindTLSOption},
	"no-tlsv11":             {0, mapped, "", bindTLSOption},
	"no-tlsv12":             {0, mapped, "", bindTLSOption},
	"no-tlsv13":             {0, mapped, "", bindTLSOption},
	"force-tlsv10":          {0, mapped, "", bindTLSOption},
	"force-tlsv11":          {0, mapped, "", bindTLSOption},
	"force-tlsv12":          {0, mapped, "", bindTLSOption},
	"force-tlsv13":          {0, mapped, "", bindTLSOption},
	"force-sslv3":           {0, refused, "HAProxy speaks SSLv3 only on this bind; Go's crypto/tls has no SSLv3", nil},
	"prefer-client-ciphers": {0, neutral, "Go's crypto/tls chooses the cipher suite by its own order, which favours what the client's hardware does fast", nil},
	"allow-0rtt":            {0, neutral, "Go's crypto/tls accepts no TLS early data: clients send their request once the handshake is done", nil},
	"sigalgs":               {1, refused, "HAProxy limits the signature algorithms of the handshake; Go's crypto/tls offers its own set", nil},
	"client-sigalgs":        {1, refused, "HAProxy limits the signature algorithms client certificates may use; Go's crypto/tls accepts its own set", nil},
	"ca-ignore-err":         {1, refused, "HAProxy accepts client certificates with these verification errors; tandem refuses the handshake", nil},
	"crt-ignore-err":        {1, refused, "HAProxy accepts client certificates with these verification errors; tandem refuses the handshake", nil},
	"ca-verify-file":        {1, refused, "HAProxy verifies client certificates with more CAs than it names to clients; tandem verifies with ca-file only", nil},
	"no-ca-names":           {0, neutral, "Go's crypto/tls names ca-file's CAs to clients, which only helps them pick a certificate", nil},
	"tls-ticket-keys":       {1, neutral, "tandem derives its TLS ticket keys from the cluster key, so every node resumes the others' sessions", nil},
	"npn":                   {1, neutral, "NPN is obsolete; tandem negotiates by ALPN", nil},
}

func bindTLSOption(p *parser, px *proxy, l line, b *bindState, o, v string) {
	t := &b.tls
	switch o {
	case "ssl":
		b.ssl = true
	case "crt":
		t.sources = append(t.sources, certSource{path: p.crtPath(v)})
	case "crt-list":
		t.sources = append(t.sources, certSource{path: v, list: true})
	case "alpn":
		t.alpn = strings.Split(v, ",")
	case "no-alpn":
		t.alpn = []string{config.NoALPN}
	case "ciphers":
		t.ciphers = v
	case "ciphersuites":
		t.suites = v
	case "curves", "ecdhe":
		t.curves = v
	case "strict-sni":
		t.strictSNI = true
	case "verify":
		if v != "none" && v != "optional" && v != "required" {
			p.errorf(px, l.num, "bind option 'verify %s': want none, optional or required", v)
			return
		}
		t.verify = v
	case "ca-file":
		t.caFile = p.caPath(v)
	case "crl-file":
		t.crlFile = p.caPath(v)
	case "no-tls-tickets":
		t.noTickets = true
	default:
		if err := t.versions.option(o, v); err != nil {
			p.errorf(px, l.num, "bind option '%s': %v", strings.TrimSpace(o+" "+v), err)
		}
	}
}

// caPath puts a relative CA or CRL path under the global ca-base.
func (p *parser) caPath(v string) string {
	if p.caBase != "" && !path.IsAbs(v) {
		return path.Join(p.caBase, v)
	}
	return v
}

// bindTLS sets the frontend's TLS from one ssl bind line. A frontend has
// one TLS setting in tandem: ssl binds of one section that differ are
// refused rather than served with the wrong certificates or versions.
func (p *parser) bindTLS(px *proxy, l line, b *tlsBind) {
	if len(b.sources) == 0 {
		p.errorf(px, l.num, "bind: 'ssl' wants 'crt <pem file or directory>' or 'crt-list <file>'")
		return
	}
	t := &config.TLS{Ciphers: b.ciphers, CipherSuites: b.suites, Curves: b.curves, NoTickets: b.noTickets, StrictSNI: b.strictSNI, ALPN: b.alpn}
	ok := p.bindCertificates(px, l, b, t)
	minV, maxV, err := b.versions.resolve()
	if err != nil {
		p.errorf(px, l.num, "bind: %v", err)
		ok = false
	}
	if minV != "TLSv1.2" {
		t.MinVersion = minV
	}
	if maxV != "TLSv1.3" {
		t.MaxVersion = maxV
	}
	ok = p.checkTLSValues(px, l, t) && ok
	if b.verify == "optional" || b.verify == "required" { // else HAProxy asks for no certificate: a CA file does nothing
		t.ClientAuth = &config.ClientAuth{Verify: b.verify, CA: p.tlsFile(px, l, b.caFile, "ca-file"), CRL: p.tlsFile(px, l, b.crlFile, "crl-file")}
	}
	if !ok {
		return
	}
	switch {
	case px.tls == nil:
		px.tls = t
	case !sameTLS(px.tls, t):
		p.refusef(px, l.num, "bind: its TLS settings (certificates, versions, ciphers, ALPN or client certificates) differ from those of line %d: HAProxy serves each bind its own; tandem one per frontend (put them in frontends of their own)", px.tlsLine)
	}
	px.tlsLine = pick(px.tlsLine, l.num)
}

// checkTLSValues refuses values Go's crypto/tls cannot honour, at the
// bind's line (an import would otherwise fail at validation, far from it).
func (p *parser) checkTLSValues(px *proxy, l line, t *config.TLS) bool {
	ok := true
	if t.Ciphers != "" {
		if _, err := config.ParseCiphers(t.Ciphers); err != nil {
			p.refusef(px, l.num, "bind: ciphers: %v", err)
			if p.opts.Lenient {
				t.Ciphers = lenientCiphers(t.Ciphers)
			} else {
				ok = false
			}
		}
	}
	if t.CipherSuites != "" {
		if err := config.CheckCipherSuites(t.CipherSuites); err != nil {
			p.refusef(px, l.num, "bind: ciphersuites: %v", err)
			t.CipherSuites = ""
			ok = ok && p.opts.Lenient
		}
	}
	if t.Curves != "" {
		if _, err := config.ParseCurves(t.Curves); err != nil {
			p.refusef(px, l.num, "bind: curves: %v", err)
			t.Curves = ""
			ok = ok && p.opts.Lenient
		}
	}
	return ok
}

// lenientCiphers keeps the suites of list Go implements (--lenient).
func lenientCiphers(list string) string {
	var kept []string
	for name := range strings.SplitSeq(list, ":") {
		if _, err := config.ParseCiphers(name); err == nil {
			kept = append(kept, name)
		}
	}
	return strings.Join(kept, ":")
}

// tlsFile reads a CA or CRL file (or the PEM files of a CA directory) into
// the cluster's files and returns its name there.
func (p *parser) tlsFile(px *proxy, l line, name, what string) string {
	if name == "" {
		return ""
	}
	if name == "@system-ca" {
		p.refusef(px, l.num, "bind option '%s @system-ca': HAProxy accepts client certificates of every CA the system trusts; tandem verifies with a CA file", what)
		return ""
	}
	if p.opts.Files != nil {
		if entries, err := p.opts.Files.ReadDir(name); err == nil {
			return p.caDirectory(px, l, name, what, entries)
		}
	}
	if !p.readFile(px, l.num, name, what) {
		return ""
	}
	p.fileRefs = append(p.fileRefs, fileRef{name, px})
	return name
}

func sameTLS(a, b *config.TLS) bool {
	ya, _ := (&config.Cluster{Frontends: []config.Frontend{{TLS: a}}}).YAML()
	yb, _ := (&config.Cluster{Frontends: []config.Frontend{{TLS: b}}}).YAML()
	return string(ya) == string(yb)
}

// tlsVersions are the version options of a bind: ssl-min-ver, ssl-max-ver,
// force-* and no-*, resolved as HAProxy does into one range.
type tlsVersions struct {
	min, max, force string
	no              []string
}

var versionOrder = []string{"TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

var versionFlags = map[string]string{"tlsv10": "TLSv1.0", "tlsv11": "TLSv1.1", "tlsv12": "TLSv1.2", "tlsv13": "TLSv1.3"}

func (v *tlsVersions) option(o, val string) error {
	switch {
	case o == "ssl-min-ver" || o == "ssl-max-ver":
		if val == "SSLv3" {
			return errSSLv3
		}
		if !slices.Contains(versionOrder, val) {
			return errVersion(val)
		}
		if o == "ssl-min-ver" {
			v.min = val
		} else {
			v.max = val
		}
	case o == "no-sslv3":
	case strings.HasPrefix(o, "no-"):
		v.no = append(v.no, versionFlags[strings.TrimPrefix(o, "no-")])
	case strings.HasPrefix(o, "force-"):
		v.force = versionFlags[strings.TrimPrefix(o, "force-")]
	}
	return nil
}

// resolve gives the range HAProxy 2.6 enables: TLSv1.2 to TLSv1.3 unless
// said otherwise, a forced version alone, versions switched off by no-*
// taken out from the bottom up (a hole ends the range, as HAProxy keeps
// the lower contiguous versions).
func (v tlsVersions) resolve() (string, string, error) {
	lo, hi := 2, 3
	if v.min != "" {
		lo = slices.Index(versionOrder, v.min)
	}
	if v.max != "" {
		hi = slices.Index(versionOrder, v.max)
	}
	if v.force != "" {
		lo = slices.Index(versionOrder, v.force)
		hi = lo
	}
	for lo <= hi && slices.Contains(v.no, versionOrder[lo]) {
		lo++
	}
	if lo > hi {
		return "", "", errNoVersion
	}
	top := lo
	for top < hi && !slices.Contains(v.no, versionOrder[top+1]) {
		top++
	}
	return versionOrder[lo], versionOrder[top], nil
}

// globalSSLBind reads ssl-default-bind-ciphers, -ciphersuites, -curves and
// -options: the TLS settings of the ssl binds below them.
func (p *parser) globalSSLBind(l line) {
	d := &p.sslBindDefaults
	if len(l.args) == 0 {
		p.errorf(nil, l.num, "'%s' wants a value", l.kw)
		return
	}
	switch l.kw {
	case "ssl-default-bind-ciphers":
		d.ciphers = l.args[0]
	case "ssl-default-bind-ciphersuites":
		d.suites = l.args[0]
	case "ssl-default-bind-curves":
		d.curves = l.args[0]
	case "ssl-default-bind-options":
		p.sslBindOptions(l, d)
	}
}

// sslBindOptions reads ssl-default-bind-options: version options,
// no-tls-tickets and prefer-client-ciphers.
func (p *parser) sslBindOptions(l line, d *tlsBind) {
	for i := 0; i < len(l.args); i++ {
		o, v := l.args[i], ""
		switch {
		case o == "ssl-min-ver" || o == "ssl-max-ver":
			if i+1 >= len(l.args) {
				p.errorf(nil, l.num, "'%s %s' wants a version", l.kw, o)
				return
			}
			i++
			v = l.args[i]
		case o == "no-tls-tickets":
			d.noTickets = true
			continue
		case o == "prefer-client-ciphers":
			p.warnf(nil, l.num, "'%s %s' ignored: %s", l.kw, o, bindTLSOpts[o].why)
			continue
		case o == "force-sslv3":
			p.refusef(nil, l.num, "'%s force-sslv3': %s", l.kw, bindTLSOpts[o].why)
			continue
		case o == "no-sslv3" || strings.HasPrefix(o, "no-tlsv1") || strings.HasPrefix(o, "force-tlsv1"):
			if _, ok := bindTLSOpts[o]; !ok {
				p.errorf(nil, l.num, "'%s': unknown option '%s'", l.kw, o)
				continue
			}
		default:
			p.errorf(nil, l.num, "'%s': unknown option '%s' (HAProxy 2.6 has ssl-min-ver, ssl-max-ver, no-sslv3, no-tlsv1x, force-tlsv1x, no-tls-tickets, prefer-client-ciphers)", l.kw, o)
			continue
		}
		if err := d.versions.option(o, v); err != nil {
			p.errorf(nil, l.num, "'%s %s': %v", l.kw, strings.TrimSpace(o+" "+v), err)
		}
	}
}

// bindProtoOption reads "proto h1|h2" of a bind.
func bindProtoOption(p *parser, px *proxy, l line, b *bindState, _, v string) {
	if v != "h1" && v != "h2" {
		p.refusef(px, l.num, "bind option 'proto %s': HAProxy speaks it to clients; tandem speaks h1 and h2", v)
		return
	}
	b.proto = v
}

// optionDisableH2Upgrade reads "option disable-h2-upgrade": no HTTP/2 in
// clear text on the frontend's plain binds.
func (p *parser) optionDisableH2Upgrade(px *proxy, l line) {
	px.st.h2Upgrade = ptr(l.neg)
}

// h2cOf is a frontend's h2c: HTTP/2 with prior knowledge on its plain
// binds unless disable-h2-upgrade (off) or proto h1 (off); proto h2 serves
// HTTP/2 only. tandem sets it per frontend: binds of one frontend with
// different protos are refused.
func (p *parser) h2cOf(px *proxy, binds []bindLine) string {
	proto := ""
	for i, b := range binds {
		if b.proto == "h2" && b.tls {
			p.refusef(px, b.line, "bind option 'proto h2' on a TLS bind: HAProxy speaks HTTP/2 whatever ALPN says; tandem negotiates it by ALPN (alpn h2)")
		}
		if i > 0 && b.proto != proto {
			p.refusef(px, b.line, "bind %s has another 'proto' than the other binds of %s: tandem sets it per frontend (put them in frontends of their own)", b.addr, px)
			return ""
		}
		proto = b.proto
	}
	switch {
	case proto == "h2":
		return "only"
	case proto == "h1", px.st.h2Upgrade != nil && !*px.st.h2Upgrade:
		return "off"
	}
	return ""
}
