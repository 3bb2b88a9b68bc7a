package haproxy

import (
	"fmt"
	"strings"
)

// crtListEntry is one line of a crt-list file:
// "<crtfile> [[<sslbindconf> ...]] [[!]<snifilter> ...]".
type crtListEntry struct {
	Line    int
	Cert    string
	Options []string // the words between [ and ], as written
	Filters []string // SNI filters, "!name" excluding
}

// parseCrtList reads a crt-list file as HAProxy 2.6 does: one certificate
// per line, '#' starting a comment line, blank lines skipped, the words of
// a line separated by spaces or tabs, options between square brackets
// right after the certificate.
func parseCrtList(data string) ([]crtListEntry, error) {
	var out []crtListEntry
	for i, raw := range strings.Split(data, "\n") {
		num := i + 1
		if strings.IndexByte(raw, 0) >= 0 {
			return nil, fmt.Errorf("line %d: a NUL byte", num)
		}
		trimmed := strings.Trim(raw, crtListSpace)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		e, err := parseCrtListLine(trimmed)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", num, err)
		}
		e.Line = num
		out = append(out, e)
	}
	return out, nil
}

// crtListSpace separates the words of a crt-list line (a CR ends a line
// written on Windows).
const crtListSpace = " \t\r"

func parseCrtListLine(s string) (crtListEntry, error) {
	var e crtListEntry
	words := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(crtListSpace, r) })
	e.Cert = words[0]
	if strings.ContainsAny(e.Cert, "[]") {
		return e, fmt.Errorf("certificate %q: '[' and ']' belong around the options after the certificate", e.Cert)
	}
	rest := words[1:]
	if len(rest) > 0 && strings.HasPrefix(rest[0], "[") {
		// The options may be written "[alpn h2]" or "[ alpn h2 ]".
		joined := strings.Join(rest, " ")
		end := strings.IndexByte(joined, ']')
		if end < 0 {
			return e, fmt.Errorf("'[' without ']' after %s", e.Cert)
		}
		inner := joined[1:end]
		if strings.ContainsAny(inner, "[") {
			return e, fmt.Errorf("'[' inside the options of %s", e.Cert)
		}
		e.Options = strings.Fields(inner)
		rest = strings.Fields(joined[end+1:])
		if len(e.Options) == 0 {
			e.Options = nil
		}
	}
	for _, f := range rest {
		name := strings.TrimPrefix(f, "!")
		if name == "" || strings.ContainsAny(name, "[]!/:") {
			return e, fmt.Errorf("SNI filter %q of %s: want a server name like www.example.com, *.example.com or !name", f, e.Cert)
		}
		e.Filters = append(e.Filters, f)
	}
	return e, nil
}
