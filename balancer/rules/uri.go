package rules

import (
	"bytes"
)

// targetPath returns the path of a request-target with its query, as
// HAProxy's http_parse_path does (http.c): the whole target in origin form;
// in absolute form, what follows the scheme's "://" and the authority; ok
// is false for "*", an empty target, an authority-form target or an
// absolute URI without a path.
func targetPath(t []byte) ([]byte, bool) {
	if len(t) == 0 || t[0] == '*' {
		return nil, false
	}
	if t[0] == '/' {
		return t, true
	}
	// Scheme: alpha *(alnum / + / - / .) "://"
	if !isAlphaByte(t[0]) {
		return nil, false
	}
	i := 1
	for i < len(t) && (isAlphaByte(t[i]) || t[i] >= '0' && t[i] <= '9' || t[i] == '+' || t[i] == '-' || t[i] == '.') {
		i++
	}
	if !bytes.HasPrefix(t[i:], schemeSep) {
		return nil, false // authority form (CONNECT)
	}
	i += 3
	j := bytes.IndexByte(t[i:], '/')
	if j < 0 {
		return nil, false
	}
	return t[i+j:], true
}

// targetAuthority returns the authority of an absolute-form target
// (userinfo dropped), or ok false.
func targetAuthority(t []byte) ([]byte, bool) {
	if len(t) == 0 || t[0] == '/' || t[0] == '*' {
		return nil, false
	}
	a := t // authority form: no scheme
	if k := bytes.Index(t, schemeSep); k >= 0 {
		a = t[k+3:]
	}
	if j := bytes.IndexByte(a, '/'); j >= 0 {
		a = a[:j]
	}
	if j := bytes.LastIndexByte(a, '@'); j >= 0 {
		a = a[j+1:]
	}
	return a, true
}

var schemeSep = []byte("://")

func isAlphaByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// pathOnly is the path fetch: the path up to the '?' (excluded).
func pathOnly(t []byte) ([]byte, bool) {
	p, ok := targetPath(t)
	if !ok {
		return nil, false
	}
	if q := bytes.IndexByte(p, '?'); q >= 0 {
		p = p[:q]
	}
	return p, true
}

// queryOf is the query fetch: what follows the first '?' of the target,
// ok false without a '?' (http_fetch.c smp_fetch_query).
func queryOf(t []byte) ([]byte, bool) {
	q := bytes.IndexByte(t, '?')
	if q < 0 {
		return nil, false
	}
	return t[q+1:], true
}

// urlParam finds the next parameter after position *pos of a query list
// (http.c http_find_next_url_param): the list starts after the first
// delim ('?' by default), parameters end at '&', ';' or delim; a name
// matches "name=" at the start of a parameter; no name takes the value
// after the first '='.
func urlParam(t []byte, name []byte, delim byte, pos *int) ([]byte, bool) {
	start := *pos
	if start == 0 {
		q := bytes.IndexByte(t, delim)
		if q < 0 {
			return nil, false
		}
		start = q + 1
	}
	isDelim := func(c byte) bool { return c == '&' || c == ';' || c == delim }
	var vstart int
	if len(name) == 0 {
		eq := bytes.IndexByte(t[start:], '=')
		if eq < 0 {
			return nil, false
		}
		vstart = start + eq + 1
	} else {
		p := start
		found := false
		for p < len(t) {
			if p+len(name) < len(t) && t[p+len(name)] == '=' && bytes.Equal(t[p:p+len(name)], name) {
				found = true
				break
			}
			for p < len(t) && !isDelim(t[p]) {
				p++
			}
			p++
		}
		if !found {
			return nil, false
		}
		vstart = p + len(name) + 1
	}
	vend := vstart
	for vend < len(t) && !isDelim(t[vend]) {
		vend++
	}
	*pos = vend
	if vend >= len(t) {
		*pos = len(t) + 1 // no parameter after this one
	}
	return t[vstart:vend], true
}

// extractCookie finds the next cookie named name (any name if empty) in
// one header value element from *pos, as http.c http_extract_cookie_value
// does: spaces around names and values are ignored, a value may be quoted,
// ';' (and ',' in request Cookie lists) separate cookies, names starting
// with '$' are attributes, a cookie without '=' is ignored. Like HAProxy it
// stops looking once fewer than len(name)+2 bytes remain, so a final empty
// "name=" is not found.
func extractCookie(h []byte, name []byte, list bool, pos *int) ([]byte, bool) {
	sp := func(c byte) bool { return c == ' ' || c == '\t' }
	for att := *pos; att+len(name)+1 < len(h); {
		for att < len(h) && sp(h[att]) {
			att++
		}
		eq, attEnd := att, att
		for eq < len(h) {
			c := h[eq]
			if c == '=' || c == ';' || list && c == ',' {
				break
			}
			eq++
			if !sp(c) {
				attEnd = eq
			}
		}
		valBeg, valEnd, next := eq, eq, eq
		if eq < len(h) && h[eq] == '=' {
			valBeg = eq + 1
			for valBeg < len(h) && sp(h[valBeg]) {
				valBeg++
			}
			next = cookieValueEnd(h, valBeg)
			valEnd = next
			for valEnd > valBeg && sp(h[valEnd-1]) {
				valEnd--
			}
		}
		switch {
		case att < len(h) && h[att] == '$', eq == next:
			// an attribute, or no '=': skip
		case len(name) == 0 || attEnd-att == len(name) && bytes.Equal(h[att:attEnd], name):
			*pos = next + 1
			return h[valBeg:valEnd], true
		case !list:
			return nil, false // a Set-Cookie has its name in the first pair only
		}
		att = next + 1
	}
	return nil, false
}

// cookieValueEnd is http.c http_find_cookie_value_end: the first ',' or ';'
// outside a quoted string.
func cookieValueEnd(h []byte, i int) int {
	quoted, pair := false, false
	for ; i < len(h); i++ {
		switch c := h[i]; {
		case pair:
			pair = false
		case quoted:
			if c == '\\' {
				pair = true
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == ',' || c == ';':
			return i
		}
	}
	return i
}

// nextElement returns the next comma-separated element of a header value
// from *pos, spaces around it trimmed, commas inside quoted strings kept
// (http_htx.c http_find_header with full=0, http_find_hdr_value_end).
func nextElement(v []byte, pos *int) ([]byte, bool) {
	if *pos > len(v) {
		return nil, false
	}
	start := *pos
	quoted := false
	i := start
	for ; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case c == '\\' && quoted && i+1 < len(v):
			i++
		case c == ',' && !quoted:
			goto found
		}
	}
found:
	*pos = i + 1
	return bytes.Trim(v[start:i], " \t"), true
}
