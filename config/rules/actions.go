package rules

import (
	"strconv"
	"strings"
)

const (
	tcpSets  = 1<<SetTCPConnection | 1<<SetTCPSession | 1<<SetTCPContent
	reqSet   = 1 << SetHTTPRequest
	resSets  = 1<<SetHTTPResponse | 1<<SetHTTPAfterResponse
	httpSets = reqSet | resSets
	varSets  = tcpSets | httpSets
)

// actionSpec is one action keyword: where it is allowed and how its
// arguments parse (configuration.txt 4.2, the http-request, http-response,
// http-after-response and tcp-request keywords).
type actionSpec struct {
	act  Action
	sets uint8
	// parse reads the action's arguments from args (the words after the
	// keyword) and returns how many it used.
	parse func(p *parser, r *Rule, kw Word, args []Word) (int, error)
}

var actionSpecs = map[string]actionSpec{
	"accept":         {ActAccept, tcpSets, noArgs},
	"reject":         {ActReject, tcpSets | reqSet, noArgs},
	"allow":          {ActAllow, httpSets, noArgs},
	"deny":           {ActDeny, reqSet | 1<<SetHTTPResponse, parseDeny},
	"auth":           {ActAuth, reqSet, parseAuth},
	"redirect":       {ActRedirect, reqSet | 1<<SetHTTPResponse | 1<<SetRedirect, parseRedirect},
	"return":         {ActReturn, reqSet | 1<<SetHTTPResponse, parseReturn},
	"set-header":     {ActSetHeader, httpSets, parseHeaderFmt},
	"add-header":     {ActAddHeader, httpSets, parseHeaderFmt},
	"del-header":     {ActDelHeader, httpSets, parseDelHeader},
	"replace-header": {ActReplaceHeader, httpSets, parseReplaceHeader},
	"replace-value":  {ActReplaceValue, httpSets, parseReplaceHeader},
	"set-path":       {ActSetPath, reqSet, parseFmt},
	"set-pathq":      {ActSetPathq, reqSet, parseFmt},
	"set-query":      {ActSetQuery, reqSet, parseFmt},
	"set-uri":        {ActSetURI, reqSet, parseFmt},
	"set-method":     {ActSetMethod, reqSet, parseFmt},
	"replace-path":   {ActReplacePath, reqSet, parseReplace},
	"replace-pathq":  {ActReplacePathq, reqSet, parseReplace},
	"replace-uri":    {ActReplaceURI, reqSet, parseReplace},
	"set-status":     {ActSetStatus, resSets, parseSetStatus},
	"set-var":        {ActSetVar, varSets, parseSetVar},
	"set-var-fmt":    {ActSetVarFmt, varSets, parseSetVar},
	"unset-var":      {ActUnsetVar, varSets, parseSetVar},
}

// unsupportedActions are HAProxy actions tandem does not implement; naming
// them gives a clearer error than "unknown action".
var unsupportedActions = []string{"add-acl", "cache-use", "cache-store", "capture", "del-acl",
	"del-map", "disable-l7-retry", "do-resolve", "early-hint", "normalize-uri", "sc-inc-gpc",
	"sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0", "send-spoe-group", "set-dst",
	"set-dst-port", "set-log-level", "set-map", "set-mark", "set-nice", "set-priority-class",
	"set-priority-offset", "set-src", "set-src-port", "set-timeout", "set-tos", "silent-drop",
	"strict-mode", "tarpit", "track-sc0", "track-sc1", "track-sc2", "use-service",
	"wait-for-body", "wait-for-handshake", "expect-proxy", "expect-netscaler-cip", "switch-mode",
	"set-bandwidth-limit", "lua"}

