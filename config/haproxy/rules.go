package haproxy

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// rule is one rule line, carried in HAProxy's own language without its
// leading keyword ("redirect scheme https code 301 if !{ ssl_fc }").
type rule struct {
	text string
	line int
	cond []string // the words after "if" or "unless"; nil: unconditional
}

// useRule is one use_backend or use-server line.
type useRule struct {
	target string
	ifCond string // at most one of ifCond and unless is set
	unless string
	line   int
	cond   []string
}

// ruleSet is a section's ACLs and rules, in file order.
type ruleSet struct {
	acls       map[string][]rule // criteria of each ACL name, in file order
	aclLine    map[string]int    // the line that first defines each name
	tcp        []rule            // tcp-request
	http       []rule            // http-request
	redirects  []rule            // the legacy "redirect" directive, as http-request rules
	resp       []rule            // http-response
	after      []rule            // http-after-response
	useBackend []useRule
	useServer  []useRule
}

func (rs ruleSet) clone() ruleSet {
	c := rs
	c.acls = map[string][]rule{}
	for k, v := range rs.acls {
		c.acls[k] = slices.Clone(v)
	}
	c.aclLine = map[string]int{}
	for k, v := range rs.aclLine {
		c.aclLine[k] = v
	}
	c.tcp = slices.Clone(rs.tcp)
	c.http = slices.Clone(rs.http)
	c.redirects = slices.Clone(rs.redirects)
	c.resp = slices.Clone(rs.resp)
	c.after = slices.Clone(rs.after)
	c.useBackend = slices.Clone(rs.useBackend)
	c.useServer = slices.Clone(rs.useServer)
	return c
}

// any reports whether the set holds TCP/HTTP rules (HAProxy's test for a
// defaults section that frontends and backends may not share).
func (rs ruleSet) any() bool {
	return len(rs.tcp)+len(rs.http)+len(rs.resp)+len(rs.after) > 0
}

// predefinedACLs need no acl line (configuration.txt 7.4).
var predefinedACLs = setOf("FALSE", "HTTP", "HTTP_1.0", "HTTP_1.1", "HTTP_2.0", "HTTP_CONTENT",
	"HTTP_URL_ABS", "HTTP_URL_SLASH", "HTTP_URL_STAR", "LOCALHOST", "METH_CONNECT", "METH_DELETE",
	"METH_GET", "METH_HEAD", "METH_OPTIONS", "METH_POST", "METH_PUT", "METH_TRACE", "RDP_COOKIE",
	"REQ_CONTENT", "TRUE", "WAIT_END")

var aclNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// acl reads "acl NAME CRITERION [flags] [operator] [VALUE...]".
func (p *parser) acl(px *proxy, l line) {
	if len(l.args) < 2 {
		p.errorf(px, l.num, "'acl' wants a name and a criterion, e.g. 'acl is_api path_beg /api'")
		return
	}
	name := l.args[0]
	if !aclNameRE.MatchString(name) {
		p.errorf(px, l.num, "ACL name '%s': use letters, digits, '-', '_', '.' and ':'", name)
		return
	}
	rs := &px.st.rules
	if rs.acls == nil {
		rs.acls, rs.aclLine = map[string][]rule{}, map[string]int{}
	}
	if _, ok := rs.aclLine[name]; !ok {
		rs.aclLine[name] = l.num
	}
	crit := l.args[1:]
	rs.acls[name] = append(rs.acls[name], rule{text: joinWords(crit), line: l.num})
	p.scanFiles(px, l.num, crit, false)
}

// splitCond cuts a rule's words at its first "if" or "unless".
func splitCond(words []string) (action []string, kw string, cond []string) {
	for i, w := range words {
		if w == "if" || w == "unless" {
			return words[:i], w, words[i+1:]
		}
	}
	return words, "", nil
}

// aclRefs lists the ACL names a condition uses, leaving out anonymous
// ACLs ("{ path_beg /api }") and the operators.
func aclRefs(cond []string) []string {
	var refs []string
	depth := 0
	for _, w := range cond {
		n := strings.TrimLeft(w, "!") // "!is_api", "!{"
		switch {
		case n == "{":
			depth++
		case w == "}":
			depth = max(depth-1, 0)
		case depth > 0, w == "||", w == "or", n == "":
		default:
			refs = append(refs, n)
		}
	}
	return refs
}

