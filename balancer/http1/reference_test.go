package http1

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A deliberately plain reference parser of RFC 9112 heads, written from
// the grammar with regular expressions and string functions, for the fuzz
// targets to compare with. It is slow and allocates; it shares no code
// with the parser.

var (
	refRequestLine = regexp.MustCompile(`^([!#$%&'*+\-.^_` + "`" + `|~0-9A-Za-z]+)[ \t]+([\x21\x22\x24-\x7e]+)[ \t]+HTTP/([0-9])\.([0-9])$`)
	refStatusLine  = regexp.MustCompile(`^HTTP/([0-9])\.([0-9]) ([0-9]{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$`)
	refToken       = regexp.MustCompile(`^[!#$%&'*+\-.^_` + "`" + `|~0-9A-Za-z]+$`)
	refDecimal     = regexp.MustCompile(`^[0-9]{1,18}$`)
)

type refField struct{ name, value string }

type refHead struct {
	method, target, reason string
	status                 int
	v11                    bool
	fields                 []refField
	body                   Body
	length                 int64
	closeAfter             bool
}

func refTrim(s string) string { return strings.Trim(s, " \t") }

// refLines splits a head into its lines and their terminator lengths,
// dropping leading empty lines; ok is false on a CR not before an LF.
func refLines(s string) (lines []string, terms []int, ok bool) {
	for strings.HasPrefix(s, "\n") || strings.HasPrefix(s, "\r\n") {
		s = s[strings.Index(s, "\n")+1:]
	}
	for s != "" {
		i := strings.Index(s, "\n")
		if i < 0 {
			return nil, nil, false
		}
		line, term := s[:i], 1
		if strings.HasSuffix(line, "\r") {
			line, term = line[:len(line)-1], 2
		}
		if strings.Contains(line, "\r") {
			return nil, nil, false
		}
		lines, terms = append(lines, line), append(terms, term)
		s = s[i+1:]
		if line == "" {
			break
		}
	}
	return lines, terms, true
}

// refParse parses a whole head; status is 0 when it is accepted, else the
// status class of the refusal (400, 431, 501, 505; 502 for responses).
func refParse(s string, response bool) (*refHead, int) {
	bad := 400
	if response {
		bad = 502
	}
	if len(s) > MaxHeadBytes {
		return nil, map[bool]int{false: 431, true: 502}[response]
	}
	lines, terms, ok := refLines(s)
	if !ok || len(lines) < 2 {
		return nil, bad
	}
	h := &refHead{}
	if response {
		m := refStatusLine.FindStringSubmatch(lines[0])
		if m == nil || m[1] != "1" {
			return nil, bad
		}
		h.status, _ = strconv.Atoi(m[3])
		if h.status < 100 || h.status > 599 {
			return nil, bad
		}
		h.v11, h.reason = m[2] != "0", m[4]
	} else {
		m := refRequestLine.FindStringSubmatch(lines[0])
		if m == nil {
			return nil, bad
		}
		if m[3] != "1" {
			return nil, 505
		}
		h.method, h.target, h.v11 = m[1], m[2], m[4] != "0"
	}
	// Field lines; obs-fold joins a line to the previous raw value with
	// its line break turned into spaces.
	var raw []refField
	for k := 1; k < len(lines)-1; k++ {
		l := lines[k]
		if l[0] == ' ' || l[0] == '\t' {
			if len(raw) == 0 {
				return nil, bad
			}
			last := &raw[len(raw)-1]
			if refTrim(last.value) == "" {
				last.value = l
			} else {
				// obs-fold is OWS CRLF RWS: the whitespace before the
				// line break becomes spaces with it.
				kept := strings.TrimRight(last.value, " \t")
				last.value = kept + strings.Repeat(" ", len(last.value)-len(kept)+terms[k-1]) + l
			}
			continue
		}
		i := strings.Index(l, ":")
		if i <= 0 || !refToken.MatchString(l[:i]) {
			return nil, bad
		}
		raw = append(raw, refField{l[:i], l[i+1:]})
		if len(raw) > MaxFields {
			return nil, map[bool]int{false: 431, true: 502}[response]
		}
	}
	for _, f := range raw {
		v := refTrim(f.value)
		if strings.ContainsAny(v, "\x00\r") {
			return nil, bad
		}
		h.fields = append(h.fields, refField{f.name, v})
	}
	return h, h.frame(response, bad)
}

