package rules

import (
	"strconv"
)

var actionNames = func() map[Action]string {
	m := make(map[Action]string, len(actionSpecs))
	for name, s := range actionSpecs {
		m[s.act] = name
	}
	return m
}()

// String prints the rule as its config string (without the rule set
// keyword, as the cluster config holds it; tcp-request rules start with
// connection, session or content). Parsing it gives the same Rule.
func (r *Rule) String() string { return JoinWords(r.Words()...) }

// Words is the rule as words (before quoting).
func (r *Rule) Words() []string {
	var w []string
	switch r.Set {
	case SetTCPConnection:
		w = append(w, "connection")
	case SetTCPSession:
		w = append(w, "session")
	case SetTCPContent:
		w = append(w, "content")
	}
	name := actionNames[r.Action]
	switch r.Action {
	case ActSetVar, ActSetVarFmt, ActUnsetVar:
		w = append(w, name+"("+r.Var.String()+")")
	default:
		if r.Set != SetRedirect {
			w = append(w, name)
		}
	}
	w = append(w, r.argWords()...)
	if r.Cond != nil {
		w = append(w, r.Cond.words()...)
	}
	return w
}

func (r *Rule) argWords() []string {
	switch r.Action {
	case ActSetHeader, ActAddHeader:
		return []string{r.Header, r.Value.String()}
	case ActDelHeader:
		if r.NameMatch != MatchNone {
			return []string{r.Header, "-m", r.NameMatch.String()}
		}
		return []string{r.Header}
	case ActReplaceHeader, ActReplaceValue:
		return []string{r.Header, r.Regex, r.Value.String()}
	case ActReplacePath, ActReplacePathq, ActReplaceURI:
		return []string{r.Regex, r.Value.String()}
	case ActSetPath, ActSetPathq, ActSetQuery, ActSetURI, ActSetMethod, ActSetVarFmt:
		return []string{r.Value.String()}
	case ActSetVar:
		return []string{r.Expr.String()}
	case ActSetStatus:
		w := []string{strconv.Itoa(r.Status)}
		if r.Reason != "" {
			w = append(w, "reason", r.Reason)
		}
		return w
	case ActAuth:
		if r.Realm != "" {
			return []string{"realm", r.Realm}
		}
	case ActRedirect:
		return r.Redirect.words(r.Set == SetRedirect)
	case ActDeny, ActReturn:
		return r.Reply.words(r.Action == ActDeny)
	}
	return nil
}

func (rd *Redirect) words(static bool) []string {
	typ := map[RedirectType]string{RedirectLocation: "location", RedirectPrefix: "prefix", RedirectScheme: "scheme"}[rd.Type]
	target := rd.Target.String()
	if static {
		target, _ = rd.Target.Static()
	}
	w := []string{typ, target}
	if rd.ExplicitCode {
		w = append(w, "code", strconv.Itoa(rd.Code))
	}
	if rd.DropQuery {
		w = append(w, "drop-query")
	}
	if rd.AppendSlash {
		w = append(w, "append-slash")
	}
	if rd.IgnoreEmpty {
		w = append(w, "ignore-empty")
	}
	if rd.Cookie != "" {
		if rd.ClearCookie {
			w = append(w, "clear-cookie", rd.Cookie)
		} else {
			w = append(w, "set-cookie", rd.Cookie)
		}
	}
	return w
}

func (rp *Reply) words(deny bool) []string {
	var w []string
	if deny && rp.Body == BodyErrorFiles && rp.ContentType == "" && len(rp.Headers) == 0 {
		// The legacy forms: "deny" and "deny deny_status N".
		if rp.ExplicitStatus {
			return []string{"deny_status", strconv.Itoa(rp.Status)}
		}
		return nil
	}
	if rp.ExplicitStatus {
		w = append(w, "status", strconv.Itoa(rp.Status))
	}
	if rp.ContentType != "" {
		w = append(w, "content-type", rp.ContentType)
	}
	switch rp.Body {
	case BodyErrorFiles:
		w = append(w, "default-errorfiles")
	case BodyErrorFile:
		w = append(w, "errorfile", rp.Text)
	case BodyFile:
		w = append(w, "file", rp.Text)
	case BodyLFFile:
		w = append(w, "lf-file", rp.Text)
	case BodyString:
		w = append(w, "string", rp.Text)
	case BodyLFString:
		w = append(w, "lf-string", rp.Format.String())
	}
	for _, h := range rp.Headers {
		w = append(w, "hdr", h.Name, h.Value.String())
	}
	return w
}
