package rules

import (
	"bytes"

	crules "github.com/tandem-lb/tandem/config/rules"
)

// fetchFields handles header, cookie and status fetches (configuration.txt
// 7.3.6).
func (s *State) fetchFields(e *expr, it *iter) (sample, bool, bool) {
	req, res := s.In.Req, s.In.Res
	switch e.fetch {
	case crules.FetchReqHdr, crules.FetchReqFhdr:
		return withHandled(s.hdr(req, e, it, e.fetch == crules.FetchReqFhdr))
	case crules.FetchResHdr, crules.FetchResFhdr:
		return withHandled(s.hdr(res, e, it, e.fetch == crules.FetchResFhdr))
	case crules.FetchReqHdrCnt, crules.FetchReqFhdrCnt:
		return withHandled(hdrCount(req, e, e.fetch == crules.FetchReqFhdrCnt))
	case crules.FetchResHdrCnt, crules.FetchResFhdrCnt:
		return withHandled(hdrCount(res, e, e.fetch == crules.FetchResFhdrCnt))
	case crules.FetchReqHdrIP, crules.FetchResHdrIP:
		f := Fields(req)
		if e.fetch == crules.FetchResHdrIP {
			f = res
		}
		for {
			smp, ok := s.hdr(f, e, it, false)
			if !ok {
				return withHandled(smp, false)
			}
			if a, ok := parseHdrIP(smp.b); ok {
				return withHandled(sample{t: crules.TypeAddr, a: a}, true)
			}
			if !it.more {
				return withHandled(sample{}, false)
			}
		}
	case crules.FetchReqHdrVal, crules.FetchResHdrVal:
		f := Fields(req)
		if e.fetch == crules.FetchResHdrVal {
			f = res
		}
		smp, ok := s.hdr(f, e, it, false)
		if !ok {
			return withHandled(smp, false)
		}
		return withHandled(intSample(strl2ic(smp.b)), true)
	case crules.FetchReqCook, crules.FetchResCook:
		return withHandled(s.cookie(e, it, e.fetch == crules.FetchResCook))
	case crules.FetchReqCookCnt, crules.FetchResCookCnt:
		return withHandled(s.cookieCount(e, e.fetch == crules.FetchResCookCnt))
	case crules.FetchReqCookVal:
		smp, ok := s.cookie(e, it, false)
		if !ok {
			return withHandled(smp, false)
		}
		return withHandled(intSample(strl2ic(smp.b)), true)
	case crules.FetchStatus:
		if res == nil {
			return withHandled(sample{}, false)
		}
		return withHandled(intSample(int64(res.Status())), true)
	case crules.FetchResVer:
		return sample{}, false, true // response versions are not exposed by the view
	}
	return sample{}, false, false
}

// fetchRequest handles the fetches of the request line and of the
// request's authentication.
func (s *State) fetchRequest(e *expr, it *iter) (sample, bool) {
	req := s.In.Req
	if req == nil {
		return sample{}, false
	}
	method, target, version := req.Line()
	switch e.fetch {
	case crules.FetchMethod:
		// HAProxy keeps the method it parsed (txn->meth) for the known
		// methods: after set-method, "method" still gives the original
		// (http_fetch.c smp_fetch_meth).
		if s.origSet && isKnownMethod(s.origMethod) {
			return sample{t: crules.TypeMeth, b: s.origMethod}, true
		}
		return sample{t: crules.TypeMeth, b: method}, true
	case crules.FetchURL:
		return strSample(target), true
	case crules.FetchPath:
		p, ok := pathOnly(target)
		return strSample(p), ok
	case crules.FetchPathq:
		p, ok := targetPath(target)
		return strSample(p), ok
	case crules.FetchQuery:
		q, ok := queryOf(target)
		return strSample(q), ok
	case crules.FetchBase:
		return s.base(req, target)
	case crules.FetchURLParam, crules.FetchURLParamVal:
		return s.urlParamFetch(e, it, target)
	case crules.FetchURLPort:
		a, ok := targetAuthority(target)
		if !ok {
			return intSample(80), true
		}
		_, port := splitHostPort(a)
		n, ok := parseLeadingInt(port, false)
		if !ok {
			n = 80
		}
		return intSample(n), true
	case crules.FetchReqVer:
		return strSample(bytes.TrimPrefix(version, httpSlash)), true
	case crules.FetchReqHdrs:
		// The header block in HTTP/1 form, each field and the end CRLF
		// terminated (http_fetch.c smp_fetch_hdrs).
		n := 2
		for i, c := 0, req.NumFields(); i < c; i++ {
			name, v := req.Field(i)
			n += len(name) + 2 + len(v) + 2
		}
		out := s.alloc(n)[:0]
		for i, c := 0, req.NumFields(); i < c; i++ {
			name, v := req.Field(i)
			out = append(append(append(append(out, name...), ": "...), v...), "\r\n"...)
		}
		return sample{t: crules.TypeBin, b: append(out, "\r\n"...)}, true
	case crules.FetchReqProtoHTTP:
		return boolSample(true), true
	case crules.FetchCaptureReqURI:
		if !s.origSet {
			return sample{}, false
		}
		p, ok := targetPath(s.origURI)
		return strSample(p), ok
	case crules.FetchCaptureReqMethod:
		return strSample(method), true
	case crules.FetchCaptureReqVer:
		return strSample(version), true
	case crules.FetchHTTPAuth:
		_, ok := s.authUser(e.args[0].n)
		return boolSample(ok), true
	case crules.FetchHTTPAuthGroup:
		u, ok := s.authUser(e.args[0].n)
		if !ok {
			return sample{}, false
		}
		return sample{t: crules.TypeStr, b: u.nameB, i: int64(e.args[0].n)}, true
	case crules.FetchHTTPAuthUser, crules.FetchHTTPAuthPass, crules.FetchHTTPAuthType:
		return s.authField(e.fetch)
	}
	return sample{}, false
}

