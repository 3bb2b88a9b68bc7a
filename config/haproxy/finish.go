package haproxy

import (
	"fmt"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// finish settles what can only be settled once every line is read:
// which sections are left out, defaults shared by all sections, ACL
// references, refusals that depend on mode and side, references between
// sections; then it assembles the cluster.
func (p *parser) finish() *config.Cluster {
	p.endConds()
	p.checkDefaultsUse()
	kept := p.settleDrops()
	shared := sharedDefaults(kept)
	c := &config.Cluster{Global: p.global}
	if shared != nil {
		c.Defaults = p.buildDefaults(shared)
	}
	dynamic := false
	for _, px := range kept {
		for _, u := range px.st.rules.useBackend {
			dynamic = dynamic || isDynamic(u.target)
		}
	}
	for _, px := range kept {
		p.checkACLs(px)
		p.dropHTTPOnly(px)
		p.reportPending(px)
		p.checkStats(px)
		p.checkTimeouts(px)
		fe, be := p.placeRules(px, p.targeted(px, kept) || dynamic)
		if px.kind != kindBackend && px.drop == "" && px.st.disabled == 0 {
			for _, part := range p.frontendParts(px, kept) {
				c.Frontends = append(c.Frontends, p.buildFrontend(px, shared, fe, part, len(c.Frontends)))
			}
		}
		if px.kind != kindFrontend {
			c.Backends = append(c.Backends, p.buildBackend(px, shared, be, len(c.Backends)))
		}
	}
	p.checkNames(kept)
	p.checkReferences(kept)
	p.collectFiles(c)
	for _, u := range p.userlists {
		c.Userlists = append(c.Userlists, u.list)
	}
	p.lines["frontends"] = p.lastLine
	p.lines["backends"] = p.lastLine
	return c
}

// frontendPart is one tandem frontend made of a section's binds.
type frontendPart struct {
	name  string
	binds []bindLine
	tls   bool
}

// frontendParts splits a section that binds both clear-text and TLS
// addresses into two frontends, NAME and NAME-tls, with the same rules:
// tandem terminates TLS on all of a frontend's binds or none.
func (p *parser) frontendParts(px *proxy, kept []*proxy) []frontendPart {
	if px.tlsLine == 0 || px.plainLine == 0 {
		return []frontendPart{{name: px.name, binds: px.binds, tls: px.tlsLine > 0}}
	}
	plain, tls := frontendPart{name: px.name}, frontendPart{tls: true}
	for _, b := range px.binds {
		if b.tls {
			tls.binds = append(tls.binds, b)
		} else {
			plain.binds = append(plain.binds, b)
		}
	}
	tls.name = px.name + "-tls"
	for n := 2; nameTaken(tls.name, kept); n++ {
		tls.name = fmt.Sprintf("%s-tls%d", px.name, n)
	}
	p.warnf(px, px.tlsLine, "%s binds clear-text (line %d) and TLS addresses: tandem terminates TLS per frontend, so it becomes frontends '%s' and '%s', with the same rules and backends", px, px.plainLine, plain.name, tls.name)
	if px.st.maxConn > 0 {
		p.warnf(px, px.st.lines["maxconn"], "maxconn %d applies to each of '%s' and '%s'; HAProxy counts both kinds of binds together", px.st.maxConn, plain.name, tls.name)
	}
	return []frontendPart{plain, tls}
}

func nameTaken(name string, kept []*proxy) bool {
	for _, px := range kept {
		if px.name == name {
			return true
		}
	}
	return false
}

// checkDefaultsUse reports defaults sections nothing uses, and the uses of
// a defaults section with TCP/HTTP rules that HAProxy refuses: by a listen,
// or by both frontends and backends.
func (p *parser) checkDefaultsUse() {
	for _, d := range p.defaults {
		if len(d.users) == 0 && d != p.defs {
			p.warnf(nil, d.line, "%s ignored: no section takes its settings", d)
		}
		if !d.st.rules.any() {
			continue
		}
		var fe, be *proxy
		for _, u := range d.users {
			switch u.kind {
			case kindListen:
				p.errorf(nil, u.line, "%s cannot take its settings from %s (line %d): it defines TCP/HTTP rules, which HAProxy refuses for a listen section", u, d, d.line)
			case kindFrontend:
				fe = pickProxy(fe, u)
			case kindBackend:
				be = pickProxy(be, u)
			}
		}
		if fe != nil && be != nil {
			later := max(fe.line, be.line)
			p.errorf(nil, later, "frontends and backends cannot take their settings from the same %s (line %d): it defines TCP/HTTP rules (HAProxy refuses this too)", d, d.line)
		}
	}
	if d := p.defs; d != nil && len(d.users) == 0 && len(p.proxies) > 0 {
		p.warnf(nil, d.line, "%s ignored: no section follows it", d)
	}
}

func pickProxy(cur, u *proxy) *proxy {
	if cur == nil {
		return u
	}
	return cur
}

// settleDrops leaves out disabled frontends and the sections that only
// serve HAProxy's stats page or Prometheus exporter, and returns the
// sections that stay.
func (p *parser) settleDrops() []*proxy {
	var kept []*proxy
	for _, px := range p.proxies {
		st := px.st
		routes := st.defaultBackend != "" || len(st.rules.useBackend) > 0
		switch {
		case px.kind == kindBackend && len(st.stats) > 0 && len(px.servers) == 0:
			px.drop = "stats"
		case px.kind == kindFrontend && len(st.stats) > 0 && !routes,
			px.kind == kindListen && len(st.stats) > 0 && !routes && len(px.servers) == 0:
			px.drop = "stats"
		case px.kind != kindBackend && !routes && len(px.servers) == 0 && usesPrometheus(st.rules):
			px.drop = "prometheus"
		case px.kind == kindFrontend && st.disabled > 0:
			px.drop = "disabled"
		}
		switch px.drop {
		case "stats":
			p.warnf(nil, px.line, "%s only serves HAProxy's stats page: left out; %s", px, statsWhere)
			if st.statsURI != "" {
				p.statsURI(st.statsURILine, st.statsURI)
			}
		case "prometheus":
			p.warnf(nil, px.line, "%s only serves HAProxy's Prometheus exporter: left out; %s", px, statsWhere)
		case "disabled":
			p.warnf(nil, px.line, "%s is disabled (line %d): HAProxy does not start it, so it is left out", px, st.disabled)
		default:
			if st.disabled > 0 {
				p.warnf(nil, st.disabled, "%s is disabled: HAProxy answers 503 for it, as tandem does with every server of it in maint", px)
			}
			kept = append(kept, px)
		}
	}
	return kept
}

func usesPrometheus(rs ruleSet) bool {
	for _, r := range rs.http {
		if strings.HasPrefix(r.text, "use-service prometheus-exporter") {
			return true
		}
	}
	return false
}

// sharedDefaults returns the defaults section every kept section took its
// settings from, or nil when they do not all share one. Its settings
// become Cluster.Defaults; otherwise each section carries its own.
func sharedDefaults(kept []*proxy) *proxy {
	if len(kept) == 0 || kept[0].from == nil {
		return nil
	}
	for _, px := range kept[1:] {
		if px.from != kept[0].from {
			return nil
		}
	}
	return kept[0].from
}

// buildDefaults is Cluster.Defaults from the shared defaults section, mode
// written out (HAProxy's default is tcp, tandem's would be http).
func (p *parser) buildDefaults(d *proxy) config.Defaults {
	st := d.st
	for rel, num := range st.lines {
		p.lines["defaults."+rel] = num
	}
	return config.Defaults{
		Mode: st.effectiveMode(), Balance: st.balance, MaxConn: st.maxConn, Timeouts: st.timeouts,
		Retries: st.retries, Redispatch: st.redispatch, ForwardFor: st.forwardFor,
	}
}

// targeted reports whether another frontend may send traffic to px's
// backend side.
func (p *parser) targeted(px *proxy, kept []*proxy) bool {
	for _, o := range kept {
		if o == px || o.kind == kindBackend {
			continue
		}
		if o.st.defaultBackend == px.name {
			return true
		}
		for _, u := range o.st.rules.useBackend {
			if u.target == px.name {
				return true
			}
		}
	}
	return false
}

func isDynamic(target string) bool { return strings.Contains(target, "%[") }

// dropHTTPOnly drops what HAProxy ignores in mode tcp: HTTP rules, error
// files, cookies, forwardfor.
func (p *parser) dropHTTPOnly(px *proxy) {
	st := px.st
	if st.effectiveMode() != config.ModeTCP || len(st.httpOnly) == 0 {
		return
	}
	for _, it := range st.httpOnly {
		if it.line > px.line {
			p.warnf(px, it.line, "'%s' ignored: %s is in mode tcp (HAProxy ignores it there too)", it.what, px)
		}
	}
	st.rules.http, st.rules.redirects, st.rules.resp, st.rules.after = nil, nil, nil, nil
	if st.defRules != nil {
		st.defRules.http, st.defRules.resp, st.defRules.after = nil, nil, nil
	}
	st.errorOps, st.cookie, st.retryIdempotent = nil, nil, nil
	if st.forwardFor != nil && (px.from == nil || px.from.st.forwardFor == nil) {
		st.forwardFor = nil // its own forwardfor; one from a defaults section stays, as harmless as in HAProxy
	}
}

// reportPending reports the refusals that apply to px: those of its own
// lines and of its defaults section's, for a side px has and, for HTTP
// keywords, when px runs in mode http.
func (p *parser) reportPending(px *proxy) {
	http := px.st.effectiveMode() == config.ModeHTTP
	for _, r := range px.st.pending {
		if r.where&px.kind.sides() != 0 && (http || !r.http) {
			p.refusef(px, r.line, "%s", r.msg)
		}
	}
}

// checkStats refuses stats in a section that also routes traffic: HAProxy
// answers the stats URI itself, tandem would forward it.
func (p *parser) checkStats(px *proxy) {
	if len(px.st.stats) == 0 || px.st.effectiveMode() != config.ModeHTTP {
		return
	}
	for _, num := range px.st.stats {
		p.refusef(px, num, "'stats': HAProxy serves its stats page from %s, which also routes traffic; tandem would send those requests to the servers (%s)", px, statsWhere)
	}
}

// checkTimeouts warns, as HAProxy does, about missing timeouts: HAProxy
// then waits forever, tandem uses its defaults.
func (p *parser) checkTimeouts(px *proxy) {
	t := px.st.timeouts
	var missing []string
	if px.kind != kindBackend && t.Client == 0 {
		missing = append(missing, "client")
	}
	if px.kind != kindFrontend && t.Connect == 0 {
		missing = append(missing, "connect")
	}
	if px.kind != kindFrontend && t.Server == 0 {
		missing = append(missing, "server")
	}
	if len(missing) > 0 {
		p.warnf(px, px.line, "%s has no timeout %s: HAProxy waits forever; tandem uses its defaults (connect %s, client %s, server %s)",
			px, strings.Join(missing, ", "), config.DefaultTimeoutConnect, config.DefaultTimeoutClient, config.DefaultTimeoutServer)
	}
}
