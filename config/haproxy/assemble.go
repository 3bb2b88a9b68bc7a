package haproxy

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/tandem-lb/tandem/config"
)

// sideRules are the ACLs and rules one side (frontend or backend) of a
// section carries into the cluster config.
type sideRules struct {
	acls                             map[string][]rule
	tcp, http, redirect, resp, after []rule
}

// mergedRules are px's rules with its named defaults section's first, as
// HAProxy evaluates them; the legacy redirect lines stay a list of their
// own (config.Rules.Redirect), which runs after the http-request rules
// even when an allow stopped those. The defaults' ACLs come along only
// when the defaults' rules use them (checkACLs refuses a clash of names).
func (p *parser) mergedRules(px *proxy) sideRules {
	own := px.st.rules
	var def ruleSet
	if px.st.defRules != nil {
		def = *px.st.defRules
	}
	acls := map[string][]rule{}
	for n, v := range own.acls {
		acls[n] = v
	}
	for _, n := range usedACLs(def) {
		if _, clash := acls[n]; !clash && def.acls[n] != nil {
			acls[n] = def.acls[n]
		}
	}
	return sideRules{
		acls:     acls,
		tcp:      concat(def.tcp, own.tcp),
		http:     concat(def.http, own.http),
		redirect: own.redirects,
		resp:     concat(def.resp, own.resp),
		after:    concat(def.after, own.after),
	}
}