// parseAction parses a rule's words (after the rule set keyword) into r.
func (p *parser) parseAction(r *Rule, words []Word) error {
	if len(words) == 0 {
		return errAt(-1, "missing action")
	}
	kw := words[0]
	name := kw.Text
	if i := strings.IndexByte(name, '('); i >= 0 {
		name = name[:i]
	}
	if strings.HasPrefix(name, "lua.") {
		name = "lua"
	}
	spec, ok := actionSpecs[name]
	if !ok {
		for _, u := range unsupportedActions {
			if u == name {
				return errAt(kw.Pos, "tandem does not implement the %s action %q", r.Set, name)
			}
		}
		return errAt(kw.Pos, "unknown %s action %q", r.Set, name)
	}
	if spec.sets&r.Set.bit() == 0 {
		return errAt(kw.Pos, "action %q cannot be used in %s rules", name, r.Set)
	}
	if name != kw.Text && spec.act != ActSetVar && spec.act != ActSetVarFmt && spec.act != ActUnsetVar {
		return errAt(kw.Pos, "action %q takes no arguments in parentheses", name)
	}
	r.Action = spec.act
	rest := words[1:]
	n, err := spec.parse(p, r, kw, rest)
	if err != nil {
		return err
	}
	rest = rest[n:]
	if len(rest) == 0 {
		return nil
	}
	switch rest[0].Text {
	case "if", "unless":
		r.Cond, err = p.parseCond(rest[0].Text == "unless", rest[1:], rest[0].Pos)
		return err
	}
	return errAt(rest[0].Pos, "unexpected %q after the %q action: only if or unless may follow", rest[0].Text, name)
}

func isCondWord(w Word) bool { return w.Text == "if" || w.Text == "unless" }

// need returns the first n words of args or an error naming what is missing.
func need(args []Word, n int, kw Word, what string) error {
	if len(args) < n {
		return errAt(kw.Pos, "%q expects %s", kw.Text, what)
	}
	return nil
}

func noArgs(*parser, *Rule, Word, []Word) (int, error) { return 0, nil }

func parseHeaderFmt(p *parser, r *Rule, kw Word, args []Word) (int, error) {
	if err := need(args, 2, kw, "a header name and a value"); err != nil {
		return 0, err
	}
	r.Header = args[0].Text
	var err error
	r.Value, err = p.parseLogFormat(args[1].Text, args[1].Pos)
	return 2, err
}

func parseDelHeader(p *parser, r *Rule, kw Word, args []Word) (int, error) {
	if err := need(args, 1, kw, "a header name"); err != nil {
		return 0, err
	}
	r.Header = args[0].Text
	if len(args) >= 3 && args[1].Text == "-m" {
		m, ok := matchByName(args[2].Text)
		if !ok || (m != MatchStr && m != MatchBeg && m != MatchEnd && m != MatchSub && m != MatchReg) {
			return 0, errAt(args[2].Pos, "del-header -m takes str, beg, end, sub or reg (got %q)", args[2].Text)
		}
		if m == MatchReg {
			if err := checkRegex(r.Header); err != nil {
				return 0, errAt(args[0].Pos, "%v", plainMsg(err))
			}
		}
		r.NameMatch = m
		return 3, nil
	}
	return 1, nil
}

func parseReplaceHeader(p *parser, r *Rule, kw Word, args []Word) (int, error) {
	if err := need(args, 3, kw, "a header name, a regex and a replacement"); err != nil {
		return 0, err
	}
	r.Header = args[0].Text
	n, err := parseReplace(p, r, kw, args[1:])
	return n + 1, err
}

func parseReplace(p *parser, r *Rule, kw Word, args []Word) (int, error) {
	if err := need(args, 2, kw, "a regex and a replacement"); err != nil {
		return 0, err
	}
	if err := checkRegex(args[0].Text); err != nil {
		return 0, errAt(args[0].Pos, "%v", plainMsg(err))
	}
	r.Regex = args[0].Text
	var err error
	r.Value, err = p.parseLogFormat(args[1].Text, args[1].Pos)
	return 2, err
}

