package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// validate checks a backend's check rules; hc.Type is as written (unset
// is resolved the way Resolve does it).
func (r *CheckRules) validate(es *Errors, path string, typ CheckType) {
	switch typ {
	case CheckMySQL, CheckPgSQL:
		if typ == CheckPgSQL && r.User == "" {
			es.add(path+".user", "a pgsql check needs a user (HAProxy: 'option pgsql-check user <username>')")
		}
		if strings.ContainsRune(r.User, 0) || len(r.User) > 255 {
			es.add(path+".user", "want a user name without NUL, at most 255 bytes")
		}
	default:
		if r.User != "" {
			es.add(path+".user", "only mysql and pgsql checks take a user")
		}
	}
	if r.MySQLPre41 && typ != CheckMySQL {
		es.add(path+".mysql_pre41", "only mysql checks take mysql_pre41")
	}
	if r.Hello != "" {
		verb, domain, _ := strings.Cut(r.Hello, " ")
		switch {
		case typ != CheckSMTP:
			es.add(path+".hello", "only smtp checks take hello")
		case verb != "HELO" && verb != "EHLO" || domain == "" || strings.ContainsAny(domain, " \r\n"):
			es.add(path+".hello", "want \"HELO domain\" or \"EHLO domain\" (got %q)", r.Hello)
		}
	}
	if len(r.Steps) == 0 {
		return
	}
	if typ != CheckTCP && typ != CheckHTTP {
		es.add(path+".steps", "only tcp and http checks take steps; a %s check runs its own protocol", typ)
		return
	}
	validateSteps(es, path, r.Steps, typ == CheckHTTP)
}

// validateSteps checks a ruleset as HAProxy does: one action per step, a
// connect anywhere but first only if the first step connects too, and, in
// an http ruleset, each send after a connect or an expect and each expect
// after a send or an expect.
func validateSteps(es *Errors, path string, steps []CheckStep, http bool) {
	hasConnect := false
	for i := range steps {
		hasConnect = hasConnect || steps[i].Connect != nil
	}
	if hasConnect && steps[0].Connect == nil {
		es.add(path+".steps[0]", "a ruleset with connect steps must start with one (HAProxy: the first step must be a 'connect')")
	}
	prev := ""
	for i := range steps {
		st := &steps[i]
		sp := fmt.Sprintf("%s.steps[%d]", path, i)
		n := 0
		for _, set := range []bool{st.Connect != nil, st.Send != nil, st.Expect != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			es.add(sp, "want exactly one of connect, send and expect (got %d)", n)
			continue
		}
		kind := "connect"
		switch {
		case st.Connect != nil:
			st.Connect.validate(es, sp+".connect")
		case st.Send != nil:
			kind = "send"
			st.Send.validate(es, sp+".send", http)
		default:
			kind = "expect"
			st.Expect.validate(es, sp+".expect", http)
		}
		if http {
			switch {
			case kind == "send" && prev != "" && prev != "connect" && prev != "expect":
				es.add(sp, "an http-check send must follow a connect or an expect (HAProxy: missing connect rule)")
			case kind == "expect" && prev != "" && prev != "send" && prev != "expect":
				es.add(sp, "an http-check expect must follow a send (HAProxy: missing send rule)")
			case kind == "connect" && prev != "" && prev != "expect":
				es.add(sp, "an http-check connect must follow an expect (HAProxy: missing expect rule)")
			}
		}
		prev = kind
	}
}

func (c *CheckConnect) validate(es *Errors, path string) {
	if c.Port < 0 || c.Port > 65535 {
		es.add(path+".port", "want 1-65535 (got %d)", c.Port)
	}
	if c.Addr != "" {
		if _, err := netip.ParseAddr(c.Addr); err != nil {
			es.add(path+".addr", "want an IP address (got %q)", c.Addr)
		}
	}
	if (c.SNI != "" || c.ALPN != "") && !c.TLS {
		es.add(path+".tls", "sni and alpn need tls: true")
	}
}

