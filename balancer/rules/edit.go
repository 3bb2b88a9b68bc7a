package rules

import (
	"bytes"
	"regexp"

	crules "github.com/tandem-lb/tandem/config/rules"
)

// editRequest applies a request rewriting action (http_act.c).
func (s *State) editRequest(r *rule, ed RequestEditor) {
	if s.editFields(r, s.In.Req, ed, false) {
		return
	}
	req := s.In.Req
	if req == nil {
		s.doVar(r)
		return
	}
	_, target, _ := req.Line()
	switch r.act {
	case crules.ActSetMethod:
		ed.SetLine(s.render(r.value), nil)
	case crules.ActSetURI:
		u := s.render(r.value)
		ed.SetLine(nil, u)
		s.updateHost(u, ed)
	case crules.ActSetPath, crules.ActSetPathq:
		ed.SetLine(nil, s.replacePath(target, s.render(r.value), r.act == crules.ActSetPathq))
	case crules.ActSetQuery:
		ed.SetLine(nil, s.replaceQuery(target, s.render(r.value)))
	case crules.ActReplaceURI, crules.ActReplacePath, crules.ActReplacePathq:
		s.replaceTarget(r, target, ed)
	default:
		s.doVar(r)
	}
}

// updateHost gives every Host field the authority of a new target that has
// one (http_htx.c http_update_host, after set-uri and replace-uri): the
// whole target for CONNECT, else what follows the scheme up to the path.
func (s *State) updateHost(target []byte, ed FieldEditor) {
	if len(target) == 0 || target[0] == '/' || target[0] == '*' {
		return
	}
	auth := target
	if method, _, _ := s.In.Req.Line(); !bytes.Equal(method, connectMethod) {
		a, ok := targetAuthority(target)
		if !ok || len(a) == 0 {
			return
		}
		auth = a
	}
	for i, n := 0, s.In.Req.NumFields(); i < n; i++ {
		if name, _ := s.In.Req.Field(i); bytes.EqualFold(name, hostName) {
			ed.SetField(i, auth)
		}
	}
}

var connectMethod = []byte("CONNECT")

// replacePath puts a new path (and query, with withQuery) into a target,
// keeping an absolute URI's scheme and authority and, for set-path, the
// query (http_htx.c http_replace_req_path). A target without a path ("*",
// authority form) is replaced whole.
func (s *State) replacePath(target, path []byte, withQuery bool) []byte {
	p, ok := targetPath(target)
	if !ok {
		p = target
	}
	head := target[:len(target)-len(p)]
	tail := p[len(p):]
	if !withQuery {
		if q := bytes.IndexByte(p, '?'); q >= 0 {
			tail = p[q:]
		}
	}
	return s.concat(head, path, tail)
}

// replaceQuery sets the query of a target: after the existing '?', or a
// new '?' when the query is not empty (http_htx.c http_replace_req_query).
func (s *State) replaceQuery(target, query []byte) []byte {
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		return s.concat(target[:q+1], query)
	}
	if len(query) == 0 {
		return target
	}
	return s.concat(target, questionMark, query)
}

var questionMark = []byte("?")

// replaceTarget runs replace-uri, replace-path and replace-pathq: when the
// regex matches the part, the whole part becomes the replacement with its
// \N references expanded (http_act.c http_action_replace_uri, exp_replace).
func (s *State) replaceTarget(r *rule, target []byte, ed RequestEditor) {
	part := target
	switch r.act {
	case crules.ActReplacePath:
		p, ok := pathOnly(target)
		if !ok {
			return
		}
		part = p
	case crules.ActReplacePathq:
		p, ok := targetPath(target)
		if !ok {
			return
		}
		part = p
	}
	if len(part) == 0 {
		return
	}
	m := r.re.FindSubmatchIndex(part)
	if m == nil {
		return
	}
	out, ok := s.expReplace(part, s.render(r.value), m)
	if !ok {
		return
	}
	switch r.act {
	case crules.ActReplaceURI:
		ed.SetLine(nil, out)
		s.updateHost(out, ed)
	default:
		ed.SetLine(nil, s.replacePath(target, out, r.act == crules.ActReplacePathq))
	}
}

