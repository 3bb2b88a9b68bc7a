package haproxydiff

import (
	"fmt"
	"regexp"
	"slices"
)

// deliberate recognises the differences the README lists as deliberate
// (section "Bringing your haproxy.cfg") and normalises each away, noting
// it in h.note; anything else stays a difference and fails the case.
func deliberate(h, t *result) {
	if ownErrorPages(h, t) {
		h.note = "own error page"
	}
}

// HAProxy's built-in error page for a status (http.c http_err_msgs): the
// fields cache-control and content-type text/html, and an HTML body.
var haproxyPage = regexp.MustCompile(`^<html><body><h1>(\d{3}) [^<]*</h1>\n[^\n]*\n</body></html>\n$`)

// tandem's own page: a text/plain line saying why.
var tandemPage = regexp.MustCompile(`^(\d{3}) [^:\n]*: [^\n]*\n$`)

// ownErrorPages: where HAProxy answers with its built-in page, tandem
// answers with its own (the README: "tandem's own error pages"). The
// status, every other field (a rule's WWW-Authenticate, the fields
// http-after-response adds) and their order must still agree; only the
// two pages' content-type, cache-control and body differ.
func ownErrorPages(h, t *result) bool {
	if h.status != t.status {
		return false
	}
	if h.head && t.head && h.body == "" && t.body == "" {
		// A HEAD request gets the pages' fields only.
	} else {
		hm, tm := haproxyPage.FindStringSubmatch(h.body), tandemPage.FindStringSubmatch(t.body)
		if hm == nil || tm == nil || hm[1] != fmt.Sprint(h.status) || tm[1] != hm[1] {
			return false
		}
	}
	hf, ok1 := without(h.fields, "cache-control: no-cache", "content-type: text/html")
	tf, ok2 := without(t.fields, "content-type: text/plain; charset=utf-8", "cache-control: no-cache")
	if !ok1 || !ok2 {
		return false
	}
	h.fields, t.fields = hf, tf
	h.body, t.body = "(its own error page)", "(its own error page)"
	return true
}

// without removes the first occurrence of each of fields, which must lead
// the list in that order.
func without(list []string, fields ...string) ([]string, bool) {
	if len(list) < len(fields) || !slices.Equal(list[:len(fields)], fields) {
		return nil, false
	}
	return slices.Clone(list[len(fields):]), true
}
