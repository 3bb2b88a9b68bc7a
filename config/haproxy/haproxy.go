package haproxy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// Options are what the caller gives the importer besides the cfg's text.
type Options struct {
	// Env is the environment "${VAR}" expands from, as HAProxy expands it
	// from its own process environment; os.LookupEnv in cmd/tandem. nil:
	// an empty environment.
	Env func(name string) (string, bool)
	// Files reads the files the cfg names: maps, ACL pattern files and
	// error files, which go into the cluster config, and certificate
	// directories, which are listed. nil: a cfg that names one is refused.
	Files FS
	// Lenient turns the errors about directives that would make tandem
	// behave differently from HAProxy into warnings (tandem config import
	// --lenient). Syntax errors stay errors.
	Lenient bool
	// ConfigDir is the absolute directory of the cfg ("default-path
	// config" and "parent" start from it; "": the directory of the file
	// name as given). Relative names without default-path are read from
	// Files' own base: the directory HAProxy runs in.
	ConfigDir string
	// StoreCertificates names the certificates of crt and crt-list by
	// store names (from their file names) instead of their paths; Import
	// returns the files to add to the cluster's certificate store.
	StoreCertificates bool
}

// Warning is something tandem ignores or does differently, with the line
// it is on.
type Warning struct {
	File string
	Line int
	Msg  string
}

// String reads "haproxy.cfg:5: warning: 'uid' ignored: ...".
func (w Warning) String() string {
	switch {
	case w.File != "" && w.Line > 0:
		return fmt.Sprintf("%s:%d: warning: %s", w.File, w.Line, w.Msg)
	case w.File != "":
		return fmt.Sprintf("%s: warning: %s", w.File, w.Msg)
	case w.Line > 0:
		return fmt.Sprintf("line %d: warning: %s", w.Line, w.Msg)
	}
	return "warning: " + w.Msg
}

// Parse translates a haproxy.cfg into a cluster config with HAProxy 2.6's
// semantics and validates it (config.Validate). Every problem is returned,
// not only the first, as config.Errors whose entries carry File and the
// cfg's Line, validation errors included (their config path is mapped back
// to the line that produced it); the cluster is then nil. Warnings are
// returned either way, in line order.
func Parse(filename string, data []byte, opts Options) (*config.Cluster, []Warning, error) {
	r, err := Import(filename, data, opts)
	return r.Cluster, r.Warnings, err
}

// Result is a translated haproxy.cfg.
type Result struct {
	Cluster  *config.Cluster // nil when there are errors
	Warnings []Warning
	// Certificates are the files to add to the cluster's certificate
	// store, under the names the config gives them (with
	// Options.StoreCertificates), in the order the cfg names them.
	Certificates []Certificate
}

// Import is Parse that also returns the certificates to store.
func Import(filename string, data []byte, opts Options) (Result, error) {
	p := newParser(filename, opts)
	c := p.translate(data)
	warns, errs := p.results()
	r := Result{Warnings: warns}
	if len(errs) > 0 {
		return r, errs
	}
	if err := c.Validate(); err != nil {
		return r, p.mapErrors(err)
	}
	r.Cluster, r.Certificates = c, p.usedCertificates(c)
	return r, nil
}

// usedCertificates are the stored certificates the kept frontends name.
func (p *parser) usedCertificates(c *config.Cluster) []Certificate {
	used := map[string]bool{}
	for _, f := range c.Frontends {
		if f.TLS != nil {
			for _, n := range f.TLS.Certificates {
				used[n] = true
			}
		}
	}
	var out []Certificate
	for _, s := range p.certs {
		if used[s.Name] {
			out = append(out, s)
		}
	}
	return out
}

// Looks reports whether data looks like a haproxy.cfg rather than YAML: its
// first line that is neither blank nor a comment starts with a section
// keyword or a conditional block.
func Looks(data []byte) bool {
	text := strings.TrimPrefix(string(data), "\uFEFF")
	for raw := range strings.SplitSeq(text, "\n") {
		fields := strings.Fields(raw)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		_, ok := sections[fields[0]]
		return ok || fields[0] == ".if"
	}
	return false
}