func parseFmt(p *parser, r *Rule, kw Word, args []Word) (int, error) {
	if err := need(args, 1, kw, "a value (log-format)"); err != nil {
		return 0, err
	}
	var err error
	r.Value, err = p.parseLogFormat(args[0].Text, args[0].Pos)
	return 1, err
}

func parseSetStatus(p *parser, r *Rule, kw Word, args []Word) (int, error) {
	if err := need(args, 1, kw, "a status code"); err != nil {
		return 0, err
	}
	code, err := strconv.Atoi(args[0].Text)
	if err != nil || code < 100 || code > 999 {
		return 0, errAt(args[0].Pos, "set-status: %q is not a status code 100-999", args[0].Text)
	}
	r.Status = code
	if len(args) >= 2 && args[1].Text == "reason" {
		if len(args) < 3 {
			return 0, errAt(args[1].Pos, "reason expects a string")
		}
		r.Reason = args[2].Text
		return 3, nil
	}
	return 1, nil
}

func parseSetVar(p *parser, r *Rule, kw Word, args []Word) (int, error) {
	open := strings.IndexByte(kw.Text, '(')
	if open < 0 || !strings.HasSuffix(kw.Text, ")") {
		return 0, errAt(kw.Pos, "%q needs a variable: %s(txn.name)", kw.Text, kw.Text)
	}
	inner := kw.Text[open+1 : len(kw.Text)-1]
	if strings.Contains(inner, ",") {
		return 0, errAt(kw.Pos+open+1, "set-var conditions (ifexists, ifgt, ...) are not supported by tandem")
	}
	v, err := ParseVar(inner)
	if err != nil {
		return 0, errAt(kw.Pos+open+1, "%v", plainMsg(err))
	}
	r.Var = v
	switch r.Action {
	case ActUnsetVar:
		return 0, nil
	case ActSetVarFmt:
		return parseFmt(p, r, kw, args)
	}
	if err := need(args, 1, kw, "a sample expression"); err != nil {
		return 0, err
	}
	e, _, err := p.parseExpr(args[0].Text, 0, args[0].Pos, 0)
	if err != nil {
		return 0, err
	}
	r.Expr = e
	return 1, nil
}

func parseAuth(p *parser, r *Rule, kw Word, args []Word) (int, error) {
	if len(args) > 0 && args[0].Text == "realm" {
		if len(args) < 2 {
			return 0, errAt(args[0].Pos, "realm expects a value")
		}
		r.Realm = args[1].Text
		return 2, nil
	}
	return 0, nil
}

// parseDeny follows http_act.c parse_http_deny: alone or with only
// deny_status it uses the error pages; otherwise its arguments are those of
// return. http-request deny answers 403 by default, http-response deny 502.
func parseDeny(p *parser, r *Rule, kw Word, args []Word) (int, error) {
	status := 403
	if r.Set == SetHTTPResponse {
		status = 502
	}
	if len(args) == 0 || isCondWord(args[0]) {
		r.Reply = &Reply{Status: status, Body: BodyErrorFiles}
		return 0, nil
	}
	if args[0].Text == "deny_status" && (len(args) < 3 || isCondWord(args[2])) {
		if len(args) < 2 {
			return 0, errAt(args[0].Pos, "deny_status expects a status code")
		}
		code, err := replyStatus(args[1])
		if err != nil {
			return 0, err
		}
		r.Reply = &Reply{Status: code, ExplicitStatus: true, Body: BodyErrorFiles}
		return 2, p.checkErrorStatus(code, args[1].Pos, "deny_status")
	}
	return p.parseReply(r, args, status)
}

func parseReturn(p *parser, r *Rule, kw Word, args []Word) (int, error) {
	return p.parseReply(r, args, 200)
}

func replyStatus(w Word) (int, error) {
	code, err := strconv.Atoi(w.Text)
	if err != nil || code < 200 || code > 599 {
		return 0, errAt(w.Pos, "status %q: want 200-599", w.Text)
	}
	return code, nil
}

