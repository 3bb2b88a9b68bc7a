package rules

import (
	"regexp"
	"strconv"
	"strings"
)

// Expr is a sample expression: a fetch method and the converters applied to
// its output in order ("req.hdr(host),lower,map(hosts.map,web)").
type Expr struct {
	Name  string // the fetch's name as written ("hdr", "req_ssl_sni")
	Fetch Fetch  // what it fetches; "hdr" and "cookie" resolved by stage
	Args  []Arg
	Convs []ConvCall
}

// ConvCall is one converter of an expression.
type ConvCall struct {
	Name string
	Def  *ConvDef
	Args []Arg
}

// Arg is one argument of a fetch or converter. Text is the argument as
// written (after quoting is resolved); Int holds ArgInt values.
type Arg struct {
	Kind ArgKind
	Text string
	Int  int64
	// Var is set for ArgVar arguments and ArgIntOrVar arguments naming one.
	Var *Var
}

// Out is the type of the expression's result.
func (e *Expr) Out() Type {
	if n := len(e.Convs); n > 0 {
		return e.Convs[n-1].Def.Out
	}
	return fetchOut(e.Name)
}

func fetchOut(name string) Type {
	if d := LookupFetch(name); d != nil {
		return d.Out
	}
	return TypeAny
}

// String prints the expression so that parsing it gives the same Expr.
func (e *Expr) String() string {
	var b strings.Builder
	b.WriteString(e.Name)
	writeArgs(&b, e.Args)
	for _, c := range e.Convs {
		b.WriteByte(',')
		b.WriteString(c.Name)
		writeArgs(&b, c.Args)
	}
	return b.String()
}

func writeArgs(b *strings.Builder, args []Arg) {
	if len(args) == 0 {
		return
	}
	b.WriteByte('(')
	for i, a := range args {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteArg(a.Text))
	}
	b.WriteByte(')')
}

// quoteArg writes an argument so that the argument parser (HAProxy's
// make_arg_list, configuration.txt 2.2 "second level") reads it back.
func quoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, ",)\"'\\ ]") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// isIDChar is HAProxy's is_idchar: the characters of fetch and converter
// names.
func isIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '+' || c == ':'
}

// parseExpr parses a sample expression at s[i:] and returns it with the
// offset of the first byte after it. base is the offset of s in the line,
// for error positions. The expression ends at the end of s or, when
// stopAt is not 0, at that byte (']' in log-format).
func (p *parser) parseExpr(s string, i, base int, stopAt byte) (*Expr, int, error) {
	start := i
	for i < len(s) && isIDChar(s[i]) {
		i++
	}
	name := s[start:i]
	if name == "" {
		return nil, i, errAt(base+start, "missing fetch method")
	}
	def := LookupFetch(name)
	if def == nil {
		if stickTableFetch(name) {
			return nil, i, errAt(base+start, "tandem does not implement stick tables (fetch %q)", name)
		}
		return nil, i, errAt(base+start, "unknown fetch method %q", name)
	}
	e := &Expr{Name: name, Fetch: def.ID}
	if def.ID == fetchDirectional {
		e.Fetch = def.Req
		if !p.stage.request() {
			e.Fetch = def.Res
		}
	}
	var err error
	if e.Args, i, err = p.parseArgs(s, i, base, name, def.Args, def.MinArgs); err != nil {
		return nil, i, err
	}
	typ := def.Out
	for i < len(s) && s[i] == ',' {
		for i < len(s) && s[i] == ',' {
			i++
		}
		cstart := i
		for i < len(s) && isIDChar(s[i]) {
			i++
		}
		cname := s[cstart:i]
		if cname == "" {
			return nil, i, errAt(base+cstart, "missing converter after ','")
		}
		cd := LookupConv(cname)
		if cd == nil {
			return nil, i, errAt(base+cstart, "unknown converter %q", cname)
		}
		if !castable(typ, cd.In) {
			return nil, i, errAt(base+cstart, "converter %q takes %s, not the %s that %s gives", cname, cd.In, typ, e.lastName())
		}
		c := ConvCall{Name: cname, Def: cd}
		if c.Args, i, err = p.parseArgs(s, i, base, cname, cd.Args, cd.MinArgs); err != nil {
			return nil, i, err
		}
		if cd.ID == ConvMap {
			if err := p.checkMap(c.Args[0], cd, base+cstart); err != nil {
				return nil, i, err
			}
		}
		e.Convs = append(e.Convs, c)
		typ = cd.Out
	}
	if i < len(s) && s[i] != stopAt {
		return nil, i, errAt(base+i, "missing comma after %q", e.lastName())
	}
	if err := p.checkFetchUse(e, def, base+start); err != nil {
		return nil, i, err
	}
	return e, i, nil
}

// stickTableFetch reports the fetches of stick-table counters
// (configuration.txt 7.3.2: sc*_..., src_..., table_...).
func stickTableFetch(name string) bool {
	for _, p := range []string{"sc_", "sc0_", "sc1_", "sc2_", "src_", "table_"} {
		if strings.HasPrefix(name, p) && name != "src_port" {
			return true
		}
	}
	return false
}