func concat(lists ...[]rule) []rule {
	var out []rule
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// usedACLs lists the ACL names a rule set's rules use.
func usedACLs(rs ruleSet) []string {
	var names []string
	for _, list := range [][]rule{rs.tcp, rs.http, rs.redirects, rs.resp, rs.after} {
		for _, r := range list {
			names = append(names, aclRefs(r.cond)...)
		}
	}
	for _, list := range [][]useRule{rs.useBackend, rs.useServer} {
		for _, u := range list {
			names = append(names, aclRefs(u.cond)...)
		}
	}
	return names
}

// placeRules splits px's rules between its frontend and backend sides. A
// listen section is one proxy in HAProxy: its rules run once. They go to
// its frontend, unless another frontend may route to it, in which case
// HAProxy runs them as backend rules for that traffic: then they go to its
// backend (which also runs them once for its own traffic), but for
// tcp-request connection and session rules, which only a frontend has.
func (p *parser) placeRules(px *proxy, targeted bool) (fe, be sideRules) {
	all := p.mergedRules(px)
	switch px.kind {
	case kindFrontend:
		return all, sideRules{}
	case kindBackend:
		return sideRules{}, all
	}
	st := px.st
	routes := len(st.rules.useBackend) > 0 || st.defaultBackend != "" && st.defaultBackend != px.name
	switch {
	case !targeted && st.disabled == 0:
		fe = all
	case routes:
		if len(all.http)+len(all.redirect)+len(all.resp)+len(all.after)+len(all.tcp) > 0 {
			p.refusef(px, px.line, "%s routes with use_backend or default_backend and other frontends route to it: HAProxy runs its rules as frontend rules for its own traffic and as backend rules for theirs; tandem cannot do both (split it into a frontend and a backend)", px)
		}
		fe = all
	default:
		fe.acls, be.acls = all.acls, all.acls
		for _, r := range all.tcp {
			if isFrontendTCP(r) {
				fe.tcp = append(fe.tcp, r)
			} else {
				be.tcp = append(be.tcp, r)
			}
		}
		be.http, be.redirect, be.resp, be.after = all.http, all.redirect, all.resp, all.after
	}
	if len(st.rules.useServer) > 0 {
		be.acls = all.acls
	}
	return fe, be
}

func isFrontendTCP(r rule) bool {
	w, _, _ := splitWords(r.text, nil)
	return len(w) > 0 && (w[0] == "connection" || w[0] == "session")
}

// sectionPaths are the config paths of a frontend or backend: by name
// ("frontends[web]"), as config.Validate writes them for valid names, and
// by index.
func sectionPaths(list, name string, i int) []string {
	return []string{list + "[" + name + "]", fmt.Sprintf("%s[%d]", list, i)}
}

// at records the line of rel ("", ".bind[0]") under each of prefixes.
func (p *parser) at(prefixes []string, rel string, num int) {
	if num <= 0 {
		return
	}
	for _, pre := range prefixes {
		p.lines[pre+rel] = num
	}
}

// atSettings records the lines a section's settings came from.
func (p *parser) atSettings(prefixes []string, st *settings) {
	for rel, num := range st.lines {
		p.at(prefixes, "."+rel, num)
	}
}

// inherits reports whether, with a shared defaults section, a value
// equal to the defaults' may be left out (so that it inherits).
func inherits[T comparable](v T, sh *settings, get func(*settings) T) bool {
	return sh != nil && v == get(sh)
}

func keep[T comparable](v T, sh *settings, get func(*settings) T) T {
	var zero T
	if inherits(v, sh, get) {
		return zero
	}
	return v
}

func keepPtr[T comparable](v *T, sh *settings, get func(*settings) *T) *T {
	if v == nil {
		return nil
	}
	if sh != nil {
		if d := get(sh); d != nil && *d == *v {
			return nil
		}
	}
	c := *v
	return &c
}

func sharedSettings(shared *proxy) *settings {
	if shared == nil {
		return nil
	}
	return shared.st
}

// buildFrontend is the frontend side of px.
func (p *parser) buildFrontend(px *proxy, shared *proxy, rs sideRules, part frontendPart, i int) config.Frontend {
	st, sh := px.st, sharedSettings(shared)
	paths := sectionPaths("frontends", part.name, i)
	f := config.Frontend{Name: part.name, DefaultBackend: st.defaultBackend}
	if part.tls && px.tls != nil {
		tls := *px.tls
		f.TLS = &tls
	}
	if f.DefaultBackend == "" && px.kind == kindListen {
		f.DefaultBackend = px.name
	}
	for j, b := range part.binds {
		f.Bind = append(f.Bind, b.addr)
		p.at(paths, fmt.Sprintf(".bind[%d]", j), b.line)
	}
	f.AcceptProxy = p.acceptProxyOf(px, part.binds)
	f.H2C = p.h2cOf(px, part.binds)
	f.Mode = keep(st.effectiveMode(), sh, (*settings).effectiveMode)
	if f.TLS != nil && f.TLS.ALPN == nil && st.effectiveMode() == config.ModeHTTP {
		f.TLS.ALPN = []string{config.NoALPN} // HAProxy 2.6 offers no ALPN on a bind without "alpn"
	}
	f.MaxConn = keep(st.maxConn, sh, func(s *settings) int { return s.maxConn })
	t, d := st.timeouts, config.Timeouts{}
	if sh != nil {
		d = sh.timeouts
	}
	f.Timeouts = config.Timeouts{
		Client:        keepDur(t.Client, d.Client, sh),
		HTTPRequest:   keepDur(t.HTTPRequest, d.HTTPRequest, sh),
		HTTPKeepAlive: keepDur(t.HTTPKeepAlive, d.HTTPKeepAlive, sh),
	}
	f.ForwardFor = keepPtr(st.forwardFor, sh, func(s *settings) *bool { return s.forwardFor })
	f.Logging, f.Captures = st.logging, st.captures // whole: defaults' targets included
	for k, u := range st.rules.useBackend {
		f.UseBackend = append(f.UseBackend, config.UseBackend{Backend: u.target, If: u.ifCond, Unless: u.unless})
		p.at(paths, fmt.Sprintf(".use_backend[%d]", k), u.line)
	}
	f.Rules = p.configRules(paths, rs, px, px.kind != kindBackend)
	p.at(paths, "", px.line)
	p.at(paths, ".bind", px.line)
	p.at(paths, ".tls", px.tlsLine)
	p.at(paths, ".default_backend", px.line)
	p.atSettings(paths, st)
	return f
}

func keepDur(v, d config.Duration, sh *settings) config.Duration {
	if sh != nil && v == d {
		return 0
	}
	return v
}

// buildBackend is the backend side of px.
func (p *parser) buildBackend(px *proxy, shared *proxy, rs sideRules, i int) config.Backend {
	st, sh := px.st, sharedSettings(shared)
	paths := sectionPaths("backends", px.name, i)
	b := config.Backend{Name: px.name, HealthCheck: p.buildCheck(px)}
	b.Mode = keep(st.effectiveMode(), sh, (*settings).effectiveMode)
	b.Balance = keep(st.balance, sh, func(s *settings) config.Algorithm { return s.balance })
	b.Retries = keepPtr(st.retries, sh, func(s *settings) *int { return s.retries })
	b.Redispatch = keepPtr(st.redispatch, sh, func(s *settings) *bool { return s.redispatch })
	b.ForwardFor = keepPtr(st.forwardFor, sh, func(s *settings) *bool { return s.forwardFor })
	if st.effectiveMode() == config.ModeHTTP {
		// HAProxy's default, retry-on conn-failure, re-sends no request.
		b.RetryIdempotent = ptr(false)
		if st.retryIdempotent != nil {
			b.RetryIdempotent = ptr(*st.retryIdempotent)
		}
	}
	t, d := st.timeouts, config.Timeouts{}
	if sh != nil {
		d = sh.timeouts
	}
	b.Timeouts = config.Timeouts{
		Connect: keepDur(t.Connect, d.Connect, sh), Server: keepDur(t.Server, d.Server, sh),
		Queue: keepDur(t.Queue, d.Queue, sh), Check: keepDur(t.Check, d.Check, sh),
		Tunnel: keepDur(t.Tunnel, d.Tunnel, sh),
	}
	if px.kind == kindBackend {
		b.Timeouts.HTTPRequest = keepDur(t.HTTPRequest, d.HTTPRequest, sh)
		b.Timeouts.HTTPKeepAlive = keepDur(t.HTTPKeepAlive, d.HTTPKeepAlive, sh)
	}
	if st.cookie != nil {
		ck := *st.cookie
		b.Cookie = &ck
	}
	p.settleStick(px, &b)
	p.addServers(px, &b, paths)
	for k, u := range st.rules.useServer {
		b.UseServer = append(b.UseServer, config.UseServer{Server: u.target, If: u.ifCond, Unless: u.unless})
		p.at(paths, fmt.Sprintf(".use_server[%d]", k), u.line)
	}
	b.Rules = p.configRules(paths, rs, px, px.kind != kindFrontend)
	p.at(paths, "", px.line)
	p.at(paths, ".servers", px.line)
	p.at(paths, ".health_check.expect_status", st.check.expectLine)
	p.at(paths, ".stick_source", st.stick.firstStick)
	p.at(paths, ".stick_expire", st.stick.firstStick)
	p.atSettings(paths, st)
	return b
}

// addServers adds px's servers to b, refusing what HAProxy does otherwise
// with them: several backup servers without option allbackups (HAProxy
// uses the first), and servers without a cookie value in a backend that
// inserts cookies (HAProxy gives them no persistence, tandem their name).
func (p *parser) addServers(px *proxy, b *config.Backend, paths []string) {
	backups := 0
	for j, sl := range px.servers {
		s := sl.s
		if px.st.disabled > 0 {
			s.Disabled = true
		}
		if s.Backup {
			backups++
			if backups == 2 && !px.st.allBackups {
				p.refusef(px, sl.line, "second backup server '%s' in %s: HAProxy sends traffic to the first usable backup server only (no 'option allbackups'); tandem spreads it over all backup servers", s.Name, px)
			}
		}
		if ck := b.Cookie; ck != nil && ck.Insert && s.Cookie == "" {
			p.refusef(px, sl.line, "server '%s' has no 'cookie VALUE': HAProxy inserts no persistence cookie for it; tandem inserts the server's name", s.Name)
		}
		b.Servers = append(b.Servers, s)
		p.at(paths, ".servers["+s.Name+"]", sl.line)
		p.at(paths, fmt.Sprintf(".servers[%d]", j), sl.line)
	}
}

// configRules is a side's rules as config.Rules, each item's line recorded.
func (p *parser) configRules(paths []string, rs sideRules, px *proxy, withErrors bool) config.Rules {
	var r config.Rules
	if len(rs.acls) > 0 {
		r.ACLs = map[string]config.StringList{}
		for name, crit := range rs.acls {
			var list config.StringList
			for j, c := range crit {
				list = append(list, c.text)
				p.at(paths, fmt.Sprintf(".acls.%s[%d]", name, j), c.line)
				p.at(paths, fmt.Sprintf(".acls[%s][%d]", name, j), c.line)
			}
			r.ACLs[name] = list
			p.at(paths, ".acls."+name, crit[0].line)
			p.at(paths, ".acls["+name+"]", crit[0].line)
		}
	}
	r.TCPRequest = p.ruleTexts(paths, ".tcp_request", rs.tcp)
	r.HTTPRequest = p.ruleTexts(paths, ".http_request", rs.http)
	r.Redirect = p.ruleTexts(paths, ".redirect", rs.redirect)
	r.HTTPResponse = p.ruleTexts(paths, ".http_response", rs.resp)
	r.HTTPAfterResponse = p.ruleTexts(paths, ".http_after_response", rs.after)
	if withErrors {
		files, lines, answers := p.resolveErrorFiles(px)
		if len(files) > 0 {
			r.ErrorFiles = files
		}
		for k, a := range answers {
			r.HTTPErrors = append(r.HTTPErrors, a.text)
			p.at(paths, fmt.Sprintf(".http_errors[%d]", k), a.line)
		}
		for code, num := range lines {
			p.at(paths, ".errorfiles."+strconv.Itoa(code), num)
			p.at(paths, ".errorfiles["+strconv.Itoa(code)+"]", num)
			p.fileRefs = append(p.fileRefs, fileRef{files[code], px})
		}
	}
	return r
}

func (p *parser) ruleTexts(paths []string, field string, rules []rule) []string {
	var out []string
	for k, r := range rules {
		out = append(out, r.text)
		p.at(paths, fmt.Sprintf("%s[%d]", field, k), r.line)
	}
	return out
}

// collectFiles puts the files of the kept sections into the cluster config.
func (p *parser) collectFiles(c *config.Cluster) {
	for _, ref := range p.fileRefs {
		data, ok := p.files[ref.path]
		if !ok || ref.owner != nil && ref.owner.drop != "" {
			continue
		}
		if c.Files == nil {
			c.Files = map[string]string{}
		}
		c.Files[ref.path] = data
	}
}

// lineOf finds the cfg line of a config path, or of its nearest ancestor
// that has one.
func (p *parser) lineOf(path string) int {
	for path != "" {
		if n, ok := p.lines[path]; ok {
			return n
		}
		path = parentPath(path)
	}
	return 1
}

var lastSegmentRE = regexp.MustCompile(`(\.[^.\[\]]*|\[[^\[\]]*\])$`)

// parentPath drops the last segment of a config path: "a[x].b" → "a[x]" → "a".
func parentPath(path string) string {
	if loc := lastSegmentRE.FindStringIndex(path); loc != nil && loc[0] > 0 {
		return path[:loc[0]]
	}
	return ""
}

// checkNames reports duplicate section names, as HAProxy does: frontends
// among themselves and backends among themselves (a frontend and a
// backend may share a name).
func (p *parser) checkNames(kept []*proxy) {
	fe, be := map[string]int{}, map[string]int{}
	for _, px := range kept {
		if px.name == "" {
			continue
		}
		for _, side := range []struct {
			has  bool
			seen map[string]int
			what string
		}{{px.kind != kindBackend, fe, "frontend"}, {px.kind != kindFrontend, be, "backend"}} {
			if !side.has {
				continue
			}
			if first, dup := side.seen[px.name]; dup {
				p.errorf(px, px.line, "duplicate %s name '%s' (first at line %d)", side.what, px.name, first)
			} else {
				side.seen[px.name] = px.line
			}
		}
	}
}

// checkReferences checks that default_backend and static use_backend
// targets are backends that exist, and use-server targets servers of the
// section; HAProxy refuses to start otherwise.
func (p *parser) checkReferences(kept []*proxy) {
	backends := map[string]bool{}
	for _, px := range kept {
		if px.kind != kindFrontend {
			backends[px.name] = true
		}
	}
	dropped := map[string]string{}
	for _, px := range p.proxies {
		if px.drop != "" && px.kind != kindFrontend {
			dropped[px.name] = px.drop
		}
	}
	check := func(px *proxy, target string, num int, what string) {
		switch {
		case isDynamic(target) || backends[target]:
		case dropped[target] != "":
			p.refusef(px, num, "%s '%s': HAProxy serves its stats page from that backend, which tandem leaves out; %s", what, target, statsWhere)
		default:
			p.errorf(px, num, "%s '%s' (in %s): no backend or listen section has that name (HAProxy refuses this too)", what, target, px)
		}
	}
	for _, px := range kept {
		if px.kind == kindBackend || px.st.disabled > 0 {
			continue
		}
		if d := px.st.defaultBackend; d != "" {
			check(px, d, px.st.lines["default_backend"], "default_backend")
		}
		for _, u := range px.st.rules.useBackend {
			check(px, u.target, u.line, "use_backend")
		}
	}
	for _, px := range kept {
		for _, u := range px.st.rules.useServer {
			if !slices.ContainsFunc(px.servers, func(s serverLine) bool { return s.s.Name == u.target }) {
				p.errorf(px, u.line, "use-server '%s': %s has no server of that name (HAProxy refuses this too)", u.target, px)
			}
		}
	}
}