// errorStatuses are the codes HAProxy has error pages for (http.c
// http_err_codes): the only ones default-errorfiles may answer with.
var errorStatuses = []int{200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504}

func (p *parser) checkErrorStatus(code, pos int, arg string) error {
	for _, c := range errorStatuses {
		if c == code {
			return nil
		}
	}
	return errAt(pos, "status %d has no error page for %s (use one of 200 400 401 403 404 405 407 408 410 413 421 422 425 429 500-504)", code, arg)
}

// parseReply follows http_htx.c http_parse_http_reply.
func (p *parser) parseReply(r *Rule, args []Word, status int) (int, error) {
	rp := &Reply{Status: status}
	i := 0
	var bodyArg Word
	setBody := func(b ReplyBody, kw Word) error {
		if rp.Body != BodyNone {
			return errAt(kw.Pos, "unexpected %q: %q already gives the response", kw.Text, bodyArg.Text)
		}
		rp.Body, bodyArg = b, kw
		return nil
	}
	for i < len(args) && !isCondWord(args[i]) {
		kw := args[i]
		arg := func() (Word, error) {
			if i+1 >= len(args) {
				return Word{}, errAt(kw.Pos, "%q expects an argument", kw.Text)
			}
			i += 2
			return args[i-1], nil
		}
		var w Word
		var err error
		switch kw.Text {
		case "status", "deny_status":
			if w, err = arg(); err == nil {
				rp.Status, err = replyStatus(w)
				rp.ExplicitStatus = true
			}
		case "content-type":
			if w, err = arg(); err == nil {
				rp.ContentType = w.Text
			}
		case "default-errorfiles":
			err = setBody(BodyErrorFiles, kw)
			i++
		case "errorfiles":
			err = errAt(kw.Pos, "http-errors sections (errorfiles NAME) are not supported by tandem")
		case "errorfile", "file", "lf-file":
			b := map[string]ReplyBody{"errorfile": BodyErrorFile, "file": BodyFile, "lf-file": BodyLFFile}[kw.Text]
			if err = setBody(b, kw); err == nil {
				if w, err = arg(); err == nil {
					rp.Text = w.Text
					err = p.loadReplyFile(rp, w)
				}
			}
		case "string", "lf-string":
			b := map[string]ReplyBody{"string": BodyString, "lf-string": BodyLFString}[kw.Text]
			if err = setBody(b, kw); err == nil {
				if w, err = arg(); err == nil {
					rp.Text = w.Text
					if b == BodyLFString {
						rp.Format, err = p.parseLogFormat(w.Text, w.Pos)
					}
				}
			}
		case "hdr":
			if i+2 >= len(args) {
				return 0, errAt(kw.Pos, "hdr expects a name and a value")
			}
			h := ReplyHeader{Name: args[i+1].Text}
			h.Value, err = p.parseLogFormat(args[i+2].Text, args[i+2].Pos)
			i += 3
			rp.Headers = append(rp.Headers, h)
		default:
			return 0, errAt(kw.Pos, "unexpected %q in the response (want status, content-type, string, lf-string, file, lf-file, errorfile, default-errorfiles or hdr)", kw.Text)
		}
		if err != nil {
			return 0, err
		}
	}
	r.Reply = rp
	return i, p.checkReply(rp, bodyArg)
}