func (s *CheckSend) validate(es *Errors, path string, http bool) {
	raw := 0
	for _, v := range []string{s.Text, s.Hex, s.Format, s.HexFormat} {
		if v != "" {
			raw++
		}
	}
	httpSet := s.Method != "" || s.URI != "" || s.Version != "" || len(s.Headers) > 0 || s.Body != ""
	if http {
		if raw > 0 {
			es.add(path, "an http check sends an HTTP request: method, uri, version, headers, body (not text, hex or format)")
		}
		s.validateHTTP(es, path)
		return
	}
	if httpSet {
		es.add(path, "a tcp check sends text, hex, format or hex_format (method, uri, version, headers and body are for http checks)")
	}
	if raw != 1 {
		es.add(path, "want exactly one of text, hex, format and hex_format")
	}
	if s.Hex != "" {
		if _, err := DecodeHex(s.Hex); err != nil {
			es.add(path+".hex", "%v", err)
		}
	}
	for _, f := range []struct{ name, v string }{{"format", s.Format}, {"hex_format", s.HexFormat}} {
		if f.v != "" {
			if _, err := ParseCheckFormat(f.v); err != nil {
				es.add(path+"."+f.name, "%v", err)
			}
		}
	}
}

func (s *CheckSend) validateHTTP(es *Errors, path string) {
	if s.Method != "" && !isToken(s.Method) {
		es.add(path+".method", "invalid HTTP method %q", s.Method)
	}
	if s.URI != "" && (strings.ContainsAny(s.URI, " \r\n") || s.URI[0] != '/' && s.URI != "*" && !strings.Contains(s.URI, "://")) {
		es.add(path+".uri", "want a path starting with / (or *, or an absolute URI), without spaces (got %q)", s.URI)
	}
	if s.Version != "" && !validHTTPVersion(s.Version) {
		es.add(path+".version", "want HTTP/1.0 or HTTP/1.1 (got %q)", s.Version)
	}
	for i, h := range s.Headers {
		if !isToken(h.Name) {
			es.add(fmt.Sprintf("%s.headers[%d].name", path, i), "invalid header name %q", h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			es.add(fmt.Sprintf("%s.headers[%d].value", path, i), "a header value cannot hold CR, LF or NUL")
		}
	}
}

func validHTTPVersion(v string) bool { return v == "HTTP/1.0" || v == "HTTP/1.1" }

// Check statuses an expect step may name.
var (
	okStatuses      = []string{"L7OK", "L7OKC", "L6OK", "L4OK"}
	errorStatuses   = []string{"L7OKC", "L7RSP", "L7STS", "L6RSP", "L4CON"}
	timeoutStatuses = []string{"L7TOUT", "L6TOUT", "L4TOUT"}
)

func (e *CheckExpect) validate(es *Errors, path string, http bool) {
	switch e.Match {
	case MatchString, MatchRString:
	case MatchBinary, MatchRBinary:
		if http {
			es.add(path+".match", "an http check matches status, rstatus, string or rstring (got %s)", e.Match)
		}
	case MatchStatus, MatchRStatus:
		if !http {
			es.add(path+".match", "a tcp check matches string, rstring, binary or rbinary (got %s)", e.Match)
		}
	default:
		es.add(path+".match", "required: string, rstring, binary, rbinary (tcp), status, rstatus, string, rstring (http)")
		return
	}
	if e.Pattern == "" {
		es.add(path+".pattern", "required")
	}
	switch e.Match {
	case MatchRString, MatchRBinary, MatchRStatus:
		if _, err := regexp.Compile(e.Pattern); err != nil {
			es.add(path+".pattern", "regular expression %q does not compile (Go RE2 syntax): %v", e.Pattern, regexpReason(err))
		}
	case MatchBinary:
		if _, err := DecodeHex(e.Pattern); err != nil {
			es.add(path+".pattern", "%v", err)
		}
	case MatchStatus:
		if _, err := ParseStatusRanges(e.Pattern); err != nil {
			es.add(path+".pattern", "%v", err)
		}
	}
	if e.MinRecv != nil && *e.MinRecv < -1 {
		es.add(path+".min_recv", "want -1 or more (got %d)", *e.MinRecv)
	}
	for _, f := range []struct {
		name, v string
		valid   []string
	}{{"ok_status", e.OKStatus, okStatuses}, {"error_status", e.ErrorStatus, errorStatuses}, {"timeout_status", e.TimeoutStatus, timeoutStatuses}} {
		if f.v != "" && !contains(f.valid, f.v) {
			es.add(path+"."+f.name, "want one of %s (got %q)", strings.Join(f.valid, ", "), f.v)
		}
	}
}

func regexpReason(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return se.Code.String() + " " + strconv.Quote(se.Expr)
	}
	return err.Error()
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// validate checks a server's check options.
func (c *ServerCheck) validate(es *Errors, path string, checked bool) {
	if c.CheckPort < 0 || c.CheckPort > 65535 {
		es.add(path+".check_port", "want 1-65535 (got %d)", c.CheckPort)
	}
	if c.CheckAddr != "" {
		if _, err := netip.ParseAddr(c.CheckAddr); err != nil {
			es.add(path+".check_addr", "want an IP address (got %q)", c.CheckAddr)
		}
	}
	if a := c.Agent; a != nil {
		if a.Port < 1 || a.Port > 65535 {
			es.add(path+".agent.port", "required, 1-65535 (got %d)", a.Port)
		}
		if a.Addr != "" {
			if _, err := netip.ParseAddr(a.Addr); err != nil {
				es.add(path+".agent.addr", "want an IP address (got %q)", a.Addr)
			}
		}
		if a.Inter < 0 || a.Inter != 0 && a.Inter.D().Milliseconds() < 10 {
			es.add(path+".agent.inter", "must be at least 10ms (got %s)", a.Inter)
		}
	}
	if o := c.Observe; o != nil {
		if o.Layer != ObserveLayer4 && o.Layer != ObserveLayer7 {
			es.add(path+".observe.layer", "want layer4 or layer7")
		}
		if o.ErrorLimit < 0 {
			es.add(path+".observe.error_limit", "must not be negative (got %d)", o.ErrorLimit)
		}
		if o.OnError < OnErrorUnset || o.OnError > OnErrorMarkDown {
			es.add(path+".observe.on_error", "want fastinter, fail-check, sudden-death or mark-down")
		}
		if !checked {
			es.add(path+".observe", "observe needs check: true (HAProxy: it adjusts the health the checks keep)")
		}
	}
}

// DecodeHex decodes an even number of hex digits ("50494e47" → "PING").
func DecodeHex(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("hex string %q has an odd number of digits (%d): each byte takes two", s, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		var ie hex.InvalidByteError
		if errors.As(err, &ie) {
			return nil, fmt.Errorf("hex string %q: %q is not a hex digit", s, rune(ie))
		}
		return nil, fmt.Errorf("hex string %q: %v", s, err)
	}
	return b, nil
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Lo, Hi int }

// ParseStatusRanges parses "200", "200,301-302" or "200-399".
func ParseStatusRanges(s string) ([]StatusRange, error) {
	var out []StatusRange
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if errA != nil || errB != nil || a < 100 || b > 599 || a > b {
			return nil, fmt.Errorf("want HTTP status codes 100-599 and ranges, e.g. 200 or 200,301-302 (got %q)", s)
		}
		out = append(out, StatusRange{a, b})
	}
	return out, nil
}

