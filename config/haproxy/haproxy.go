package haproxy

import (
	"fmt"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// Warning is a directive tandem does not support or ignores; it is printed
// with file:line.
type Warning struct {
	File string
	Line int
	Msg  string
}

// String reads "haproxy.cfg:5: warning: 'uid' is not supported by tandem (ignored)".
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

// Parse translates a haproxy.cfg. Syntax errors and invalid values return
// config.Errors whose FieldError has File and Line set, every one found and
// not only the first; the cluster is then nil (the warnings are still
// returned). Nothing is dropped silently: every directive either maps to the
// config or yields a Warning.
//
// The returned config is not resolved and not validated: the defaults
// section becomes Cluster.Defaults, and sections keep inheriting from it.
// Settings a defaults section has no field for (option httpchk, cookie,
// default-server, default_backend) are copied into the sections that follow
// it, which is what HAProxy does. When several defaults sections serve
// different sections, each section gets its own defaults copied in and
// Cluster.Defaults stays empty.
func Parse(filename string, data []byte) (*config.Cluster, []Warning, error) {
	p := &parser{file: filename}
	text := strings.TrimPrefix(string(data), "\uFEFF")
	for i, raw := range strings.Split(text, "\n") {
		p.parseLine(i+1, strings.TrimSuffix(raw, "\r"))
	}
	c := p.finish()
	if len(p.errs) > 0 {
		return nil, p.warns, p.errs
	}
	return c, p.warns, nil
}

// Looks reports whether data looks like a haproxy.cfg rather than YAML: its
// first line that is neither blank nor a comment starts with a section
// keyword (global, defaults, frontend, backend, listen, or one of the
// sections tandem skips, such as userlist or resolvers).
func Looks(data []byte) bool {
	text := strings.TrimPrefix(string(data), "\uFEFF")
	for raw := range strings.SplitSeq(text, "\n") {
		fields := strings.Fields(raw)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		_, ok := sectionKinds[fields[0]]
		return ok || skippedSections[fields[0]]
	}
	return false
}

// sectionKinds are the sections tandem translates.
var sectionKinds = map[string]kind{
	"global":   kindGlobal,
	"defaults": kindDefaults,
	"frontend": kindFrontend,
	"backend":  kindBackend,
	"listen":   kindListen,
}

// skippedSections are HAProxy sections tandem has no use for; each is
// skipped whole, with one warning.
var skippedSections = map[string]bool{
	"userlist": true, "peers": true, "resolvers": true, "mailers": true,
	"program": true, "http-errors": true, "ring": true, "cache": true,
	"log-forward": true, "fcgi-app": true, "crt-store": true, "traces": true,
	"acme": true,
}

// parser holds the translation in progress. Sections are kept until the end
// of the file because defaults and cross-references are settled only then.
type parser struct {
	file     string
	global   config.Global
	sec      section  // the section being read; nil before the first
	defs     *proxy   // the defaults section in force; nil before the first
	defaults []*proxy // every defaults section, in file order
	proxies  []*proxy // frontend, backend and listen sections, in file order
	warns    []Warning
	errs     config.Errors
}

// section receives the directives of one section.
type section interface {
	directive(p *parser, l line)
}

func (p *parser) errorf(num int, format string, args ...any) {
	p.errs = append(p.errs, config.FieldError{File: p.file, Line: num, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(num int, format string, args ...any) {
	p.warns = append(p.warns, Warning{File: p.file, Line: num, Msg: fmt.Sprintf(format, args...)})
}

// unsupported warns about a directive tandem ignores.
func (p *parser) unsupported(l line, what string) {
	if hint := hints[what]; hint != "" {
		p.warnf(l.num, "'%s' is not supported by tandem (ignored; %s)", what, hint)
		return
	}
	p.warnf(l.num, "'%s' is not supported by tandem (ignored)", what)
}

func (p *parser) parseLine(num int, raw string) {
	words, envVar, err := splitWords(raw)
	if err != nil {
		p.errorf(num, "%v", err)
		return
	}
	if len(words) == 0 {
		return
	}
	if envVar {
		p.warnf(num, "\"${...}\" is not expanded by tandem: the value is used as written")
	}
	l := line{num: num, kw: words[0], args: words[1:]}
	if _, ok := sectionKinds[l.kw]; ok || skippedSections[l.kw] {
		p.openSection(l)
		return
	}
	if l.kw == "no" && len(l.args) > 0 {
		l = line{num: num, kw: l.args[0], args: l.args[1:], neg: true}
	}
	if p.sec == nil {
		if s := similarSection(l.kw); s != "" {
			p.errorf(num, "unknown section keyword '%s' (did you mean '%s'?)", l.kw, s)
			p.sec = swallow{}
			return
		}
		p.errorf(num, "'%s' is outside any section: a haproxy.cfg starts with a global, defaults, frontend, backend or listen line", l.kw)
		return
	}
	p.sec.directive(p, l)
}

func (p *parser) openSection(l line) {
	if skippedSections[l.kw] {
		p.warnf(l.num, "section '%s' is not supported by tandem (ignored with all its lines)", l.String())
		p.sec = swallow{}
		return
	}
	k := sectionKinds[l.kw]
	if k == kindGlobal {
		if len(l.args) > 0 {
			p.warnf(l.num, "arguments after 'global' are ignored")
		}
		p.sec = globalSection{}
		return
	}
	p.sec = p.newProxy(k, l)
}

// globalSection reads "global": only maxconn means something to tandem.
type globalSection struct{}

func (globalSection) directive(p *parser, l line) {
	if l.kw == "maxconn" && !l.neg {
		if v, ok := p.oneArg(l); ok {
			p.global.MaxConn, _ = p.intArg(l, "maxconn", v, 0, 1<<31-1)
		}
		return
	}
	p.unsupported(l, l.name())
}

// swallow skips the lines of a section that was warned or erred about as a whole.
type swallow struct{}

func (swallow) directive(*parser, line) {}

// similarSection returns the section keyword kw is probably a typo of.
func similarSection(kw string) string {
	for s := range sectionKinds {
		if editDistance(kw, s) <= 2 {
			return s
		}
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