func (e *Expr) lastName() string {
	if n := len(e.Convs); n > 0 {
		return e.Convs[n-1].Name
	}
	return e.Name
}

// checkFetchUse refuses a fetch where the rule's stage cannot read what it
// reads (sample.c fetch_cap), and HTTP fetches in mode tcp.
func (p *parser) checkFetchUse(e *Expr, def *FetchDef, pos int) error {
	src := def.Src
	if def.ID == fetchDirectional {
		src = SrcHRQHV
		if !p.stage.request() {
			src = SrcHRSHV
		}
	}
	if !src.validAt(p.stage) {
		if p.inCriterion {
			return errAt(pos, "fetch %q cannot be used in %s rules: what it reads is not available there (HAProxy warns that such a condition never matches)", e.Name, p.stage)
		}
		return errAt(pos, "fetch %q cannot be used in %s rules: what it reads is not available there", e.Name, p.stage)
	}
	if src.http() && !p.http {
		return errAt(pos, "fetch %q needs mode http: tandem does not parse HTTP in a mode tcp proxy", e.Name)
	}
	if src == SrcL6Req && p.http {
		// HAProxy 2.6 keeps an HTTP request in its internal form (HTX):
		// there req.len is that form's size and req.payload its bytes,
		// which no other implementation can give.
		return errAt(pos, "fetch %q reads the raw request bytes, which a mode http proxy does not have as the client sent them (HAProxy reads its internal HTTP form there): use it in mode tcp, or the HTTP fetches (hdr, path, method, ssl_fc_sni)", e.Name)
	}
	return nil
}

// parseArgs parses "(a,b)" at s[i:] when present, as HAProxy's make_arg_list
// does: quotes and backslashes protect ',' and ')'; an empty optional
// argument is absent, except a string, which is empty ("str()" is "").
func (p *parser) parseArgs(s string, i, base int, name string, kinds []ArgKind, min int) ([]Arg, int, error) {
	raw, rawPos, i, err := scanArgs(s, i, base, name)
	if err != nil {
		return nil, i, err
	}
	switch {
	case len(raw) == 1 && raw[0] == "" && (len(kinds) == 0 || kinds[0] != ArgStr):
		raw, rawPos = nil, nil // "()" has no argument
	case raw == nil && min > 0 && kinds[0] == ArgStr:
		// make_arg_list: a mandatory string argument left out is the
		// empty string ("str" is "str()", an empty string).
		raw, rawPos = []string{""}, []int{base + i}
	}
	if len(raw) > len(kinds) {
		if len(kinds) == 0 {
			return nil, i, errAt(rawPos[0], "%s takes no argument", name)
		}
		return nil, i, errAt(rawPos[len(kinds)], "%s takes at most %d argument(s)", name, len(kinds))
	}
	args := make([]Arg, 0, len(raw))
	for k, text := range raw {
		a, absent, err := p.parseArg(kinds[k], text, rawPos[k], k >= min)
		if err != nil {
			return nil, i, err
		}
		if absent {
			// An empty optional argument ends the list (make_arg_list).
			for _, later := range raw[k+1:] {
				if later != "" {
					return nil, i, errAt(rawPos[k], "%s: argument %d is empty", name, k+1)
				}
			}
			break
		}
		args = append(args, a)
	}
	if len(args) < min {
		return nil, i, errAt(base+i-1, "%s: missing argument %d (%s)", name, len(args)+1, argKindName(kinds[len(args)]))
	}
	return args, i, nil
}

// scanArgs reads the raw arguments of "(a,b)" at s[i:], when present.
func scanArgs(s string, i, base int, name string) (raw []string, rawPos []int, next int, err error) {
	if i >= len(s) || s[i] != '(' {
		return nil, nil, i, nil
	}
	open := i
	i++
	var cur strings.Builder
	var quote byte
	argStart := i
	for {
		if i >= len(s) {
			return nil, nil, i, errAt(base+open, "%s: missing ')'", name)
		}
		c := s[i]
		switch {
		case quote == 0 && (c == ',' || c == ')'):
			raw = append(raw, cur.String())
			rawPos = append(rawPos, base+argStart)
			cur.Reset()
			i++
			argStart = i
			if c == ')' {
				return raw, rawPos, i, nil
			}
			continue
		case c == '"' && quote != '\'', c == '\'' && quote != '"':
			if quote == 0 {
				quote = c
			} else {
				quote = 0
			}
		case c == '\\' && quote != '\'' && i+1 < len(s):
			switch n := s[i+1]; n {
			case '\\', ' ', '"', '\'':
				cur.WriteByte(n)
				i++
			case 'r':
				cur.WriteByte('\r')
				i++
			case 'n':
				cur.WriteByte('\n')
				i++
			case 't':
				cur.WriteByte('\t')
				i++
			default:
				cur.WriteByte('\\')
			}
		default:
			cur.WriteByte(c)
		}
		i++
	}
}