var httpSlash = []byte("HTTP/")

// hdr returns header values: every value in turn for an ACL, else the
// occurrence asked for (1 first, -1 last; a sample takes the last by
// default) (http_fetch.c smp_fetch_hdr, smp_fetch_fhdr). full reads whole
// field values (fhdr) instead of comma-separated elements.
func (s *State) hdr(f Fields, e *expr, it *iter, full bool) (sample, bool) {
	if f == nil {
		return sample{}, false
	}
	w := walker{f: f, full: full}
	if len(e.args) > 0 {
		w.name = e.args[0].s
	}
	if e.dep >= depNamed && len(w.name) > 0 {
		if ix := s.index(f, isResponseFetch(e.fetch)); ix != nil {
			w.ix, w.id = ix, e.dep-depNamed
		}
	}
	var occ int64
	if len(e.args) > 1 {
		occ = e.args[1].i
	}
	if occ == 0 && !it.acl {
		occ = -1
	}
	if occ == 0 {
		v, ok := w.next(&it.a, &it.b)
		if ok {
			// Look ahead, so that a single value says there is no
			// other (the memo keeps it across unrelated edits).
			fi, pos := it.a, it.b
			_, it.more = w.next(&fi, &pos)
		}
		return strSample(v), ok
	}
	if occ < 0 {
		total := int64(0)
		fi, pos := 0, 0
		for {
			if _, ok := w.next(&fi, &pos); !ok {
				break
			}
			total++
		}
		occ = total + occ + 1
		if occ <= 0 {
			return sample{}, false
		}
	}
	fi, pos := 0, 0
	for n := int64(1); ; n++ {
		v, ok := w.next(&fi, &pos)
		if !ok {
			return sample{}, false
		}
		if n == occ {
			return strSample(v), true
		}
	}
}

// walker walks the values of the fields of one name: through the field
// index when there is one (hdrindex.go), else comparing names.
type walker struct {
	f    Fields
	name []byte
	full bool
	ix   *hdrIndex
	id   int
}

func (w *walker) next(fi, pos *int) ([]byte, bool) {
	if w.ix != nil {
		return nextNamed(w.f, w.ix, w.id, w.full, fi, pos)
	}
	return nextValue(w.f, w.name, w.full, fi, pos)
}

// isResponseFetch reports the header fetches of the response.
func isResponseFetch(f crules.Fetch) bool {
	switch f {
	case crules.FetchResHdr, crules.FetchResFhdr, crules.FetchResHdrCnt, crules.FetchResFhdrCnt,
		crules.FetchResHdrIP, crules.FetchResHdrVal, crules.FetchResCook, crules.FetchResCookCnt:
		return true
	}
	return false
}