// sectionKind is what a section keyword opens.
type sectionKind int

const (
	secProxy sectionKind = iota
	secGlobal
	secUserlist
	secHTTPErrors
	secIgnored
)

// sections are HAProxy 2.6's section keywords. The ignored ones configure
// what tandem refuses where it is used (caches, peers, resolvers, ...) or
// does its own way; their proxies' keywords say so.
var sections = map[string]sectionKind{
	"global": secGlobal, "defaults": secProxy, "frontend": secProxy, "backend": secProxy,
	"listen": secProxy, "userlist": secUserlist, "http-errors": secHTTPErrors,
	"peers": secIgnored, "resolvers": secIgnored, "mailers": secIgnored, "program": secIgnored,
	"ring": secIgnored, "cache": secIgnored, "log-forward": secIgnored, "fcgi-app": secIgnored,
}

var proxyKinds = map[string]kind{"defaults": kindDefaults, "frontend": kindFrontend, "backend": kindBackend, "listen": kindListen}

// ignoredSections say why each ignored section changes no traffic by itself.
var ignoredSections = map[string]string{
	"peers":       "tandem replicates its state through its own cluster; stick tables that name peers are warned about where they do",
	"resolvers":   "tandem resolves server host names with the system resolver",
	"mailers":     "tandem sends no mail alerts",
	"program":     "tandem starts no programs",
	"ring":        "tandem logs to its standard output",
	"cache":       "rules that use the cache are refused where they are written",
	"log-forward": "tandem forwards no syslog traffic",
	"fcgi-app":    "backends that use FastCGI are refused where they say so",
}

// diag is one error or warning, owned by the section it is in (nil for the
// file) so that those of a section left out can be dropped with it.
type diag struct {
	line  int
	err   bool
	msg   string
	owner *proxy
}

// parser holds the translation in progress. Sections are kept until the end
// of the file, when inheritance, references and checks are settled.
type parser struct {
	file    string
	opts    Options
	env     *environ
	conds   []condLevel
	global  config.Global
	crtBase string
	// defaultPath is where relative file names are read from (HAProxy's
	// default-path); "": the directory HAProxy runs in (Files' base).
	defaultPath string
	caBase      string
	// sslBindDefaults are the ssl-default-bind-* lines read so far.
	sslBindDefaults tlsBind
	// sslServerDefaults are the ssl-default-server-* lines read so far;
	// serverVerify is ssl-server-verify ("": required).
	sslServerDefaults tlsBind
	serverVerify      string
	certs             []Certificate // the certificates to store (Options.StoreCertificates)
	sec               section       // the section being read; nil before the first
	defs              *proxy        // the last defaults section: the one a section takes by default
	defaults          []*proxy
	proxies           []*proxy // frontend, backend and listen sections, in file order
	userlists         []*userlist
	httpErrors        map[string]*httpErrors
	files             map[string]string // every file read, by the path the cfg wrote
	fileRefs          []fileRef
	diags             []diag
	lines             map[string]int // config path → cfg line, for validation errors
	lastLine          int
}

// section receives the directives of one section.
type section interface {
	directive(p *parser, l line)
}

func newParser(filename string, opts Options) *parser {
	p := &parser{
		file: filename, opts: opts, env: newEnviron(opts.Env, filename),
		httpErrors: map[string]*httpErrors{}, files: map[string]string{}, lines: map[string]int{},
	}
	if opts.Files != nil {
		p.opts.Files = defaultPathFS{p: p, fs: opts.Files}
	}
	return p
}

func (p *parser) errorf(owner *proxy, num int, format string, args ...any) {
	p.diags = append(p.diags, diag{line: num, err: true, msg: fmt.Sprintf(format, args...), owner: owner})
}

func (p *parser) warnf(owner *proxy, num int, format string, args ...any) {
	p.diags = append(p.diags, diag{line: num, msg: fmt.Sprintf(format, args...), owner: owner})
}

