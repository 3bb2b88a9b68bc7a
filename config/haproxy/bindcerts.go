package haproxy

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

var (
	errSSLv3     = errors.New("SSLv3: Go's crypto/tls has no SSLv3 (want TLSv1.0 to TLSv1.3)")
	errNoVersion = errors.New("its version options leave no TLS version enabled")
)

func errVersion(v string) error {
	return fmt.Errorf("unknown TLS version %q (want TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3)", v)
}

// Certificate is a certificate file a cfg names (crt, crt-list), which
// the cluster stores under Name when Options.StoreCertificates is set:
// `tandem config import` reads Cert and Key and adds them to the store.
type Certificate struct {
	Name      string
	Cert, Key string // paths as the cfg gives them (Key may be Cert)
	Line      int    // the first bind line naming it
}

// bindCertificates puts the certificates of a bind line's crt and
// crt-list options into t, in HAProxy's order (the first is the default
// certificate), with crt-list's SNI filters.
func (p *parser) bindCertificates(px *proxy, l line, b *tlsBind, t *config.TLS) bool {
	filtered := map[string]bool{} // certificate name: listed with filters (true) or not
	add := func(c config.TLS, filters []string) bool {
		name := p.certificateName(c, l.num)
		if had, seen := filtered[name]; seen && had != (len(filters) > 0) {
			p.refusef(px, l.num, "bind: %s is listed with SNI filters and without: HAProxy serves it for both its own names and the filters; tandem serves a certificate for one or the other", c.Cert)
			return false
		}
		filtered[name] = len(filters) > 0
		if !slices.Contains(t.Certificates, name) {
			t.Certificates = append(t.Certificates, name)
		}
		if len(filters) > 0 {
			t.SNI = append(t.SNI, config.SNIFilter{Certificate: name, Names: filters})
		}
		return true
	}
	ok := true
	for _, src := range b.sources {
		if !src.list {
			certs := p.certificates(px, l, src.path)
			if len(certs) == 0 {
				ok = false
			}
			for _, c := range certs {
				ok = add(c, nil) && ok
			}
			continue
		}
		entries, good := p.crtList(px, l, src.path)
		ok = ok && good
		for _, e := range entries {
			certs := p.certificates(px, l, p.crtPath(e.Cert))
			if len(certs) == 0 {
				ok = false
			}
			for _, c := range certs {
				ok = add(c, e.Filters) && ok
			}
		}
	}
	return ok
}

// crtList reads a crt-list file. Per-certificate options ([alpn h2] and
// the like) are refused: tandem has one TLS setting per frontend.
func (p *parser) crtList(px *proxy, l line, name string) ([]crtListEntry, bool) {
	if p.opts.Files == nil {
		p.errorf(px, l.num, "bind: crt-list %s: cannot read it (%v)", name, errNoFS)
		return nil, false
	}
	data, err := p.opts.Files.ReadFile(name)
	if err != nil {
		p.errorf(px, l.num, "bind: crt-list %s: cannot read it (%v)", name, err)
		return nil, false
	}
	entries, err := parseCrtList(string(data))
	if err != nil {
		p.errorf(px, l.num, "bind: crt-list %s: %v", name, err)
		return nil, false
	}
	if len(entries) == 0 {
		p.errorf(px, l.num, "bind: crt-list %s names no certificate", name)
		return nil, false
	}
	ok := true
	for _, e := range entries {
		if len(e.Options) > 0 {
			p.refusef(px, l.num, "bind: crt-list %s line %d: '[%s]': HAProxy applies these TLS settings to %s alone; tandem has one TLS setting per frontend", name, e.Line, strings.Join(e.Options, " "), e.Cert)
			ok = false
		}
	}
	return entries, ok
}

// certificateName is how a frontend names certificate c: its path, or,
// when the importer stores certificates, a store name made from the file's
// name (unique in the import; the same file keeps one name).
func (p *parser) certificateName(c config.TLS, line int) string {
	if !p.opts.StoreCertificates {
		return c.Cert
	}
	for _, s := range p.certs {
		if s.Cert == c.Cert && s.Key == c.Key {
			return s.Name
		}
	}
	base := storeName(path.Base(c.Cert))
	name := base
	for n := 2; slices.ContainsFunc(p.certs, func(s Certificate) bool { return s.Name == name }); n++ {
		name = fmt.Sprintf("%s-%d", base, n)
	}
	p.certs = append(p.certs, Certificate{Name: name, Cert: c.Cert, Key: c.Key, Line: line})
	return name
}

