package http1

// Character classes of RFC 9110 5.6.2 and RFC 3986, as lookup tables.
var (
	tokenTab  [256]bool // tchar
	targetTab [256]bool // bytes allowed in a request target
)

func init() {
	for c := '0'; c <= '9'; c++ {
		tokenTab[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		tokenTab[c] = true
		tokenTab[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		tokenTab[c] = true
	}
	// Visible ASCII but '#' (a fragment is never sent, RFC 9112 3.2) and
	// DEL; HAProxy also refuses non-ASCII bytes in a target.
	for c := 0x21; c < 0x7f; c++ {
		targetTab[c] = c != '#'
	}
}

// IsToken reports whether b is a non-empty RFC 9110 token (a valid field
// name or method).
func IsToken(b []byte) bool {
	for _, c := range b {
		if !tokenTab[c] {
			return false
		}
	}
	return len(b) > 0
}

// validValue reports whether a field value may be forwarded: no NUL and
// no CR (LF cannot occur: it ends the line). Other control bytes are
// invalid by the grammar but harmless to framing, and HAProxy forwards
// them; RFC 9110 5.5 lets a recipient retain them.
func validValue(v []byte) bool {
	for _, c := range v {
		if c == 0 || c == '\r' {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS trims optional whitespace (SP, HTAB) on both sides.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// ForTokens calls f with each non-empty element of a comma-separated
// list, whitespace trimmed (RFC 9110 5.6.1: empty elements are ignored).
func ForTokens(v []byte, f func([]byte)) {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		t := trimOWS(v[:i])
		if i < len(v) {
			i++
		}
		v = v[i:]
		if len(t) > 0 {
			f(t)
		}
	}
}

// BadRequestStart reports whether b, the first bytes of a request as they
// arrive, cannot start a request line: after the empty lines a client may
// send first, a byte that is not a method character comes before the first
// space or tab (or that separator comes first). A server need not wait for the whole
// head to refuse it: HAProxy answers 400 to a TLS ClientHello on a
// clear-text port at once.
func BadRequestStart(b []byte) bool {
	i := 0
	for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
		i++
	}
	start := i
	for ; i < len(b); i++ {
		switch {
		case b[i] == ' ' || b[i] == '\t': // HAProxy takes a tab as a separator too
			return i == start
		case !tokenTab[b[i]]:
			return true
		}
	}
	return false
}