// newRule makes the rule of a line from its words after the keyword.
func newRule(l line, words []string) rule {
	_, _, cond := splitCond(words)
	return rule{text: joinWords(words), line: l.num, cond: cond}
}

func (p *parser) ruleArgs(px *proxy, l line, example string) bool {
	if len(l.args) == 0 {
		p.errorf(px, l.num, "'%s' wants an action, e.g. '%s %s'", l.kw, l.kw, example)
		return false
	}
	return true
}

func (p *parser) httpRequest(px *proxy, l line) {
	if !p.ruleArgs(px, l, "set-header X-Forwarded-Proto https") {
		return
	}
	px.st.rules.http = append(px.st.rules.http, newRule(l, l.args))
	px.st.httpOnly = append(px.st.httpOnly, httpOnlyItem{l.num, "http-request"})
	p.scanFiles(px, l.num, l.args, true)
}

func (p *parser) httpResponse(px *proxy, l line) {
	if !p.ruleArgs(px, l, "set-header Strict-Transport-Security max-age=31536000") {
		return
	}
	px.st.rules.resp = append(px.st.rules.resp, newRule(l, l.args))
	px.st.httpOnly = append(px.st.httpOnly, httpOnlyItem{l.num, "http-response"})
	p.scanFiles(px, l.num, l.args, true)
}

func (p *parser) httpAfterResponse(px *proxy, l line) {
	if !p.ruleArgs(px, l, "set-header X-Served-By tandem") {
		return
	}
	px.st.rules.after = append(px.st.rules.after, newRule(l, l.args))
	px.st.httpOnly = append(px.st.httpOnly, httpOnlyItem{l.num, "http-after-response"})
	p.scanFiles(px, l.num, l.args, true)
}

// tcpRequest reads "tcp-request connection|session|content|inspect-delay ...".
func (p *parser) tcpRequest(px *proxy, l line) {
	if len(l.args) < 2 {
		p.errorf(px, l.num, "'tcp-request %s' wants an action, e.g. 'tcp-request content accept'", l.args[0])
		return
	}
	px.st.rules.tcp = append(px.st.rules.tcp, newRule(l, l.args))
	p.scanFiles(px, l.num, l.args, true)
}

// redirect reads the legacy "redirect location|prefix|scheme TARGET
// [code N] [option...] [if|unless COND]" into config.Rules.Redirect, which
// HAProxy evaluates after the section's http-request rules; its target is
// a plain string, not a log-format.
func (p *parser) redirect(px *proxy, l line) {
	if len(l.args) < 2 || !slices.Contains([]string{"location", "prefix", "scheme"}, l.args[0]) {
		p.errorf(px, l.num, "'redirect' wants location, prefix or scheme and a target, e.g. 'redirect scheme https if !{ ssl_fc }'")
		return
	}
	words := l.args
	px.st.rules.redirects = append(px.st.rules.redirects, newRule(l, words))
	px.st.httpOnly = append(px.st.httpOnly, httpOnlyItem{l.num, "redirect"})
}

// useBackend reads "use_backend NAME [if|unless COND]"; NAME may be a
// log-format expression such as "%[req.hdr(host),lower,map(/etc/haproxy/hosts.map,web)]".
func (p *parser) useBackend(px *proxy, l line) {
	if r, ok := p.useLine(px, l, "use_backend api if is_api"); ok {
		px.st.rules.useBackend = append(px.st.rules.useBackend, r)
	}
}

// useServer reads "use-server NAME [if|unless COND]".
func (p *parser) useServer(px *proxy, l line) {
	if r, ok := p.useLine(px, l, "use-server web1 if { req.cook(SRV) web1 }"); ok {
		px.st.rules.useServer = append(px.st.rules.useServer, r)
	}
}