// frame applies the framing rules of RFC 9112 6 to h.fields.
func (h *refHead) frame(response bool, bad int) int {
	cl := int64(-1)
	var codings []string
	var host *string
	var kept []refField
	for _, f := range h.fields {
		name := strings.ToLower(f.name)
		switch {
		case name == "content-length":
			var elems []string
			for _, e := range strings.Split(f.value, ",") {
				if e = refTrim(e); e != "" {
					elems = append(elems, e)
				}
			}
			if len(elems) == 0 {
				return bad
			}
			for _, e := range elems {
				if !refDecimal.MatchString(e) {
					return bad
				}
				n, _ := strconv.ParseInt(e, 10, 64)
				if cl >= 0 && n != cl {
					return bad
				}
				if cl < 0 {
					kept = append(kept, f)
				}
				cl = n
			}
			continue
		case name == "transfer-encoding":
			codings = append(codings, "") // marks presence
			for _, e := range strings.Split(f.value, ",") {
				if e = refTrim(e); e != "" {
					codings = append(codings, e)
				}
			}
		case name == "host" && !response:
			if host != nil {
				if *host != f.value {
					return bad
				}
				continue
			}
			v := f.value
			host = &v
		}
		kept = append(kept, f)
	}
	h.fields = kept
	if len(codings) > 0 {
		var list []string
		for _, c := range codings {
			if c != "" {
				list = append(list, c)
			}
		}
		n := len(list)
		if n == 0 || !strings.EqualFold(list[n-1], "chunked") {
			return bad
		}
		for _, c := range list[:n-1] {
			name := refTrim(strings.SplitN(c, ";", 2)[0])
			if strings.EqualFold(name, "chunked") || !refToken.MatchString(name) {
				return bad
			}
		}
		if n > 1 {
			if response {
				return bad
			}
			return 501
		}
		h.closeAfter = cl >= 0 || (!response && !h.v11)
		var noCL []refField
		for _, f := range h.fields {
			if !strings.EqualFold(f.name, "content-length") {
				noCL = append(noCL, f)
			}
		}
		h.fields = noCL
		h.body, h.length = ChunkedBody, -1
		return refAuthority(h, host, response)
	}
	switch {
	case cl > 0:
		h.body, h.length = FixedBody, cl
	case cl < 0 && response:
		h.body, h.length = UntilClose, -1
	}
	return refAuthority(h, host, response)
}

func refAuthority(h *refHead, host *string, response bool) int {
	if response || host == nil {
		return 0
	}
	i := strings.Index(h.target, "://")
	if i <= 0 || strings.HasPrefix(h.target, "/") || !regexp.MustCompile(`^[A-Za-z0-9+.-]+$`).MatchString(h.target[:i]) {
		return 0
	}
	scheme := strings.ToLower(h.target[:i])
	auth := h.target[i+3:]
	if j := strings.IndexAny(auth, "/?"); j >= 0 {
		auth = auth[:j]
	}
	if j := strings.LastIndex(auth, "@"); j >= 0 {
		auth = auth[j+1:]
	}
	norm := func(s string) string {
		s = strings.ToLower(s)
		for _, p := range map[string][]string{"http": {":80", ":"}, "https": {":443", ":"}}[scheme] {
			if strings.HasSuffix(s, p) && !strings.Contains(s[strings.LastIndex(s, ":"):], "]") {
				return strings.TrimSuffix(s, p)
			}
		}
		if strings.HasSuffix(s, ":") {
			return strings.TrimSuffix(s, ":")
		}
		return s
	}
	if norm(auth) != norm(*host) {
		return 400
	}
	return 0
}

// diffHeads describes how two parsed heads differ ("" if they do not).
func diffHeads(a, b *Head) string {
	if string(a.Method) != string(b.Method) || string(a.Target) != string(b.Target) || a.Version != b.Version ||
		a.Status != b.Status || string(a.Reason) != string(b.Reason) {
		return fmt.Sprintf("start line %q %q %v %d %q vs %q %q %v %d %q", a.Method, a.Target, a.Version, a.Status, a.Reason,
			b.Method, b.Target, b.Version, b.Status, b.Reason)
	}
	if len(a.Fields) != len(b.Fields) {
		return fmt.Sprintf("%d fields vs %d", len(a.Fields), len(b.Fields))
	}
	for i := range a.Fields {
		if string(a.Fields[i].Name) != string(b.Fields[i].Name) || string(a.Fields[i].Value) != string(b.Fields[i].Value) {
			return fmt.Sprintf("field %d: %q: %q vs %q: %q", i, a.Fields[i].Name, a.Fields[i].Value, b.Fields[i].Name, b.Fields[i].Value)
		}
	}
	if a.ContentLength != b.ContentLength || a.Chunked != b.Chunked || a.ConnClose != b.ConnClose ||
		a.ConnKeepAlive != b.ConnKeepAlive || a.ConnUpgrade != b.ConnUpgrade || a.Expect100 != b.Expect100 {
		return "framing or connection options differ"
	}
	return ""
}
