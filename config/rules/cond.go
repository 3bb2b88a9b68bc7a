package rules

import (
	"strings"
)

// Cond is a rule's condition: "if" or "unless" and a disjunction of
// conjunctions of (possibly negated) ACLs (configuration.txt 7.2).
type Cond struct {
	Unless bool
	// Or holds the term suites separated by "or"/"||"; a suite holds when
	// every term in it does.
	Or [][]Term
}

// Term is one ACL of a condition, named or anonymous ("{ ... }").
type Term struct {
	Neg  bool
	Name string     // a named or predefined ACL
	Anon *Criterion // an anonymous ACL
	// ACL is the named ACL resolved for the rule's stage.
	ACL *ACL
}

// String prints the condition with its keyword ("if ..." / "unless ...").
func (c *Cond) String() string { return JoinWords(c.words()...) }

func (c *Cond) words() []string {
	w := []string{"if"}
	if c.Unless {
		w[0] = "unless"
	}
	for i, suite := range c.Or {
		if i > 0 {
			w = append(w, "||")
		}
		for _, t := range suite {
			neg := ""
			if t.Neg {
				neg = "!"
			}
			if t.Anon != nil {
				w = append(w, neg+"{")
				w = append(w, t.Anon.words()...)
				w = append(w, "}")
			} else {
				w = append(w, neg+t.Name)
			}
		}
	}
	return w
}

// parseCond parses the words of a condition after "if"/"unless", as
// HAProxy's parse_acl_cond does (acl.c): '!' prefixes toggle negation and
// may stand alone; "or" (any case) and "||" start a new suite; "{ ... }"
// is an anonymous ACL; a name is looked up among the section's ACLs, then
// the predefined ones (configuration.txt 7.4).
func (p *parser) parseCond(unless bool, words []Word, kwPos int) (*Cond, error) {
	c := &Cond{Unless: unless}
	var suite []Term
	neg := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		text := w.Text
		for strings.HasPrefix(text, "!") {
			neg = !neg
			text = text[1:]
		}
		switch {
		case text == "":
			continue
		case strings.EqualFold(text, "or") || text == "||":
			if len(suite) == 0 {
				return nil, errAt(w.Pos, "%q with no condition before it", text)
			}
			c.Or = append(c.Or, suite)
			suite, neg = nil, false
			continue
		case text == "}":
			return nil, errAt(w.Pos, "'}' without '{'")
		case text == "{":
			end := i + 1
			for end < len(words) && words[end].Text != "}" {
				end++
			}
			if end == len(words) {
				return nil, errAt(w.Pos, "missing closing '}' in condition")
			}
			crit, err := p.parseCriterion(words[i+1 : end])
			if err != nil {
				if e, ok := err.(*Error); ok && e.Pos < 0 {
					e.Pos = w.Pos
				}
				return nil, err
			}
			suite = append(suite, Term{Neg: neg, Anon: crit})
			i = end
		default:
			acl, err := p.resolveACL(text, w.Pos)
			if err != nil {
				return nil, err
			}
			suite = append(suite, Term{Neg: neg, Name: text, ACL: acl})
		}
		neg = false
	}
	if len(suite) == 0 {
		if len(c.Or) > 0 {
			return nil, errAt(-1, "missing condition after the last \"or\"")
		}
		kw := "if"
		if unless {
			kw = "unless"
		}
		return nil, errAt(kwPos, "missing condition after %q", kw)
	}
	c.Or = append(c.Or, suite)
	return c, nil
}

// predefinedACLs are HAProxy's built-in ACLs (configuration.txt 7.4), as
// the criteria they stand for. RDP_COOKIE and WAIT_END use fetches tandem
// does not have.
var predefinedACLs = map[string]string{
	"FALSE":          "always_false",
	"TRUE":           "always_true",
	"HTTP":           "req.proto_http",
	"HTTP_1.0":       "req.ver 1.0",
	"HTTP_1.1":       "req.ver 1.1",
	"HTTP_2.0":       "req.ver 2.0",
	"HTTP_CONTENT":   "req.hdr_val(content-length) gt 0",
	"HTTP_URL_ABS":   "url_reg ^[^/:]*://",
	"HTTP_URL_SLASH": "url_beg /",
	"HTTP_URL_STAR":  "url *",
	"LOCALHOST":      "src 127.0.0.1/8 ::1",
	"METH_CONNECT":   "method CONNECT",
	"METH_DELETE":    "method DELETE",
	"METH_GET":       "method GET HEAD",
	"METH_HEAD":      "method HEAD",
	"METH_OPTIONS":   "method OPTIONS",
	"METH_POST":      "method POST",
	"METH_PUT":       "method PUT",
	"METH_TRACE":     "method TRACE",
	"REQ_CONTENT":    "req.len gt 0",
}

// resolveACL returns the named ACL parsed for the parser's stage. A
// section's own ACL of that name hides a predefined one.
func (p *parser) resolveACL(name string, pos int) (*ACL, error) {
	key := aclKey{name, p.stage}
	if a, ok := p.aclCache[key]; ok {
		return a, nil
	}
	lines, own := p.acls[name]
	if !own {
		text, ok := predefinedACLs[name]
		if !ok {
			if name == "RDP_COOKIE" || name == "WAIT_END" {
				return nil, errAt(pos, "predefined ACL %q is not supported by tandem", name)
			}
			return nil, errAt(pos, "unknown ACL %q", name)
		}
		lines = []string{text}
	}
	if p.aclSyntaxBad[name] {
		return nil, errAt(pos, "ACL %q has errors (see its acls entry)", name)
	}
	acl := &ACL{Name: name}
	for _, line := range lines {
		words, err := Split(line)
		if err == nil {
			var c *Criterion
			if c, err = p.parseCriterion(words); err == nil {
				acl.Criteria = append(acl.Criteria, c)
				continue
			}
		}
		return nil, errAt(pos, "ACL %q: %v", name, plainMsg(err))
	}
	p.aclCache[key] = acl
	return acl, nil
}

// plainMsg is an error's message without its column, for errors about
// another line than the one being reported.
func plainMsg(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Msg
	}
	return err.Error()
}