func (p *parser) useLine(px *proxy, l line, example string) (useRule, bool) {
	target, kw, cond := splitCond(l.args)
	if len(target) != 1 {
		p.errorf(px, l.num, "'%s' wants one name and an optional condition, e.g. '%s'", l.kw, example)
		return useRule{}, false
	}
	if kw != "" && len(cond) == 0 {
		p.errorf(px, l.num, "'%s %s %s' wants a condition after '%s'", l.kw, target[0], kw, kw)
		return useRule{}, false
	}
	r := useRule{target: target[0], line: l.num, cond: cond}
	if kw == "if" {
		r.ifCond = joinWords(cond)
	} else if kw == "unless" {
		r.unless = joinWords(cond)
	}
	p.scanFiles(px, l.num, l.args, false)
	return r, true
}

// errorStatuses are the statuses HAProxy generates itself and lets
// errorfile replace (configuration.txt, errorfile).
var errorStatuses = []int{200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504}

// errorOp is one errorfile, errorfiles or http-error line. They apply in
// file order, each overriding the statuses it names, once every
// http-errors section is known (HAProxy resolves errorfiles after reading
// the whole file).
type errorOp struct {
	line    int
	status  int    // errorfile, http-error: the status
	file    string // errorfile: the path
	section string // errorfiles: the http-errors section
	codes   []int  // errorfiles: the statuses taken; none: all
	reply   string // http-error: the line after the keyword
}

// httpError reads "http-error status N [content-type T] [BODY] [hdr H V]...":
// the answer for status N, as config.Rules.HTTPErrors carries it.
func (p *parser) httpError(px *proxy, l line) {
	if len(l.args) < 2 || l.args[0] != "status" {
		p.errorf(px, l.num, "'http-error' wants 'status' and a status first, e.g. 'http-error status 503 content-type text/html file /etc/haproxy/maint.html'")
		return
	}
	code, ok := p.errorStatus(px, l, l.args[1])
	if !ok {
		return
	}
	for i := 2; i+1 < len(l.args); i++ {
		switch l.args[i] {
		case "file", "lf-file", "errorfile":
			p.loadFile(px, l.num, l.args[i+1], "response file")
			i++
		case "errorfiles":
			p.refusef(px, l.num, "'http-error ... errorfiles %s': HAProxy answers with a file of http-errors section '%s'; tandem carries http-errors sections only through the errorfiles keyword", l.args[i+1], l.args[i+1])
			i++
		case "string", "lf-string", "content-type":
			i++ // a value, not a keyword
		case "hdr":
			i += 2
		}
	}
	px.st.errorOps = append(px.st.errorOps, errorOp{line: l.num, status: code, reply: joinWords(l.args)})
	px.st.httpOnly = append(px.st.httpOnly, httpOnlyItem{l.num, "http-error"})
}

// httpErrorLine is one status's http-error answer after resolution.
type httpErrorLine struct {
	text string
	line int
}

// errorFile reads "errorfile STATUS FILE".
func (p *parser) errorFile(px *proxy, l line) {
	if len(l.args) != 2 {
		p.errorf(px, l.num, "'errorfile' wants a status and a file, e.g. 'errorfile 503 /etc/haproxy/errors/503.http'")
		return
	}
	code, ok := p.errorStatus(px, l, l.args[0])
	if !ok {
		return
	}
	p.loadFile(px, l.num, l.args[1], "error file")
	px.st.errorOps = append(px.st.errorOps, errorOp{line: l.num, status: code, file: l.args[1]})
	px.st.httpOnly = append(px.st.httpOnly, httpOnlyItem{l.num, "errorfile"})
}

func (p *parser) errorStatus(px *proxy, l line, s string) (int, bool) {
	code, err := strconv.Atoi(s)
	if err != nil || !slices.Contains(errorStatuses, code) {
		p.errorf(px, l.num, "'%s %s': HAProxy generates only statuses %s itself", l.kw, s, intsText(errorStatuses))
		return 0, false
	}
	return code, true
}

func intsText(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// errorFiles reads "errorfiles SECTION [STATUS...]": the error files of an
// http-errors section, all or only those statuses.
func (p *parser) errorFiles(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(px, l.num, "'errorfiles' wants an http-errors section name, e.g. 'errorfiles site'")
		return
	}
	op := errorOp{line: l.num, section: l.args[0]}
	for _, s := range l.args[1:] {
		code, ok := p.errorStatus(px, l, s)
		if !ok {
			return
		}
		op.codes = append(op.codes, code)
	}
	px.st.errorOps = append(px.st.errorOps, op)
	px.st.httpOnly = append(px.st.httpOnly, httpOnlyItem{l.num, "errorfiles"})
}