// expReplace writes tmpl with \0-\9 replaced by the submatches m of src,
// \xHH by that byte and \c by c (regex.c exp_replace); a trailing
// backslash fails.
func (s *State) expReplace(src, tmpl []byte, m []int) ([]byte, bool) {
	out := s.alloc(len(tmpl) + len(src))[:0]
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(tmpl) {
			return nil, false
		}
		switch c = tmpl[i]; {
		case c >= '0' && c <= '9':
			n := int(c - '0')
			if 2*n+1 < len(m) && m[2*n] >= 0 {
				out = append(out, src[m[2*n]:m[2*n+1]]...)
			}
		case c == 'x' && i+2 < len(tmpl):
			out = append(out, unhexByte(tmpl[i+1])<<4|unhexByte(tmpl[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out, true
}

// editFields applies header actions; it reports whether r was one.
// Values are computed before any field changes, so "set-header X
// %[hdr(X)]" reads the old value (http_act.c http_action_set_header).
func (s *State) editFields(r *rule, f Fields, ed FieldEditor, res bool) bool {
	switch r.act {
	case crules.ActAddHeader:
		ed.AddField(r.hdr, s.render(r.value))
		s.indexAdded(res, r.hdrID)
	case crules.ActSetHeader:
		v := s.render(r.value)
		s.delFields(f, ed, res, func(name []byte) bool { return bytes.EqualFold(name, r.hdr) })
		ed.AddField(r.hdr, v)
		s.indexAdded(res, r.hdrID)
	case crules.ActDelHeader:
		s.delFields(f, ed, res, func(name []byte) bool { return nameMatches(r, name) })
	case crules.ActReplaceHeader, crules.ActReplaceValue:
		s.replaceFields(r, f, ed)
	default:
		return false
	}
	return true
}

// delFields removes matching fields, from the last so indexes hold.
func (s *State) delFields(f Fields, ed FieldEditor, res bool, match func([]byte) bool) {
	if f == nil {
		return
	}
	for i := f.NumFields() - 1; i >= 0; i-- {
		if name, _ := f.Field(i); match(name) {
			ed.DelField(i)
			s.indexDeleted(res, i)
		}
	}
}

// nameMatches is del-header's name test: -m str (default), beg, end, sub
// compare case-insensitively; reg runs the regex, case-sensitive, on the
// lower-cased name, as HAProxy does on its HTX names (http_htx.c
// __http_find_header).
func nameMatches(r *rule, name []byte) bool {
	switch r.nameMatch {
	case crules.MatchBeg:
		return len(name) >= len(r.hdr) && bytes.EqualFold(name[:len(r.hdr)], r.hdr)
	case crules.MatchEnd:
		return len(name) >= len(r.hdr) && bytes.EqualFold(name[len(name)-len(r.hdr):], r.hdr)
	case crules.MatchSub:
		return containsFold(name, r.hdr)
	case crules.MatchReg:
		var buf [64]byte
		lower := buf[:0]
		if len(name) > len(buf) {
			lower = make([]byte, 0, len(name))
		}
		for _, c := range name {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower = append(lower, c)
		}
		return r.nameRe.Match(lower)
	}
	return bytes.EqualFold(name, r.hdr)
}

func containsFold(s, sub []byte) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if bytes.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// replaceFields runs replace-header (the whole value of each field
// named so) and replace-value (each comma-separated element): where the
// regex matches, the value becomes the replacement with \N expanded
// (http_htx.c http_replace_hdrs).
func (s *State) replaceFields(r *rule, f Fields, ed FieldEditor) {
	if f == nil {
		return
	}
	tmpl := s.render(r.value)
	for i, n := 0, f.NumFields(); i < n; i++ {
		name, v := f.Field(i)
		if !bytes.EqualFold(name, r.hdr) {
			continue
		}
		if r.act == crules.ActReplaceHeader {
			if m := r.re.FindSubmatchIndex(v); m != nil {
				if out, ok := s.expReplace(v, tmpl, m); ok {
					ed.SetField(i, out)
				}
			}
			continue
		}
		if out, changed := s.replaceElements(r.re, v, tmpl); changed {
			ed.SetField(i, out)
		}
	}
}

// replaceElements rewrites the matching comma-separated elements of a
// value. A replaced element loses the blanks around it, as HAProxy
// replaces the value with its surrounding spaces (http_htx.c
// http_replace_header_value): "a, 10.0.0.1" becomes "a,private".
func (s *State) replaceElements(re *regexp.Regexp, v, tmpl []byte) ([]byte, bool) {
	var out []byte
	changed := false
	last, pos := 0, 0
	for pos <= len(v) {
		start := pos
		el, _ := nextElement(v, &pos)
		end := min(pos-1, len(v)) // the comma after the element, or the end
		m := re.FindSubmatchIndex(el)
		if m == nil {
			continue
		}
		rep, ok := s.expReplace(el, tmpl, m)
		if !ok {
			continue
		}
		if out == nil {
			out = s.alloc(len(v) + len(rep))[:0]
		}
		out = append(out, v[last:start]...)
		out = append(out, rep...)
		last = end
		changed = true
	}
	if !changed {
		return v, false
	}
	out = append(out, v[last:]...)
	return out, true
}