// translate reads every line and assembles the cluster.
func (p *parser) translate(data []byte) *config.Cluster {
	text := strings.TrimPrefix(string(data), "\uFEFF")
	for i, raw := range strings.Split(text, "\n") {
		p.lastLine = i + 1
		p.parseLine(i+1, strings.TrimSuffix(raw, "\r"))
	}
	return p.finish()
}

func (p *parser) parseLine(num int, raw string) {
	p.env.line = num
	words, unset, err := splitWords(raw, p.env.lookup)
	if err != nil {
		p.errorf(nil, num, "%v", err)
		return
	}
	if len(words) == 0 {
		return
	}
	if strings.HasPrefix(words[0], ".") {
		p.preprocess(num, words)
		return
	}
	if p.inactive() {
		return
	}
	for _, name := range unset {
		p.warnf(nil, num, "environment variable %s is not set: it expands to nothing, as in HAProxy", name)
	}
	l := line{num: num, kw: words[0], args: words[1:]}
	if k, ok := sections[l.kw]; ok {
		p.openSection(k, l)
		return
	}
	if (l.kw == "no" || l.kw == "default") && len(l.args) > 0 {
		l = line{num: num, kw: l.args[0], args: l.args[1:], neg: l.kw == "no", def: l.kw == "default"}
	}
	if p.sec == nil {
		if s := similarSection(l.kw); s != "" {
			p.errorf(nil, num, "unknown section keyword '%s' (did you mean '%s'?)", l.kw, s)
			p.sec = swallow{}
			return
		}
		p.errorf(nil, num, "'%s' is outside any section: a haproxy.cfg starts with a global, defaults, frontend, backend or listen line", l.kw)
		return
	}
	p.sec.directive(p, l)
}

func (p *parser) openSection(k sectionKind, l line) {
	p.env.section = l.kw
	if len(l.args) > 0 {
		p.env.section = l.args[0]
	}
	switch k {
	case secGlobal:
		if len(l.args) > 0 {
			p.warnf(nil, l.num, "arguments after 'global' ignored")
		}
		p.sec = globalSection{}
	case secUserlist:
		p.sec = p.openUserlist(l)
	case secHTTPErrors:
		p.sec = p.openHTTPErrors(l)
	case secIgnored:
		p.warnf(nil, l.num, "section '%s' ignored with all its lines: %s", l.String(), ignoredSections[l.kw])
		p.sec = swallow{}
	default:
		p.sec = p.openProxy(proxyKinds[l.kw], l)
	}
}

// swallow skips the lines of a section that was warned or erred about as a whole.
type swallow struct{}

func (swallow) directive(*parser, line) {}

// results sorts the diagnostics by line, leaving out those of sections
// that were left out of the cluster.
func (p *parser) results() ([]Warning, config.Errors) {
	slices.SortStableFunc(p.diags, func(a, b diag) int { return cmp.Compare(a.line, b.line) })
	var warns []Warning
	var errs config.Errors
	seen := map[diag]bool{}
	for _, d := range p.diags {
		if d.owner != nil && d.owner.drop != "" {
			continue
		}
		key := diag{line: d.line, err: d.err, msg: d.msg}
		if seen[key] {
			continue // a defaults line reported for each section that uses it
		}
		seen[key] = true
		if d.err {
			errs = append(errs, config.FieldError{File: p.file, Line: d.line, Msg: d.msg})
		} else {
			warns = append(warns, Warning{File: p.file, Line: d.line, Msg: d.msg})
		}
	}
	return warns, errs
}

// mapErrors gives each validation error the cfg line its config path came
// from.
func (p *parser) mapErrors(err error) error {
	var es config.Errors
	if !errors.As(err, &es) {
		return config.Errors{{File: p.file, Line: 1, Msg: err.Error()}}
	}
	out := make(config.Errors, len(es))
	for i, e := range es {
		e.File = p.file
		e.Line = p.lineOf(e.Path)
		out[i] = e
	}
	slices.SortStableFunc(out, func(a, b config.FieldError) int { return cmp.Compare(a.Line, b.Line) })
	return out
}