// checkReply applies http_parse_http_reply's rules on the combination.
func (p *parser) checkReply(rp *Reply, bodyArg Word) error {
	switch rp.Body {
	case BodyErrorFiles:
		return p.checkErrorStatus(rp.Status, bodyArg.Pos, bodyArg.Text)
	case BodyFile, BodyString:
		if rp.Status == 204 || rp.Status == 304 {
			if rp.Text != "" {
				return errAt(bodyArg.Pos, "no body is allowed in %d responses", rp.Status)
			}
		}
		if rp.ContentType == "" && p.replyBodyLen(rp) > 0 {
			return errAt(bodyArg.Pos, "a content-type is required with a non-empty payload")
		}
	case BodyLFFile, BodyLFString:
		if rp.Status == 204 || rp.Status == 304 {
			return errAt(bodyArg.Pos, "no body is allowed in %d responses", rp.Status)
		}
		if rp.ContentType == "" {
			return errAt(bodyArg.Pos, "a content-type is required with a log-format payload")
		}
	}
	return nil
}

func (p *parser) replyBodyLen(rp *Reply) int {
	if rp.Body == BodyFile {
		content, _ := p.env.File(rp.Text)
		return len(content)
	}
	return len(rp.Text)
}

func (p *parser) loadReplyFile(rp *Reply, w Word) error {
	content, ok := p.env.File(w.Text)
	if !ok {
		return errAt(w.Pos, "file %q is not in the config's files", w.Text)
	}
	switch rp.Body {
	case BodyLFFile:
		f, err := p.parseLogFormat(content, -1)
		if err != nil {
			return errAt(w.Pos, "file %q: %v", w.Text, plainMsg(err))
		}
		rp.Format = f
	case BodyErrorFile:
		if _, err := ParseErrorFile(content); err != nil {
			return errAt(w.Pos, "errorfile %q: %v", w.Text, err)
		}
	}
	return nil
}

// parseRedirect follows http_rules.c http_parse_redirect_rule.
func parseRedirect(p *parser, r *Rule, kw Word, args []Word) (int, error) {
	rd := &Redirect{Code: 302}
	var target Word
	i := 0
	for i < len(args) && !isCondWord(args[i]) {
		w := args[i]
		arg := func() (Word, error) {
			if i+1 >= len(args) {
				return Word{}, errAt(w.Pos, "missing argument for %q", w.Text)
			}
			i += 2
			return args[i-1], nil
		}
		var err error
		switch w.Text {
		case "location", "prefix", "scheme":
			rd.Type = map[string]RedirectType{"location": RedirectLocation, "prefix": RedirectPrefix, "scheme": RedirectScheme}[w.Text]
			target, err = arg()
		case "set-cookie", "clear-cookie":
			var c Word
			if c, err = arg(); err == nil {
				rd.Cookie, rd.ClearCookie = c.Text, w.Text == "clear-cookie"
			}
		case "code":
			var c Word
			if c, err = arg(); err == nil {
				code, cerr := strconv.Atoi(c.Text)
				if cerr != nil || (code != 301 && code != 302 && code != 303 && code != 307 && code != 308) {
					return 0, errAt(c.Pos, "redirect code %q: want 301, 302, 303, 307 or 308", c.Text)
				}
				rd.Code, rd.ExplicitCode = code, true
			}
		case "drop-query":
			rd.DropQuery = true
			i++
		case "append-slash":
			rd.AppendSlash = true
			i++
		case "ignore-empty":
			rd.IgnoreEmpty = true
			i++
		default:
			return 0, errAt(w.Pos, "redirect: unexpected %q (want location, prefix, scheme, code, drop-query, append-slash, ignore-empty, set-cookie or clear-cookie)", w.Text)
		}
		if err != nil {
			return 0, err
		}
	}
	if rd.Type == 0 {
		return 0, errAt(kw.Pos, "redirect needs location, prefix or scheme")
	}
	if r.Set == SetHTTPResponse && rd.Type != RedirectLocation {
		return 0, errAt(kw.Pos, "http-response redirect only supports location")
	}
	if r.Set == SetRedirect {
		rd.Target = &LogFormat{Nodes: []LFNode{{Lit: target.Text}}}
	} else {
		f, err := p.parseLogFormat(target.Text, target.Pos)
		if err != nil {
			return 0, err
		}
		rd.Target = f
	}
	r.Redirect = rd
	return i, nil
}
