package haproxy

import (
	"fmt"

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

// side is which half of a proxy a directive configures. A listen section
// has both; HAProxy's docs say which side each keyword belongs to.
type side int

const (
	sideFE  side = 1 << iota // frontend: bind, timeout client, maxconn, ...
	sideBE                   // backend: balance, server, timeout server, ...
	sideAny = sideFE | sideBE
)

func (s side) String() string {
	if s == sideFE {
		return "frontend"
	}
	return "backend"
}

// proxy is a defaults, frontend, backend or listen section.
type proxy struct {
	kind kind
	name string
	line int
	defs *proxy // the defaults section in force when this one opened

	d  *config.Defaults // defaults section only
	fe *config.Frontend // frontend and listen
	be *config.Backend  // backend and listen
	fs *feSide          // nil: no frontend side
	bs *beSide          // nil: no backend side
	x  extras

	tlsLine, plainLine int  // first bind with and without ssl
	used               bool // defaults: a section opened under it
}

// feSide points at the fields frontend-side directives set: a Frontend's,
// or the Defaults' in a defaults section.
type feSide struct {
	mode       *config.Mode
	maxConn    *int
	timeouts   *config.Timeouts
	forwardFor **bool
}

// beSide points at the fields backend-side directives set.
type beSide struct {
	mode       *config.Mode
	balance    *config.Algorithm
	timeouts   *config.Timeouts
	retries    **int
	redispatch **bool
	forwardFor **bool
}

// extras are the settings a config.Defaults has no field for. A section
// starts with a copy of its defaults section's extras, as HAProxy starts
// every proxy from a copy of the defaults section before it.
type extras struct {
	check              checkRules
	cookie             *config.Cookie
	server             config.Server // default-server
	defaultBackend     string
	defaultBackendLine int
}

func (x extras) clone() extras {
	x.check = x.check.clone()
	if x.cookie != nil {
		c := *x.cookie
		x.cookie = &c
	}
	x.server = cloneServer(x.server)
	return x
}

func (px *proxy) String() string {
	if px.kind == kindDefaults {
		return "defaults section"
	}
	return fmt.Sprintf("%s '%s'", px.kind, px.name)
}

func (p *parser) newProxy(k kind, l line) *proxy {
	px := &proxy{kind: k, line: l.num, defs: p.defs}
	args := l.args
	if len(args) >= 2 && args[len(args)-2] == "from" {
		p.warnf(l.num, "'from %s' is not supported by tandem (ignored): the last defaults section before this one applies", args[len(args)-1])
		args = args[:len(args)-2]
	}
	if k == kindDefaults {
		// A name only serves "from", which is not supported.
		px.defs = nil
		px.d = &config.Defaults{}
		d := px.d
		px.fs = &feSide{&d.Mode, &d.MaxConn, &d.Timeouts, &d.ForwardFor}
		px.bs = &beSide{&d.Mode, &d.Balance, &d.Timeouts, &d.Retries, &d.Redispatch, &d.ForwardFor}
		p.defs = px
		p.defaults = append(p.defaults, px)
		return px
	}
	if p.defs != nil {
		px.x = p.defs.x.clone()
		p.defs.used = true
	}
	if len(args) == 0 {
		p.errorf(l.num, "'%s' needs a name, e.g. '%s web'", l.kw, l.kw)
	} else {
		px.name, args = args[0], args[1:]
	}
	if k == kindFrontend || k == kindListen {
		f := &config.Frontend{Name: px.name}
		px.fe = f
		px.fs = &feSide{&f.Mode, &f.MaxConn, &f.Timeouts, &f.ForwardFor}
	}
	if k == kindBackend || k == kindListen {
		b := &config.Backend{Name: px.name}
		px.be = b
		px.bs = &beSide{&b.Mode, &b.Balance, &b.Timeouts, &b.Retries, &b.Redispatch, &b.ForwardFor}
	}
	switch {
	case len(args) > 0 && px.fe != nil:
		// Old syntax: "listen http-in *:80" binds like a bind line.
		p.bind(px, line{num: l.num, kw: "bind", args: args})
	case len(args) > 0:
		p.errorf(l.num, "'%s' takes only a name (got %q too)", l.kw, args)
	}
	p.proxies = append(p.proxies, px)
	return px
}

// directive dispatches one line of a defaults, frontend, backend or listen section.
func (px *proxy) directive(p *parser, l line) {
	d, ok := directives[l.kw]
	if !ok {
		switch {
		case similarSection(l.kw) != "":
			p.errorf(l.num, "unknown section keyword '%s' (did you mean '%s'?)", l.kw, similarSection(l.kw))
			p.sec = swallow{}
		case knownUnsupported[l.kw]:
			p.unsupported(l, l.name())
		default:
			p.warnf(l.num, "unknown keyword '%s' (ignored)", l.name())
		}
		return
	}
	if l.neg && !d.neg {
		p.errorf(l.num, "'no' does not apply to '%s'", l.kw)
		return
	}
	if px.kind == kindDefaults && d.noDefaults {
		p.errorf(l.num, "'%s' is not allowed in a defaults section", l.kw)
		return
	}
	if p.hasSide(px, l, d.side, l.kw) {
		d.fn(p, px, l)
	}
}

// hasSide reports whether px has the side a directive configures, and warns
// when it has not: HAProxy ignores such directives with a warning too.
func (p *parser) hasSide(px *proxy, l line, s side, what string) bool {
	if s&sideFE != 0 && px.fs != nil || s&sideBE != 0 && px.bs != nil {
		return true
	}
	p.warnf(l.num, "'%s' ignored: %s has no %s side", what, px, s)
	return false
}

// finish assembles the cluster once every line is read: defaults,
// inherited extras, the health checks, and the cross-section checks.
func (p *parser) finish() *config.Cluster {
	c := &config.Cluster{Global: p.global}
	shared := p.sharedDefaults()
	if shared != nil {
		c.Defaults = *shared.d
	}
	for _, d := range p.defaults {
		if d != shared && !d.used {
			p.warnf(d.line, "defaults section ignored: no frontend, backend or listen section follows it")
		}
	}
	for _, px := range p.proxies {
		if px.defs != nil && px.defs != shared {
			px.inherit(px.defs.d)
		}
		p.settle(px)
		if px.fe != nil {
			c.Frontends = append(c.Frontends, *px.fe)
		}
		if px.be != nil {
			c.Backends = append(c.Backends, *px.be)
		}
	}
	p.checkNames()
	return c
}

// sharedDefaults returns the defaults section every frontend, backend and
// listen section opened under, or nil when they did not all share one.
func (p *parser) sharedDefaults() *proxy {
	if len(p.proxies) == 0 {
		if n := len(p.defaults); n > 0 {
			return p.defaults[n-1]
		}
		return nil
	}
	first := p.proxies[0].defs
	for _, px := range p.proxies[1:] {
		if px.defs != first {
			return nil
		}
	}
	return first
}

// inherit copies the defaults a section opened under into its unset
// fields, for configs whose sections do not all share one defaults section.
func (px *proxy) inherit(d *config.Defaults) {
	if f := px.fe; f != nil {
		f.Mode = pick(f.Mode, d.Mode)
		f.MaxConn = pick(f.MaxConn, d.MaxConn)
		f.ForwardFor = pickPtr(f.ForwardFor, d.ForwardFor)
		f.Timeouts = f.Timeouts.Inherit(d.Timeouts)
	}
	if b := px.be; b != nil {
		b.Mode = pick(b.Mode, d.Mode)
		b.Balance = pick(b.Balance, d.Balance)
		b.Retries = pickPtr(b.Retries, d.Retries)
		b.Redispatch = pickPtr(b.Redispatch, d.Redispatch)
		b.ForwardFor = pickPtr(b.ForwardFor, d.ForwardFor)
		b.Timeouts = b.Timeouts.Inherit(d.Timeouts)
	}
}

// settle turns a section's extras into its frontend's and backend's fields.
func (p *parser) settle(px *proxy) {
	if f := px.fe; f != nil {
		f.DefaultBackend = px.x.defaultBackend
		if f.DefaultBackend == "" && px.kind == kindListen {
			f.DefaultBackend = px.name
		}
		if px.tlsLine > 0 && px.plainLine > 0 {
			p.errorf(px.tlsLine, "%s mixes 'ssl' and plain binds (line %d): tandem terminates TLS on all of a frontend's binds or none; move one kind to its own frontend", px, px.plainLine)
		}
	}
	if b := px.be; b != nil {
		b.HealthCheck = p.buildCheck(px)
		if px.x.cookie != nil {
			ck := *px.x.cookie
			b.Cookie = &ck
		}
	}
}

// checkNames reports duplicate section names and default_backend lines
// naming no backend, with the lines they are on.
func (p *parser) checkNames() {
	feLine, beLine := map[string]int{}, map[string]int{}
	for _, px := range p.proxies {
		if px.name == "" {
			continue
		}
		if px.fe != nil {
			if first, dup := feLine[px.name]; dup {
				p.errorf(px.line, "duplicate frontend name '%s' (first at line %d)", px.name, first)
			} else {
				feLine[px.name] = px.line
			}
		}
		if px.be != nil {
			if first, dup := beLine[px.name]; dup {
				p.errorf(px.line, "duplicate backend name '%s' (first at line %d)", px.name, first)
			} else {
				beLine[px.name] = px.line
			}
		}
	}
	for _, px := range p.proxies {
		if px.fe == nil || px.x.defaultBackend == "" {
			continue
		}
		if _, ok := beLine[px.x.defaultBackend]; !ok {
			p.errorf(px.x.defaultBackendLine, "default_backend '%s' (used by %s): no backend or listen section has that name", px.x.defaultBackend, px)
		}
	}
}

func pick[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// pickPtr returns a copy of v, or of def when v is nil.
func pickPtr[T any](v, def *T) *T {
	if v == nil {
		v = def
	}
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

func ptr[T any](v T) *T { return &v }
