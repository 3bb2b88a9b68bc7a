package haproxy

import (
	"maps"
	"slices"

	"github.com/tandem-lb/tandem/config"
)

type kind int

const (
	kindGlobal kind = iota
	kindDefaults
	kindFrontend
	kindBackend
	kindListen
)

var kindNames = []string{"global", "defaults", "frontend", "backend", "listen"}

func (k kind) String() string { return kindNames[k] }

// sides is which of a frontend's and a backend's keywords a section takes.
func (k kind) sides() where {
	switch k {
	case kindFrontend:
		return inFrontend
	case kindBackend:
		return inBackend
	case kindListen:
		return inProxy
	}
	return 0
}

// proxy is a defaults, frontend, backend or listen section.
type proxy struct {
	kind  kind
	name  string
	line  int
	from  *proxy // the defaults section this one took its settings from; nil: none
	named bool   // a defaults section with a name
	st    *settings
	// drop, when set, says why the section is left out of the cluster
	// (a stats-only or disabled section).
	drop string
	// users are the sections that took their settings from this defaults section.
	users []*proxy
	// servers are the section's server lines.
	servers []serverLine
	// tls is the certificate of the section's ssl binds; binds are its addresses.
	tls                *config.TLS
	binds              []bindLine
	tlsLine, plainLine int // the first bind with and without ssl
}

// bindLine is one address of a bind line.
type bindLine struct {
	addr  string
	line  int
	tls   bool   // an ssl bind
	proxy bool   // accept-proxy
	proto string // proto h1|h2
}

// settings are everything a section configures. A frontend, backend or
// listen section starts from a copy of its defaults section's settings, as
// HAProxy starts every proxy from a copy of its defaults proxy.
type settings struct {
	mode            config.Mode
	modeSet         bool
	maxConn         int
	timeouts        config.Timeouts
	balance         config.Algorithm
	retries         *int
	redispatch      *bool
	forwardFor      *bool
	h2Upgrade       *bool // option disable-h2-upgrade (false)
	retryIdempotent *bool
	check           checkRules
	cookie          *config.Cookie
	server          config.Server // default-server
	defaultBackend  string
	errorOps        []errorOp
	allBackups      bool
	stick           stickRules
	stats           []int  // lines of stats directives
	statsURI        string // the last "stats uri", and its line
	statsURILine    int
	disabled        int    // line of "disabled"; 0: enabled
	reuseNever      int    // line of "http-reuse never"
	pending         []pend // refusals that depend on the sections and mode that end up using them
	rules           ruleSet
	defRules        *ruleSet // a named defaults section's rules, evaluated first, with their own ACLs
	lines           map[string]int
	httpOnly        []httpOnlyItem  // mapped settings HAProxy ignores outside mode http
	logging         config.Logging  // the traffic log (inherited, then the section's own lines)
	captures        config.Captures // frontends only
}

// pend is a refused directive whose error waits for the end of the file:
// it counts only for sections that have its side (and mode http, for
// HTTP-only keywords), and "no option X" further down cancels it.
type pend struct {
	key   string // "option httpclose"
	line  int
	msg   string
	where where
	http  bool
}

// httpOnlyItem is a mapped setting HAProxy ignores in mode tcp, dropped
// with a warning when the section ends up in mode tcp.
type httpOnlyItem struct {
	line int
	what string
}

func (st *settings) clone() *settings {
	c := *st
	c.check = st.check.clone()
	if st.cookie != nil {
		ck := *st.cookie
		c.cookie = &ck
	}
	c.server = cloneServer(st.server)
	c.errorOps = slices.Clone(st.errorOps)
	c.stats = slices.Clone(st.stats)
	c.pending = slices.Clone(st.pending)
	c.lines = maps.Clone(st.lines)
	c.httpOnly = slices.Clone(st.httpOnly)
	c.rules = st.rules.clone()
	c.logging.Log = slices.Clone(st.logging.Log)
	c.captures.CaptureRequestHeaders = slices.Clone(st.captures.CaptureRequestHeaders)
	c.captures.CaptureResponseHeaders = slices.Clone(st.captures.CaptureResponseHeaders)
	return &c
}

// mark records the line a relative config path ("timeouts.client") was set on.
func (st *settings) mark(path string, num int) {
	if st.lines == nil {
		st.lines = map[string]int{}
	}
	st.lines[path] = num
}

