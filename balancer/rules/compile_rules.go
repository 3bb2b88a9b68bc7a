package rules

import (
	"regexp"

	crules "github.com/tandem-lb/tandem/config/rules"
)

// rule is a compiled rule line.
type rule struct {
	act       crules.Action
	cond      *cond
	hdr       []byte
	value     *lformat
	re        *regexp.Regexp
	nameMatch crules.Match
	nameRe    *regexp.Regexp
	slot      int
	scope     crules.Scope
	e         *expr
	status    int
	reason    []byte
	realm     []byte
	rd        *redirect
	reply     *replySpec
	edit      int // what the action changes, for the memo (memo.go editDep)
	hdrID     int // the field name's number in the field index (hdrindex.go), -1 none
}

type redirect struct {
	typ         crules.RedirectType
	target      *lformat
	code        int
	dropQuery   bool
	appendSlash bool
	ignoreEmpty bool
	cookie      []byte // the complete Set-Cookie value, or nil
}

type replySpec struct {
	status      int
	body        crules.ReplyBody
	contentType []byte
	text        []byte   // string, file content
	format      *lformat // lf-string, lf-file
	errorFile   *Reply   // errorfile FILE
	hdrs        []replyHdr
}

type replyHdr struct {
	name  []byte
	value *lformat
}

func (cc *compiler) rules(rs []*crules.Rule) []*rule {
	out := make([]*rule, 0, len(rs))
	for _, r := range rs {
		out = append(out, cc.rule(r))
	}
	return out
}

func (cc *compiler) rule(r *crules.Rule) *rule {
	x := &rule{act: r.Action, cond: cc.cond(r.Cond), hdr: []byte(r.Header), value: cc.format(r.Value),
		nameMatch: r.NameMatch, status: r.Status, reason: []byte(r.Reason), edit: cc.editDep(r), hdrID: -1}
	if r.Action == crules.ActSetHeader || r.Action == crules.ActAddHeader {
		x.hdrID = cc.fieldDep(r.Header) - depNamed
	}
	if r.Regex != "" {
		x.re = compileRegex(r.Regex, false)
	}
	if r.NameMatch == crules.MatchReg {
		x.nameRe = compileRegex(r.Header, false)
	}
	switch r.Action {
	case crules.ActSetVar, crules.ActSetVarFmt, crules.ActUnsetVar:
		x.slot, x.scope = cc.slot(r.Var)
		if r.Expr != nil {
			x.e = cc.expr(r.Expr, false)
		}
	case crules.ActAuth:
		// HAProxy's default realm is the section's name (http_act.c).
		x.realm = []byte(r.Realm)
		if r.Realm == "" {
			x.realm = []byte(cc.px.name)
		}
	case crules.ActRedirect:
		rd := r.Redirect
		x.rd = &redirect{typ: rd.Type, target: cc.format(rd.Target), code: rd.Code,
			dropQuery: rd.DropQuery, appendSlash: rd.AppendSlash, ignoreEmpty: rd.IgnoreEmpty}
		if rd.Cookie != "" {
			// http_rules.c: a set cookie gets "; path=/;", a cleared one
			// "; path=/; Max-Age=0;".
			suffix := "; path=/;"
			if rd.ClearCookie {
				suffix = "; path=/; Max-Age=0;"
			}
			x.rd.cookie = []byte(rd.Cookie + suffix)
		}
	case crules.ActDeny, crules.ActReturn:
		x.reply = cc.replySpec(r.Reply)
	}
	return x
}

func (cc *compiler) replySpec(rp *crules.Reply) *replySpec {
	x := &replySpec{status: rp.Status, body: rp.Body, contentType: []byte(rp.ContentType), format: cc.format(rp.Format)}
	switch rp.Body {
	case crules.BodyString:
		x.text = []byte(rp.Text)
	case crules.BodyFile:
		x.text = []byte(cc.files[rp.Text])
	case crules.BodyErrorFile:
		ef, _ := crules.ParseErrorFile(cc.files[rp.Text])
		x.errorFile = errorFileReply(ef)
	}
	for _, h := range rp.Headers {
		x.hdrs = append(x.hdrs, replyHdr{name: []byte(h.Name), value: cc.format(h.Value)})
	}
	return x
}

// switchRule is a compiled use_backend or use-server line.
type switchRule struct {
	target int      // the static target's index
	format *lformat // a dynamic target
	cond   *cond
}

func (cc *compiler) switches(rs []*crules.SwitchRule, find func(string) int) []*switchRule {
	out := make([]*switchRule, 0, len(rs))
	for _, r := range rs {
		x := &switchRule{target: -1, format: cc.format(r.Format), cond: cc.cond(r.Cond)}
		if r.Format == nil {
			x.target = find(r.Name)
		}
		out = append(out, x)
	}
	return out
}