// CheckFormatPart is a piece of a send format: literal text, or a value
// filled in for each server.
type CheckFormatPart struct {
	Literal string
	// Var is "srv_name", "be_name", "srv_port" or "hostname"; empty for literal text.
	Var string
}

// checkFormatVars are the values a send format may use.
var checkFormatVars = []string{"srv_name", "be_name", "srv_port"}

// ParseCheckFormat parses a send format: text with %[srv_name],
// %[be_name], %[srv_port], %H and %%. Anything else after % is refused:
// tandem's checks have no variables or other fetches.
func ParseCheckFormat(s string) ([]CheckFormatPart, error) {
	var parts []CheckFormatPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, CheckFormatPart{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		switch {
		case strings.HasPrefix(rest, "%"):
			lit.WriteByte('%')
			i++
		case strings.HasPrefix(rest, "H"):
			flush()
			parts = append(parts, CheckFormatPart{Var: "hostname"})
			i++
		case strings.HasPrefix(rest, "["):
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("format %q: %%[ at byte %d is not closed by ]", s, i)
			}
			name := rest[1:end]
			if !contains(checkFormatVars, name) {
				return nil, fmt.Errorf("format %q: %%[%s] is not supported in check formats (tandem fills in %%[srv_name], %%[be_name], %%[srv_port], %%H and %%%%)", s, name)
			}
			flush()
			parts = append(parts, CheckFormatPart{Var: name})
			i += end + 1
		default:
			return nil, fmt.Errorf("format %q: '%%' at byte %d starts nothing tandem knows (write %%%% for a percent sign)", s, i)
		}
	}
	flush()
	return parts, nil
}