func (px *proxy) String() string {
	if px.kind == kindDefaults {
		if px.name != "" {
			return "defaults section '" + px.name + "'"
		}
		return "defaults section"
	}
	return px.kind.String() + " '" + px.name + "'"
}

// openProxy starts a defaults, frontend, backend or listen section:
// "KIND [NAME] [from DEFAULTS]", and the old "listen NAME ADDRESS".
func (p *parser) openProxy(k kind, l line) *proxy {
	px := &proxy{kind: k, line: l.num, from: p.defs}
	if k == kindDefaults {
		px.from = nil // a defaults section starts from HAProxy's defaults, or from its "from"
	}
	args := l.args
	if n := len(args); n >= 2 && args[n-2] == "from" {
		px.from = p.namedDefaults(l, args[n-1])
		args = args[:n-2]
	} else if n >= 1 && args[n-1] == "from" {
		p.errorf(nil, l.num, "'from' wants the name of a defaults section")
		args = args[:n-1]
	}
	if len(args) > 0 {
		px.name, args = args[0], args[1:]
	}
	px.st = &settings{}
	if px.from != nil {
		px.st = px.from.st.clone()
		px.from.users = append(px.from.users, px)
		if px.from.st.rules.any() {
			p.inheritRules(px, l)
		}
	}
	if k == kindDefaults {
		px.named = px.name != ""
		if len(args) > 0 {
			p.errorf(nil, l.num, "'defaults' takes a name and 'from NAME' only (got %s too)", joinWords(args))
		}
		p.defs = px
		p.defaults = append(p.defaults, px)
		return px
	}
	if px.name == "" {
		p.errorf(nil, l.num, "'%s' needs a name, e.g. '%s web'", l.kw, l.kw)
	}
	switch {
	case len(args) > 0 && k != kindBackend:
		// Old syntax: "listen http-in *:80" binds like a bind line.
		p.bind(px, line{num: l.num, kw: "bind", args: args})
	case len(args) > 0:
		p.errorf(nil, l.num, "'%s' takes only a name (got %s too)", l.kw, joinWords(args))
	}
	p.proxies = append(p.proxies, px)
	return px
}

// namedDefaults finds the defaults section "from NAME" names: the one
// above this line, which must be unique (HAProxy refuses an ambiguous name).
func (p *parser) namedDefaults(l line, name string) *proxy {
	var found *proxy
	for _, d := range p.defaults {
		if d.name != name {
			continue
		}
		if found != nil {
			p.errorf(nil, l.num, "defaults section name '%s' is ambiguous: lines %d and %d both define it", name, found.line, d.line)
			return nil
		}
		found = d
	}
	if found == nil {
		p.errorf(nil, l.num, "no defaults section named '%s' above this line", name)
	}
	return found
}

// inheritRules moves a named defaults section's rules into px's defRules:
// HAProxy evaluates them before px's own, with the defaults' ACLs.
func (p *parser) inheritRules(px *proxy, l line) {
	d := px.from
	if px.kind == kindDefaults {
		p.errorf(nil, l.num, "a defaults section cannot take its settings from %s (line %d): it defines TCP/HTTP rules", d, d.line)
		return
	}
	rs := d.st.rules.clone()
	px.st.defRules = &rs
	px.st.rules = ruleSet{}
}

// directive reads one line of a defaults, frontend, backend or listen section.
func (px *proxy) directive(p *parser, l line) {
	kw, name, ok := lookupKeyword(l)
	if !ok {
		p.unknownKeyword(px, l, name)
		return
	}
	if (l.neg || l.def) && !kw.neg {
		p.errorf(px, l.num, "'%s' does not apply to '%s'", map[bool]string{true: "no", false: "default"}[l.neg], name)
		return
	}
	if l.def {
		// "default option X" restores HAProxy's default, whatever a
		// defaults section said.
		px.st.dropPending(name)
		switch name {
		case "option redispatch":
			px.st.redispatch = nil
		case "option allbackups":
			px.st.allBackups = false
		}
		return
	}
	if !p.allowed(px, l, kw, name) {
		return
	}
	switch kw.class {
	case mapped:
		kw.fn(p, px, l)
	case neutral:
		p.warnf(px, l.num, "'%s' ignored: %s", name, kw.why)
	case refused:
		if l.neg {
			px.st.dropPending(name)
			return
		}
		px.st.pending = append(px.st.pending, pend{key: name, line: l.num, where: kw.where, http: kw.http,
			msg: "'" + l.String() + "': " + kw.why})
	case removed:
		if p.opts.Lenient && kw.fn != nil {
			p.warnf(px, l.num, "--lenient: '%s' read anyway: %s", name, kw.why)
			kw.fn(p, px, l)
			return
		}
		p.errorf(px, l.num, "'%s' is refused by HAProxy 2.6: %s", name, kw.why)
	}
}