func argKindName(k ArgKind) string {
	return [...]string{"", "string", "integer", "backend", "server", "userlist", "map file",
		"regex", "variable", "integer or variable", "IPv4 mask", "IPv6 mask", "time unit"}[k]
}

// parseArg checks one argument against its kind; absent reports an empty
// optional argument (HAProxy's make_arg_list treats those as missing).
func (p *parser) parseArg(k ArgKind, text string, pos int, optional bool) (a Arg, absent bool, err error) {
	a = Arg{Kind: k, Text: text}
	if text == "" && k != ArgStr {
		if optional {
			return a, true, nil
		}
		return a, false, errAt(pos, "missing %s", argKindName(k))
	}
	switch k {
	case ArgInt:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return a, false, errAt(pos, "%q is not an integer", text)
		}
		a.Int = n
	case ArgIntOrVar:
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			a.Int = n
			break
		}
		v, err := ParseVar(text)
		if err != nil {
			return a, false, errAt(pos, "%q is neither an integer nor a variable: %v", text, err)
		}
		a.Var = &v
	case ArgVar:
		v, err := ParseVar(text)
		if err != nil {
			return a, false, errAt(pos, "%v", err)
		}
		a.Var = &v
	case ArgRegex:
		if err := checkRegex(text); err != nil {
			return a, false, errAt(pos, "%v", err)
		}
	case ArgBackend:
		if !p.env.HasBackend(text) {
			return a, false, errAt(pos, "backend %q does not exist", text)
		}
	case ArgServer:
		be, srv, ok := strings.Cut(text, "/")
		if !ok {
			be, srv = p.backend, text
		}
		if be == "" {
			return a, false, errAt(pos, "server %q: name its backend, as in backend/server", text)
		}
		if !p.env.HasServer(be, srv) {
			return a, false, errAt(pos, "server %q does not exist in backend %q", srv, be)
		}
	case ArgUserlist:
		if _, ok := p.env.UserlistGroups(text); !ok {
			return a, false, errAt(pos, "userlist %q does not exist", text)
		}
	case ArgFile:
		if _, ok := p.env.File(text); !ok {
			return a, false, errAt(pos, "file %q is not in the config's files", text)
		}
	case ArgMask:
		if _, ok := parseMask4(text); !ok {
			return a, false, errAt(pos, "%q is not an IPv4 mask (a bit count or a dotted mask)", text)
		}
	case ArgUnit:
		if text != "s" && text != "ms" && text != "us" {
			return a, false, errAt(pos, "unit %q: want s, ms or us", text)
		}
	case ArgMask6:
		if n, err := strconv.Atoi(text); err != nil || n < 0 || n > 128 {
			return a, false, errAt(pos, "%q is not an IPv6 mask (0-128)", text)
		}
	}
	return a, false, nil
}

// checkRegex compiles a regex as the engine will. HAProxy uses PCRE;
// tandem uses Go's RE2 syntax, which refuses back-references and
// look-around instead of running them differently.
func checkRegex(re string) error {
	if _, err := regexp.Compile(re); err != nil {
		return errAt(-1, "regex %q does not compile (tandem uses RE2 syntax: no back-references or look-around): %v", re, err)
	}
	return nil
}

// Var is a variable name with its scope ("txn.user").
type Var struct {
	Scope Scope
	Name  string // without the scope
}

// Scope is a variable's lifetime (configuration.txt, set-var).
type Scope uint8

const (
	ScopeSess Scope = iota + 1 // the client connection
	ScopeTxn                   // the request and its response
	ScopeReq                   // the request only
	ScopeRes                   // the response only
)

var scopeNames = [...]string{"", "sess", "txn", "req", "res"}

func (s Scope) String() string { return scopeNames[s] }

func (v Var) String() string { return v.Scope.String() + "." + v.Name }

// ParseVar parses "scope.name". proc-scoped variables are shared by a whole
// HAProxy process; a cluster has no such thing, so they are refused.
func ParseVar(s string) (Var, error) {
	scope, name, ok := strings.Cut(s, ".")
	if !ok || name == "" {
		return Var{}, errAt(-1, "variable %q: want scope.name with scope sess, txn, req or res", s)
	}
	v := Var{Name: name}
	switch scope {
	case "sess":
		v.Scope = ScopeSess
	case "txn":
		v.Scope = ScopeTxn
	case "req":
		v.Scope = ScopeReq
	case "res":
		v.Scope = ScopeRes
	case "proc":
		return Var{}, errAt(-1, "variable %q: proc-scoped variables are not supported (each node would hold its own)", s)
	default:
		return Var{}, errAt(-1, "variable %q: unknown scope %q (want sess, txn, req or res)", s, scope)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_') {
			return Var{}, errAt(-1, "variable %q: names use letters, digits, '.' and '_'", s)
		}
	}
	return v, nil
}