// nextValue returns the next value of the fields named name (any field if
// name is empty) from field *fi, element position *pos.
func nextValue(f Fields, name []byte, full bool, fi, pos *int) ([]byte, bool) {
	for n := f.NumFields(); *fi < n; {
		fn, fv := f.Field(*fi)
		if len(name) > 0 && (len(fn) != len(name) || !bytes.EqualFold(fn, name)) {
			*fi, *pos = *fi+1, 0
			continue
		}
		if full {
			*fi++
			return fv, true
		}
		if el, ok := nextElement(fv, pos); ok {
			if *pos > len(fv) {
				*fi, *pos = *fi+1, 0
			}
			return el, true
		}
		*fi, *pos = *fi+1, 0
	}
	return nil, false
}

func hdrCount(f Fields, e *expr, full bool) (sample, bool) {
	if f == nil {
		return sample{}, false
	}
	var name []byte
	if len(e.args) > 0 {
		name = e.args[0].s
	}
	n, fi, pos := 0, 0, 0
	for {
		if _, ok := nextValue(f, name, full, &fi, &pos); !ok {
			return intSample(int64(n)), true
		}
		n++
	}
}

// cookie returns cookie values from the Cookie fields (Set-Cookie for the
// response), walking their comma-separated elements as http_fetch.c
// smp_fetch_cookie does: every cookie in turn for an ACL, else the last
// one, or the first one when no name is given (configuration.txt 7.3.6
// "req.cook").
func (s *State) cookie(e *expr, it *iter, response bool) (sample, bool) {
	f, hname := Fields(s.In.Req), cookieName
	if response {
		f, hname = s.In.Res, setCookieName
	}
	if f == nil {
		return sample{}, false
	}
	var name []byte
	if len(e.args) > 0 {
		name = e.args[0].s
	}
	if it.acl {
		v, ok := nextCookieValue(f, hname, name, !response, &it.a, &it.b, &it.c)
		it.more = ok
		return strSample(v), ok
	}
	var fi, pos, cpos int
	var last []byte
	found := false
	for {
		v, ok := nextCookieValue(f, hname, name, !response, &fi, &pos, &cpos)
		if !ok {
			break
		}
		last, found = v, true
		if len(name) == 0 {
			break
		}
	}
	return strSample(last), found
}

var (
	cookieName    = []byte("cookie")
	setCookieName = []byte("set-cookie")
)

// nextCookieValue walks the cookies of the comma-separated elements of the
// fields named hname: field *fi, element start *es, cookie position *cp in
// the element (0: from its start). Elements shorter than the name plus one
// byte are skipped, as HAProxy does.
func nextCookieValue(f Fields, hname, name []byte, list bool, fi, es, cp *int) ([]byte, bool) {
	for *fi < f.NumFields() {
		n, fv := f.Field(*fi)
		if !bytes.EqualFold(n, hname) || *es > len(fv) {
			*fi, *es, *cp = *fi+1, 0, 0
			continue
		}
		next := *es
		el, _ := nextElement(fv, &next)
		if len(el) >= len(name)+1 {
			if v, ok := extractCookie(el, name, list, cp); ok {
				return v, true
			}
		}
		*es, *cp = next, 0
	}
	return nil, false
}

func (s *State) cookieCount(e *expr, response bool) (sample, bool) {
	it := iter{acl: true}
	n := 0
	for {
		if _, ok := s.cookie(e, &it, response); !ok {
			return intSample(int64(n)), true
		}
		n++
	}
}

// base is the first Host field and the path (http_fetch.c smp_fetch_base).
func (s *State) base(req Request, target []byte) (sample, bool) {
	p, ok := pathOnly(target)
	if !ok {
		return sample{}, false
	}
	return strSample(s.concat(s.firstHost(), p)), true
}

var hostName = []byte("host")

func (s *State) urlParamFetch(e *expr, it *iter, target []byte) (sample, bool) {
	var name []byte
	delim := byte('?')
	if len(e.args) > 0 {
		name = e.args[0].s
	}
	if len(e.args) > 1 && len(e.args[1].s) > 0 {
		delim = e.args[1].s[0]
	}
	pos := 0
	if it.acl {
		pos = it.a
	}
	v, ok := urlParam(target, name, delim, &pos)
	if it.acl {
		it.a = pos
		it.more = ok && pos <= len(target)
	}
	if !ok {
		return sample{}, false
	}
	if e.fetch == crules.FetchURLParamVal {
		return intSample(strl2ic(v)), true
	}
	return strSample(v), true
}

// withHandled adds the "handled" result of fetchFields.
func withHandled(smp sample, ok bool) (sample, bool, bool) { return smp, ok, true }