// dropPending cancels the refusals "no KEY" turns off.
func (st *settings) dropPending(key string) {
	st.pending = slices.DeleteFunc(st.pending, func(r pend) bool { return r.key == key })
}

// allowed checks that a keyword may be written in px's kind of section, as
// HAProxy does: an error in a defaults section that may not hold it, a
// warning (or an error for the keywords HAProxy refuses there) in a
// section that lacks its side.
func (p *parser) allowed(px *proxy, l line, kw keyword, name string) bool {
	if px.kind == kindDefaults {
		switch {
		case kw.where&inDefaults != 0:
			return true
		case kw.where&inNamedDefaults != 0 && px.named:
			return true
		case kw.where&inNamedDefaults != 0:
			p.errorf(px, l.num, "'%s' is not allowed in an anonymous defaults section: give the section a name and use 'from NAME' (HAProxy refuses it too)", name)
		default:
			p.errorf(px, l.num, "'%s' is not allowed in a defaults section (HAProxy refuses it too)", name)
		}
		return false
	}
	if kw.where&px.kind.sides() != 0 {
		return true
	}
	missing := "frontend"
	if kw.where&inBackend != 0 {
		missing = "backend"
	}
	if kw.fatal {
		p.errorf(px, l.num, "'%s' is not allowed: %s has no %s side (HAProxy refuses it too)", name, px, missing)
	} else {
		p.warnf(px, l.num, "'%s' ignored: %s has no %s side (HAProxy ignores it too)", name, px, missing)
	}
	return false
}

// unknownKeyword reports a keyword HAProxy 2.6 does not have.
func (p *parser) unknownKeyword(px *proxy, l line, name string) {
	if s := similarSection(l.kw); s != "" {
		p.errorf(nil, l.num, "unknown section keyword '%s' (did you mean '%s'?)", l.kw, s)
		p.sec = swallow{}
		return
	}
	switch {
	case name == l.kw && subKeywords[l.kw] != nil:
		p.errorf(px, l.num, "'%s' wants a name after it, e.g. '%s'", l.kw, exampleOf(l.kw))
	case name != l.kw:
		p.refusef(px, l.num, "unknown '%s': HAProxy 2.6 has no such keyword (tandem does not know what it would do)", name)
	default:
		p.refusef(px, l.num, "unknown keyword '%s': HAProxy 2.6 has no such keyword (tandem does not know what it would do)", l.name())
	}
}

func exampleOf(kw string) string {
	switch kw {
	case "option":
		return "option redispatch"
	case "timeout":
		return "timeout connect 5s"
	case "http-check":
		return "http-check expect status 200"
	}
	return "tcp-request content accept"
}

// refusef reports a difference from HAProxy: an error, or a warning with --lenient.
func (p *parser) refusef(px *proxy, num int, format string, args ...any) {
	if p.opts.Lenient {
		p.warnf(px, num, "--lenient: "+format, args...)
		return
	}
	p.errorf(px, num, format, args...)
}

// effectiveMode is the mode a section runs in: its own, its defaults', or
// HAProxy's default, tcp.
func (st *settings) effectiveMode() config.Mode {
	if st.mode == config.ModeUnset {
		return config.ModeTCP
	}
	return st.mode
}

// similarSection returns the section keyword kw is probably a typo of.
func similarSection(kw string) string {
	if _, ok := keywords[kw]; ok {
		return ""
	}
	for _, s := range []string{"global", "defaults", "frontend", "backend", "listen", "userlist"} {
		if kw != s && editDistance(kw, s) <= 2 && len(kw) > 3 {
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
