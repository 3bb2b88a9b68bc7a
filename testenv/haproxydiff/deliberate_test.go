package haproxydiff

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// deliberate recognises the differences the README lists as deliberate
// (section "Bringing your haproxy.cfg") and normalises each away, noting
// it in h.note; anything else stays a difference and fails the case.
// forwardFor says whether "option forwardfor" applies to a request of
// frontend fe that reached server srv.
func deliberate(forwardFor func(fe, srv string) bool, fe string, h, t *result) {
	var notes []string
	if ownErrorPages(h, t) {
		notes = append(notes, "own error page")
	}
	if forwardedAsTandem(h, func(srv string) bool { return forwardFor(fe, srv) }) {
		notes = append(notes, "forwardfor")
	}
	h.note = strings.Join(notes, ", ")
}

// forwardForOf tells, from the imported config, where "option forwardfor"
// applies: the frontend's or the backend's (config.Resolve gives each its
// own or its defaults'). fronts and servers are the template names'
// addresses in tandem's config.
func forwardForOf(c *config.Cluster, fronts, servers map[string]string) func(fe, srv string) bool {
	r := c.Resolve()
	feFF, srvFF := map[string]bool{}, map[string]bool{}
	for _, f := range r.Frontends {
		for _, b := range f.Bind {
			for name, addr := range fronts {
				if addr == b && *f.ForwardFor {
					feFF[name] = true
				}
			}
		}
	}
	for _, b := range r.Backends {
		for _, s := range b.Servers {
			for name, addr := range servers {
				if addr == s.Address && *b.ForwardFor {
					srvFF[name] = true
				}
			}
		}
	}
	return func(fe, srv string) bool { return feFF[fe] || srvFF[srv] }
}

// forwardedAsTandem rewrites what HAProxy's servers saw under "option
// forwardfor" into tandem's form (the README: "option forwardfor"):
// HAProxy appends a field "x-forwarded-for: CLIENT" after the others and
// adds no X-Forwarded-Proto; tandem writes, after the others, one
// X-Forwarded-For with the client's values and then its address, and an
// X-Forwarded-Proto of the connection (http or https) in place of the
// client's. Everything else must be the same.
func forwardedAsTandem(h *result, applies func(srv string) bool) bool {
	proto := "http"
	if h.tls {
		proto = "https"
	}
	changed := false
	for i := range h.seen {
		s := &h.seen[i]
		if s.fields == nil && !strings.Contains(s.line, " HTTP/") || !applies(s.server) {
			continue // a TCP server's record, or no forwardfor there
		}
		var xff, out []string
		for _, f := range s.fields {
			switch {
			case strings.HasPrefix(f, "x-forwarded-for: "):
				if v := strings.TrimPrefix(f, "x-forwarded-for: "); v != "" {
					xff = append(xff, v)
				}
			case strings.HasPrefix(f, "x-forwarded-proto: "):
			default:
				out = append(out, f)
			}
		}
		s.fields = append(out, "x-forwarded-for: "+strings.Join(xff, ", "), "x-forwarded-proto: "+proto)
		changed = true
	}
	return changed
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