// resolveErrorFiles applies a section's errorfile, errorfiles and
// http-error lines: status → file, with the line each came from, and the
// http-error answers, in file order. For one status the last line wins,
// as in HAProxy.
func (p *parser) resolveErrorFiles(px *proxy) (map[int]string, map[int]int, []httpErrorLine) {
	if len(px.st.errorOps) == 0 {
		return nil, nil, nil
	}
	files, lines := map[int]string{}, map[int]int{}
	replies := map[int]httpErrorLine{}
	var order []int
	for _, op := range px.st.errorOps {
		switch {
		case op.reply != "":
			delete(files, op.status)
			delete(lines, op.status)
			if _, seen := replies[op.status]; !seen {
				order = append(order, op.status)
			}
			replies[op.status] = httpErrorLine{op.reply, op.line}
		case op.section == "":
			files[op.status], lines[op.status] = op.file, op.line
			delete(replies, op.status)
		default:
			sec, ok := p.httpErrors[op.section]
			if !ok {
				p.errorf(px, op.line, "'errorfiles %s': no http-errors section has that name", op.section)
				continue
			}
			for code, file := range sec.files {
				if len(op.codes) == 0 || slices.Contains(op.codes, code) {
					files[code], lines[code] = file, op.line
					delete(replies, code)
				}
			}
		}
	}
	var answers []httpErrorLine
	for _, code := range order {
		if r, ok := replies[code]; ok {
			answers = append(answers, r)
		}
	}
	return files, lines, answers
}

// checkACLs checks every ACL a section's conditions use, as HAProxy does
// when it reads each rule: defined above the rule in the same section (or
// predefined). A named defaults section's rules see its own ACLs only,
// and the section's rules do not see them; tandem keeps one ACL namespace
// per section, so a name both define is refused.
func (p *parser) checkACLs(px *proxy) {
	own := px.st.rules
	var def *ruleSet
	if px.st.defRules != nil {
		def = px.st.defRules
	}
	check := func(cond []string, num int, rs, other *ruleSet) {
		for _, name := range aclRefs(cond) {
			first, ok := rs.aclLine[name]
			switch {
			case predefinedACLs[name]:
			case ok && first > num:
				p.errorf(px, num, "ACL '%s' is used above its definition at line %d: HAProxy reads each rule where it is written and refuses this (no such ACL); move the acl line up", name, first)
			case ok:
			case other != nil && other.aclLine[name] > 0:
				p.errorf(px, num, "ACL '%s' is defined at line %d in a defaults section, whose ACLs only its own rules see: HAProxy refuses this (no such ACL)", name, other.aclLine[name])
			default:
				p.errorf(px, num, "no ACL named '%s' in %s: HAProxy refuses this (no such ACL)", name, px)
			}
		}
	}
	forEachCond(own, func(cond []string, num int) { check(cond, num, &own, def) })
	if def == nil {
		return
	}
	forEachCond(*def, func(cond []string, num int) { check(cond, num, def, nil) })
	for _, name := range usedACLs(*def) {
		if num, clash := own.aclLine[name]; clash && def.aclLine[name] > 0 {
			p.refusef(px, num, "ACL '%s' is defined both here and in the defaults section at line %d, whose rules use theirs: HAProxy keeps the two apart; tandem has one ACL namespace per section (rename one)", name, def.aclLine[name])
		}
	}
}

// forEachCond calls fn with the condition and line of every rule of rs.
func forEachCond(rs ruleSet, fn func(cond []string, num int)) {
	for _, list := range [][]rule{rs.tcp, rs.http, rs.redirects, rs.resp, rs.after} {
		for _, r := range list {
			fn(r.cond, r.line)
		}
	}
	for _, list := range [][]useRule{rs.useBackend, rs.useServer} {
		for _, u := range list {
			fn(u.cond, u.line)
		}
	}
}
