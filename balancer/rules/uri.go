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
	k := bytes.Index(t, schemeSep)
	if k < 0 {
		return t, true // authority form
	}
	a := t[k+3:]
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

// nextCookie finds the next cookie named name (any name if empty) in a
// Cookie header value from *pos: "name=value" pairs separated by ';' with
// spaces around names and values ignored (RFC 6265; http_fetch.c
// smp_fetch_cookie with http_extract_cookie_value).
func nextCookie(v []byte, name []byte, pos *int) ([]byte, bool) {
	for *pos < len(v) {
		end := bytes.IndexByte(v[*pos:], ';')
		var pair []byte
		if end < 0 {
			pair = v[*pos:]
			*pos = len(v)
		} else {
			pair = v[*pos : *pos+end]
			*pos += end + 1
		}
		eq := bytes.IndexByte(pair, '=')
		if eq < 0 {
			continue
		}
		n, val := pair[:eq], pair[eq+1:]
		n = bytes.Trim(n, " \t")
		if len(name) == 0 || bytes.Equal(n, name) {
			return bytes.Trim(val, " \t"), true
		}
	}
	return nil, false
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