// storeName makes a certificate store name of a file name: without a
// .pem, .crt or .cer extension, characters a name may not hold as '-'.
func storeName(file string) string {
	for _, ext := range []string{".pem", ".crt", ".cer"} {
		file = strings.TrimSuffix(file, ext)
	}
	b := []byte(file)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	s := strings.Trim(string(b), ".-")
	if len(s) > 58 {
		s = s[:58]
	}
	if s == "" {
		s = "cert"
	}
	return s
}

// caDirectory reads a CA directory as HAProxy does: its .pem, .crt and
// .cer files but dot files, in alphabetic order, joined into one file of
// the cluster's files named after the directory.
func (p *parser) caDirectory(px *proxy, l line, dir, what string, entries []fs.DirEntry) string {
	var pem strings.Builder
	for _, e := range entries {
		n := e.Name()
		ext := path.Ext(n)
		switch {
		case e.IsDir() || strings.HasPrefix(n, "."):
		case ext == ".crl":
			p.refusef(px, l.num, "bind option '%s %s': %s is a CRL: HAProxy checks client certificates against it; give it to tandem with crl-file", what, dir, n)
		case ext == ".pem" || ext == ".crt" || ext == ".cer":
			data, err := p.opts.Files.ReadFile(path.Join(dir, n))
			if err != nil {
				p.errorf(px, l.num, "bind option '%s %s': cannot read %s (%v)", what, dir, n, err)
				return ""
			}
			pem.Write(data)
			if len(data) > 0 && data[len(data)-1] != '\n' {
				pem.WriteByte('\n')
			}
		}
	}
	if pem.Len() == 0 {
		p.errorf(px, l.num, "bind option '%s %s': the directory holds no .pem, .crt or .cer file", what, dir)
		return ""
	}
	name := strings.TrimSuffix(dir, "/") + "/"
	p.files[name] = pem.String()
	p.fileRefs = append(p.fileRefs, fileRef{name, px})
	return name
}

// reservedCertExt are the extensions HAProxy skips when it loads a
// certificate directory: they hold a certificate's extra files.
var reservedCertExt = []string{".key", ".issuer", ".ocsp", ".sctl"}

// bundleExt are the extensions of a multi-certificate bundle: "crt
// site.pem" loads site.pem.rsa and site.pem.ecdsa when site.pem is not a
// file (HAProxy's ssl-load-extra-files bundle, on by default).
var bundleExt = []string{".rsa", ".ecdsa", ".dsa"}

// certificates lists the certificates "crt NAME" loads: NAME, or every
// file of directory NAME but dot files and the reserved extensions, in
// alphabetic order, as HAProxy loads them; NAME's bundle when NAME is
// neither.
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
		return p.certificateFile(px, l, name)
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

// certificateFile is "crt FILE": its key is in FILE, or in FILE.key when
// that exists; a FILE that does not exist may be a bundle.
func (p *parser) certificateFile(px *proxy, l line, name string) []config.TLS {
	dir, base := path.Dir(name), path.Base(name)
	entries, err := p.opts.Files.ReadDir(dir)
	if err != nil {
		p.errorf(px, l.num, "bind: crt %s: cannot read it (%v)", name, err)
		return nil
	}
	has := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() {
			has[e.Name()] = true
		}
	}
	one := func(file string) config.TLS {
		full := path.Join(dir, file)
		if has[file+".key"] {
			return config.TLS{Cert: full, Key: full + ".key"}
		}
		return config.TLS{Cert: full, Key: full}
	}
	if has[base] {
		return []config.TLS{one(base)}
	}
	var bundle []config.TLS
	for _, ext := range bundleExt {
		if has[base+ext] {
			bundle = append(bundle, one(base+ext))
		}
	}
	if len(bundle) == 0 {
		p.errorf(px, l.num, "bind: crt %s: no such file (nor a bundle %s.rsa, %s.ecdsa)", name, name, name)
	}
	return bundle
}

func (t tlsBind) clone() tlsBind {
	t.sources = slices.Clone(t.sources)
	t.alpn = slices.Clone(t.alpn)
	t.versions.no = slices.Clone(t.versions.no)
	return t
}
