package rules

import (
	"bytes"

	crules "github.com/tandem-lb/tandem/config/rules"
)

var (
	locationName     = []byte("Location")
	cacheControlName = []byte("Cache-Control")
	noCache          = []byte("no-cache")
	setCookieField   = []byte("Set-Cookie")
	contentTypeName  = []byte("Content-Type")
	wwwAuthName      = []byte("WWW-Authenticate")
	basicRealm       = []byte(`Basic realm="`)
	quote            = []byte(`"`)
	slash            = []byte("/")
	reasons          = map[int][]byte{301: []byte("Moved Permanently"), 302: []byte("Found"), 303: []byte("See Other"),
		307: []byte("Temporary Redirect"), 308: []byte("Permanent Redirect")}
)

// errorPage fills the reply with the section's answer for status: the
// backend's whose rules ran, else the frontend's (http_htx.c
// http_error_message), each trying its http-error then its errorfile;
// else it marks the reply for the balancer's own page.
func (s *State) errorPage(status int) {
	for _, px := range [2]*Proxy{s.be, s.fe} {
		if px == nil {
			continue
		}
		if rp := px.httpErrors[status]; rp != nil {
			s.fillReply(rp)
			return
		}
		if ef := px.errorFiles[status]; ef != nil {
			s.reply.Status, s.reply.Reason, s.reply.Body = ef.Status, ef.Reason, ef.Body
			s.reply.Fields = append(s.buf.fields[:0], ef.Fields...)
			return
		}
	}
	s.reply.Status, s.reply.ErrorPage = status, true
}

// ErrorReply is the answer for an error the balancer itself raises (503
// when no server is up, 504, 400...): the section's http-error or
// errorfile for the status, else a Reply with ErrorPage set.
func (s *State) ErrorReply(status int) *Reply {
	s.reply = Reply{}
	s.errorPage(status)
	return &s.reply
}

// replyFrom builds the answer of deny and return (http_htx.c
// http_reply_to_htx).
func (s *State) replyFrom(_ *Proxy, rp *replySpec) {
	s.reply = Reply{}
	if rp.body == crules.BodyErrorFiles {
		s.errorPage(rp.status)
		return
	}
	s.fillReply(rp)
}

func (s *State) fillReply(rp *replySpec) {
	s.reply = Reply{Status: rp.status}
	if rp.body == crules.BodyErrorFile {
		ef := rp.errorFile
		s.reply.Status, s.reply.Reason, s.reply.Body = ef.Status, ef.Reason, ef.Body
		s.reply.Fields = append(s.buf.fields[:0], ef.Fields...)
		return
	}
	fields := s.buf.fields[:0]
	switch rp.body {
	case crules.BodyString, crules.BodyFile:
		s.reply.Body = rp.text
	case crules.BodyLFString, crules.BodyLFFile:
		s.reply.Body = s.render(rp.format)
	}
	// http_reply_to_htx writes the hdr fields, then the length, then
	// the content-type.
	for _, h := range rp.hdrs {
		fields = append(fields, Field{Name: h.name, Value: s.render(h.value)})
	}
	if len(s.reply.Body) > 0 && len(rp.contentType) > 0 {
		fields = append(fields, Field{Name: contentTypeName, Value: rp.contentType})
	}
	s.reply.Fields = fields
	s.buf.fields = fields
}

// authReply is "http-request auth": the 401 error page with its
// WWW-Authenticate fields replaced by a Basic challenge for realm
// (http_act.c http_action_auth).
func (s *State) authReply(px *Proxy, realm []byte) {
	s.reply = Reply{}
	s.errorPage(401)
	kept := s.reply.Fields[:0]
	for _, f := range s.reply.Fields {
		if !bytes.EqualFold(f.Name, wwwAuthName) {
			kept = append(kept, f)
		}
	}
	s.reply.Fields = append(kept, Field{Name: wwwAuthName, Value: s.concat(basicRealm, realm, quote)})
	s.buf.fields = s.reply.Fields
}

// redirectReply builds a redirect's answer (http_ana.c
// http_apply_redirect_rule); false when ignore-empty skips it.
func (s *State) redirectReply(rd *redirect, fromRequest bool) bool {
	var loc []byte
	switch rd.typ {
	case crules.RedirectLocation:
		loc = s.render(rd.target)
		if len(loc) == 0 && rd.ignoreEmpty {
			return false
		}
	case crules.RedirectPrefix, crules.RedirectScheme:
		loc = s.redirectTarget(rd)
	}
	s.reply = Reply{Status: rd.code, Reason: reasons[rd.code]}
	fields := append(s.buf.fields[:0], Field{Name: locationName, Value: loc})
	if rd.code == 302 || rd.code == 303 || rd.code == 307 {
		fields = append(fields, Field{Name: cacheControlName, Value: noCache})
	}
	if rd.cookie != nil {
		fields = append(fields, Field{Name: setCookieField, Value: rd.cookie})
	}
	s.reply.Fields, s.buf.fields = fields, fields
	return true
}

// redirectTarget is the Location of prefix and scheme redirects: the
// prefix (nothing for exactly "/") or scheme "://" first Host value, then
// the path with its query (cut at '?' by drop-query; "/" when the request
// has none), then '/' if append-slash and it does not end with one.
func (s *State) redirectTarget(rd *redirect) []byte {
	var path []byte
	var target []byte
	if s.In.Req != nil {
		_, target, _ = s.In.Req.Line()
	}
	p, ok := targetPath(target)
	switch {
	case !ok:
		path = slash
	case rd.dropQuery:
		if q := bytes.IndexByte(p, '?'); q >= 0 {
			p = p[:q]
		}
		path = p
	default:
		path = p
	}
	var head [3][]byte
	if rd.typ == crules.RedirectScheme {
		head[0] = s.render(rd.target)
		head[1] = schemeSep
		head[2] = s.firstHost()
	} else if !(rd.target.isStat && len(rd.target.static) == 1 && rd.target.static[0] == '/') {
		head[0] = s.render(rd.target)
	}
	loc := s.concat(head[0], head[1], head[2], path)
	if rd.appendSlash && len(loc) > 0 && loc[len(loc)-1] != '/' {
		loc = s.concat(loc, slash)
	}
	return loc
}

// firstHost is the first value of the first Host field, as HAProxy's
// http_find_header(..., full=0) returns it.
func (s *State) firstHost() []byte {
	req := s.In.Req
	if req == nil {
		return nil
	}
	for i, n := 0, req.NumFields(); i < n; i++ {
		if name, v := req.Field(i); bytes.EqualFold(name, hostName) {
			pos := 0
			el, _ := nextElement(v, &pos)
			return el
		}
	}
	return nil
}
