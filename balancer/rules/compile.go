package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/config"
	crules "github.com/tandem-lb/tandem/config/rules"
)

// Program is the compiled rules of one config version. It is immutable and
// safe for concurrent use; States come from its pool.
type Program struct {
	frontends     []*Proxy
	backends      []*Proxy
	backendByName map[string]int
	userlists     []*userlist
	varSlots      map[string]int
	varScopes     []crules.Scope
	// memoSlots counts the fetches whose results a request keeps
	// (memo.go); memoKeys names them while compiling.
	memoSlots int
	memoKeys  map[string]int
	// fieldDeps numbers the field names memoised fetches read (memo.go).
	fieldDeps    map[string]int
	numFieldDeps int
	// fieldIDs are those names' numbers from 0 (lower-case), fieldLens
	// their lengths, for the request's field index (hdrindex.go); nil
	// when a name is too long to index.
	fieldIDs  map[string]int
	fieldLens [maxIndexedName + 1]bool
	// numGroups and groupWords size a request's criterion groups
	// (group.go).
	numGroups, groupWords int
	// plain compiles without the memo, the groups and the field index:
	// the reference the fuzz target compares the optimised engine with.
	plain bool
	pool  sync.Pool
}

// Proxy is one frontend's or backend's compiled rules.
type Proxy struct {
	name          string
	nameB         []byte
	serverNames   [][]byte
	backend       bool
	index         int
	inspectDelay  time.Duration
	tcpConnection []*rule
	tcpSession    []*rule
	tcpContent    []*rule
	httpRequest   []*rule
	redirect      []*rule
	httpResponse  []*rule
	httpAfter     []*rule
	useBackend    []*switchRule
	useServer     []*switchRule
	serverByName  map[string]int
	errorFiles    map[int]*Reply
	httpErrors    map[int]*replySpec
	// serverSNI are the servers' sni expressions by server index (nil:
	// none); nil when no server has one.
	serverSNI []*expr
}

// Name is the section's name.
func (px *Proxy) Name() string { return px.name }

// InspectDelay is "tcp-request inspect-delay": how long the core buffers
// client bytes for tcp-request content rules (0: they run at once, on
// whatever has arrived).
func (px *Proxy) InspectDelay() time.Duration { return px.inspectDelay }

// HasTCPContent reports whether the section has tcp-request content rules.
func (px *Proxy) HasTCPContent() bool { return len(px.tcpContent) > 0 }

// Frontend returns the compiled frontend at index i of the config's
// frontends.
func (p *Program) Frontend(i int) *Proxy { return p.frontends[i] }

// Backend returns the compiled backend at index i of the config's backends.
func (p *Program) Backend(i int) *Proxy { return p.backends[i] }

// Compile checks and compiles every frontend's and backend's rules of a
// config that passed Validate. It is called once per config version.
func Compile(c *config.Cluster) (*Program, error) { return compile(c, false) }

func compile(c *config.Cluster, plain bool) (*Program, error) {
	p := &Program{plain: plain, backendByName: map[string]int{}, varSlots: map[string]int{}, memoKeys: map[string]int{}, fieldDeps: map[string]int{}}
	for i, b := range c.Backends {
		p.backendByName[b.Name] = i
	}
	for _, ul := range c.Userlists {
		p.userlists = append(p.userlists, newUserlist(ul))
	}
	env := c.RulesEnv()
	var errs []error
	for i := range c.Frontends {
		px, err := p.compileSection(c, env, c.Frontends[i].Name, false, i)
		errs = append(errs, err)
		p.frontends = append(p.frontends, px)
	}
	for i := range c.Backends {
		px, err := p.compileSection(c, env, c.Backends[i].Name, true, i)
		errs = append(errs, err)
		p.backends = append(p.backends, px)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	p.numFieldDeps = len(p.fieldDeps)
	p.fieldIDs = map[string]int{}
	if plain {
		p.fieldIDs = nil
	}
	for name, dep := range p.fieldDeps {
		if len(name) > maxIndexedName || p.fieldIDs == nil {
			p.fieldIDs = nil
			break
		}
		p.fieldIDs[name] = dep - depNamed
		p.fieldLens[len(name)] = true
	}
	p.memoKeys, p.fieldDeps = nil, nil // compile-time only
	return p, nil
}

func (p *Program) compileSection(c *config.Cluster, env crules.Env, name string, backend bool, i int) (*Proxy, error) {
	sec, _ := c.RuleSection(name, backend)
	ast, errs := crules.Check(sec, env)
	if len(errs) > 0 {
		kind := "frontends"
		if backend {
			kind = "backends"
		}
		var all []error
		for _, e := range errs {
			all = append(all, fmt.Errorf("compile rules: %s[%s].%w", kind, name, e))
		}
		return nil, errors.Join(all...)
	}
	cc := &compiler{p: p, acls: map[*crules.ACL]*acl{}, files: c.Files, groups: map[string]*critGroup{}}
	defer func() {
		p.layoutGroups(cc.groups, cc.crits)
		if !p.plain {
			flatten(cc.conds) // after the groups' layout: flat terms hold their slots
		}
	}()
	px := &Proxy{name: name, nameB: []byte(name), backend: backend, index: i, inspectDelay: ast.InspectDelay}
	if backend {
		b := &c.Backends[i]
		px.serverByName = make(map[string]int, len(b.Servers))
		for j, s := range b.Servers {
			px.serverByName[s.Name] = j
			px.serverNames = append(px.serverNames, []byte(s.Name))
		}
	}
	cc.px = px
	px.tcpConnection = cc.rules(ast.TCPConnection)
	px.tcpSession = cc.rules(ast.TCPSession)
	px.tcpContent = cc.rules(ast.TCPContent)
	px.httpRequest = cc.rules(ast.HTTPRequest)
	px.redirect = cc.rules(ast.Redirect)
	px.httpResponse = cc.rules(ast.HTTPResponse)
	px.httpAfter = cc.rules(ast.HTTPAfterResponse)
	px.useBackend = cc.switches(ast.UseBackend, func(n string) int {
		if i, ok := p.backendByName[n]; ok {
			return i
		}
		return -1
	})
	if backend && len(ast.ServerSNI) > 0 {
		px.serverSNI = make([]*expr, len(px.serverNames))
		for name, e := range ast.ServerSNI {
			if j, ok := px.serverByName[name]; ok {
				px.serverSNI[j] = cc.expr(e, false)
			}
		}
	}
	px.useServer = cc.switches(ast.UseServer, func(n string) int {
		if i, ok := px.serverByName[n]; ok {
			return i
		}
		return -1
	})
	if len(ast.HTTPErrors) > 0 {
		px.httpErrors = map[int]*replySpec{}
		for code, rp := range ast.HTTPErrors {
			px.httpErrors[code] = cc.replySpec(rp)
		}
	}
	if len(ast.ErrorFiles) > 0 {
		px.errorFiles = map[int]*Reply{}
		for code, ef := range ast.ErrorFiles {
			px.errorFiles[code] = errorFileReply(ef)
		}
	}
	return px, nil
}

func errorFileReply(ef *crules.ErrorFile) *Reply {
	r := &Reply{Status: ef.Status, Reason: []byte(ef.Reason), Body: []byte(ef.Body)}
	for _, f := range ef.Fields {
		// The core frames the body itself.
		if strings.EqualFold(f[0], "content-length") || strings.EqualFold(f[0], "transfer-encoding") {
			continue
		}
		r.Fields = append(r.Fields, Field{Name: []byte(f[0]), Value: []byte(f[1])})
	}
	return r
}

type compiler struct {
	p      *Program
	px     *Proxy
	acls   map[*crules.ACL]*acl
	files  map[string]string
	maps   map[string]*mapTable
	groups map[string]*critGroup // by groupKey, for this section
	crits  []*criterion          // every criterion of the section
	conds  []*cond               // every condition of the section
}

// arg is a compiled argument: bytes and string forms, integer, variable
// slot, or an index (backend, server, userlist).
type arg struct {
	s     []byte
	str   string
	i     int64
	isVar bool
	slot  int
	scope crules.Scope
	n, n2 int
}

type expr struct {
	fetch crules.Fetch
	group fetchGroup
	args  []arg
	convs []conv
	// memo is the slot where a request keeps this fetch's first result
	// (the same fetch with the same arguments, asked the same way, shares
	// it), -1 when it is fetched each time; dep is what it reads.
	memo, dep int
}

type conv struct {
	id     crules.Conv
	in     crules.Type
	args   []arg
	m      *mapTable
	re     *regexp.Regexp
	tmpl   []byte
	global bool
}

func (cc *compiler) slot(v crules.Var) (int, crules.Scope) {
	key := v.String()
	n, ok := cc.p.varSlots[key]
	if !ok {
		n = len(cc.p.varScopes)
		cc.p.varSlots[key] = n
		cc.p.varScopes = append(cc.p.varScopes, v.Scope)
	}
	return n, v.Scope
}

func (cc *compiler) args(as []crules.Arg) []arg {
	out := make([]arg, len(as))
	for i, a := range as {
		x := arg{s: []byte(a.Text), str: a.Text, i: a.Int, n: -1, n2: -1}
		if a.Var != nil {
			x.isVar = true
			x.slot, x.scope = cc.slot(*a.Var)
		}
		switch a.Kind {
		case crules.ArgBackend:
			x.n = cc.p.backendByName[a.Text]
		case crules.ArgServer:
			be, srv, ok := strings.Cut(a.Text, "/")
			if !ok {
				be, srv = cc.px.name, a.Text
			}
			x.n = cc.p.backendByName[be]
			x.str = srv
		case crules.ArgUserlist:
			for j, ul := range cc.p.userlists {
				if ul.name == a.Text {
					x.n = j
				}
			}
		case crules.ArgMask:
			bits, _ := crules.ParseIPPattern("0.0.0.0/" + a.Text)
			x.i = int64(bits.Bits())
		case crules.ArgMask6:
			x.i, _ = strconv.ParseInt(a.Text, 10, 64)
		}
		out[i] = x
	}
	return out
}

// expr compiles an expression; acl says it is an ACL criterion's, which
// iterates over values (it is memoised apart from a sample's).
func (cc *compiler) expr(e *crules.Expr, acl bool) *expr {
	x := &expr{fetch: e.Fetch, group: groupOf(e.Fetch), args: cc.args(e.Args)}
	x.memo, x.dep = cc.memoSlot(e, acl)
	for _, c := range e.Convs {
		cv := conv{id: c.Def.ID, in: c.Def.In, args: cc.args(c.Args)}
		switch c.Def.ID {
		case crules.ConvMap:
			cv.m = cc.mapTable(c.Args[0].Text, c.Def)
		case crules.ConvRegsub:
			flags := ""
			if len(c.Args) > 2 {
				flags = c.Args[2].Text
			}
			cv.re = compileRegex(c.Args[0].Text, strings.Contains(flags, "i"))
			cv.global = strings.Contains(flags, "g")
			cv.tmpl = []byte(c.Args[1].Text)
		}
		x.convs = append(x.convs, cv)
	}
	return x
}

// criterion is a compiled ACL criterion: an expression, a match method and
// one index per pattern source (inline patterns and each -f file, each
// with its own case flag).
type criterion struct {
	e   *expr
	m   crules.Match
	idx []index
	// group, when set, evaluates this criterion with the others on the
	// same expression; bit is its result's position there.
	group *critGroup
	bit   int
	// foundID, when 0 or more, is the field name whose presence answers
	// "hdr(NAME) -m found" (the field index tells at once); foundRes: in
	// the response.
	foundID  int
	foundRes bool
}

type acl struct{ crits []*criterion }

type term struct {
	neg  bool
	acl  *acl
	crit *criterion // the ACL's only criterion, when it has one
}

type cond struct {
	unless bool
	or     [][]term
	flat   []flatTerm // the same condition flat, when it can be (flat.go)
}

func (cc *compiler) criterion(c *crules.Criterion) *criterion {
	x := &criterion{e: cc.expr(c.Expr, true), m: c.Match, foundID: -1}
	if c.Match == crules.MatchFound {
		cc.foundByIndex(c, x)
	}
	if c.Match == crules.MatchFound || c.Match == crules.MatchBool {
		cc.crits = append(cc.crits, x)
		return x
	}
	for _, f := range c.Files {
		x.idx = append(x.idx, buildIndex(c.Match, f.Patterns, f.IgnoreCase))
	}
	if len(c.Patterns) > 0 {
		x.idx = append(x.idx, buildIndex(c.Match, c.Patterns, c.IgnoreCase))
	}
	cc.group(c, x)
	cc.crits = append(cc.crits, x)
	return x
}

func (cc *compiler) acl(a *crules.ACL) *acl {
	if x, ok := cc.acls[a]; ok {
		return x
	}
	x := &acl{}
	for _, c := range a.Criteria {
		x.crits = append(x.crits, cc.criterion(c))
	}
	cc.acls[a] = x
	return x
}

func (cc *compiler) cond(c *crules.Cond) *cond {
	if c == nil {
		return nil
	}
	x := &cond{unless: c.Unless}
	for _, suite := range c.Or {
		var ts []term
		for _, t := range suite {
			var x term
			if t.Anon != nil {
				x = term{neg: t.Neg, acl: &acl{crits: []*criterion{cc.criterion(t.Anon)}}}
			} else {
				x = term{neg: t.Neg, acl: cc.acl(t.ACL)}
			}
			if len(x.acl.crits) == 1 {
				x.crit = x.acl.crits[0]
			}
			ts = append(ts, x)
		}
		x.or = append(x.or, ts)
	}
	cc.conds = append(cc.conds, x)
	return x
}

// lformat is a compiled log-format.
type lformat struct {
	nodes  []lfNode
	static []byte // set when the format is only text
	isStat bool
}

type lfNode struct {
	lit   []byte
	e     *expr
	v     crules.LFVar
	quote bool
}

func (cc *compiler) format(f *crules.LogFormat) *lformat {
	if f == nil {
		return nil
	}
	x := &lformat{}
	if s, ok := f.Static(); ok {
		x.static, x.isStat = []byte(s), true
	}
	for _, n := range f.Nodes {
		ln := lfNode{lit: []byte(n.Lit), v: n.Var, quote: n.Quote}
		if n.Expr != nil {
			ln.e = cc.expr(n.Expr, false)
		}
		x.nodes = append(x.nodes, ln)
	}
	return x
}

// HTTPActive reports whether the section has anything for an HTTP request
// to evaluate: http-request, redirect, http-response or http-after-response
// rules, use_backend or use-server rules, tcp-request rules, or error
// pages. A core serving only inactive sections can skip the rules stages.
func (px *Proxy) HTTPActive() bool {
	return len(px.httpRequest)+len(px.redirect)+len(px.httpResponse)+len(px.httpAfter)+
		len(px.useBackend)+len(px.useServer)+len(px.tcpContent)+len(px.tcpConnection)+len(px.tcpSession)+
		len(px.errorFiles)+len(px.httpErrors) > 0 || px.HasServerSNI()
}
