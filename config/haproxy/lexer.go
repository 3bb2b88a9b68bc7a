package haproxy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// line is one significant line of a haproxy.cfg, split into words.
type line struct {
	num  int      // 1-based line number in the file
	kw   string   // the keyword, after a leading "no"
	args []string // the words after the keyword
	neg  bool     // the line started with "no" ("no option redispatch")
	def  bool     // the line started with "default" ("default option httpclose")
}

// name is the keyword as written, with its "no": "no option".
func (l line) name() string {
	if l.neg {
		return "no " + l.kw
	}
	return l.kw
}

// String is the line as written, for messages: "no option redispatch".
func (l line) String() string {
	s := joinWords(append([]string{l.kw}, l.args...))
	if l.neg {
		s = "no " + s
	}
	return s
}

// lookupFunc finds an environment variable for expansion.
type lookupFunc func(name string) (string, bool)

// splitWords splits one line of a haproxy.cfg into words the way HAProxy
// 2.6 does (configuration.txt 2.2 and 2.3): words are separated by spaces
// and tabs; '#' outside quotes starts a comment; a backslash escapes the
// next character ("\ ", "\#", "\\", "\"", "\'", "\$") or writes one ("\r",
// "\n", "\t", "\xNN"), and any other backslash is kept as is (regular
// expressions need them); "..." and '...' quote, and may be glued to
// unquoted text ("a"b is one word "ab"). Backslash escapes work inside
// double quotes but not inside single quotes.
//
// Inside double quotes, and only there, environment variables expand:
// "$NAME", "${NAME}", "${NAME-default}" (the default replaces an unset
// variable, not an empty one) and "${NAME[*]}" (the value's space-separated
// parts become separate words). An unset variable expands to nothing, as in
// HAProxy; unset lists the names that were, so that the caller can say so.
func splitWords(s string, lookup lookupFunc) (words, unset []string, err error) {
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\\' && i+1 < len(s):
			n, err := unescape(&cur, s[i+1:])
			if err != nil {
				return nil, nil, err
			}
			i += n
			inWord = true
		case quote == '"' && c == '"':
			quote = 0
		case quote == '"' && c == '$':
			v, n, name, err := expandVar(s[i+1:], lookup)
			if err != nil {
				return nil, nil, fmt.Errorf("%w at column %d", err, i+1)
			}
			if v.unset {
				unset = append(unset, name)
			}
			i += n
			for k, part := range v.parts {
				if k > 0 {
					words = append(words, cur.String())
					cur.Reset()
				}
				cur.WriteString(part)
			}
		case quote == '"':
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote = c
			inWord = true
		case c == '#':
			i = len(s)
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, nil, fmt.Errorf("unterminated %c quote: close it with %c", quote, quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, unset, nil
}

// expansion is the value of one "$NAME" or "${...}": one part, or several
// for "${NAME[*]}".
type expansion struct {
	parts []string
	unset bool
}

// expandVar reads the variable reference after a '$' in rest and returns
// its value and how many bytes of rest it used.
func expandVar(rest string, lookup lookupFunc) (expansion, int, string, error) {
	braced := strings.HasPrefix(rest, "{")
	body := rest
	if braced {
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return expansion{}, 0, "", errors.New("unmatched brace in environment variable name")
		}
		body = rest[1:end]
	}
	n := varNameLen(body)
	if n == 0 {
		return expansion{}, 0, "", errors.New(`forbidden first char in environment variable name (write \$ for a dollar sign)`)
	}
	name, tail := body[:n], body[n:]
	used := n
	var dflt *string
	split := false
	if braced {
		used = len(body) + 2
		switch {
		case tail == "":
		case tail == "[*]":
			split = true
		case strings.HasPrefix(tail, "-"):
			d := tail[1:]
			dflt = &d
		default:
			return expansion{}, 0, "", fmt.Errorf("unexpected %q after environment variable name %q", tail, name)
		}
	}
	v, ok := "", false
	if lookup != nil {
		v, ok = lookup(name)
	}
	switch {
	case !ok && dflt != nil:
		return expansion{parts: []string{*dflt}}, used, name, nil
	case !ok:
		return expansion{parts: []string{""}, unset: true}, used, name, nil
	case split:
		parts := strings.Fields(v)
		if len(parts) == 0 {
			parts = []string{""}
		}
		return expansion{parts: parts}, used, name, nil
	}
	return expansion{parts: []string{v}}, used, name, nil
}

// varNameLen is the length of the variable name at the start of s: a letter
// or '_' then letters, digits and '_'; or one of HAProxy's pseudo-variables
// (".FILE", ".LINE", ".SECTION").
func varNameLen(s string) int {
	for _, pseudo := range []string{".FILE", ".LINE", ".SECTION"} {
		if strings.HasPrefix(s, pseudo) {
			return len(pseudo)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return i
		}
	}
	return len(s)
}

// unescape writes the character escaped at the start of rest (what follows
// a backslash) and returns how many bytes of rest it used.
func unescape(b *strings.Builder, rest string) (int, error) {
	switch c := rest[0]; c {
	case ' ', '\\', '#', '"', '\'', '$':
		b.WriteByte(c)
	case 'r':
		b.WriteByte('\r')
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'x':
		if len(rest) < 3 {
			return 0, errors.New(`truncated \x escape: want two hex digits, e.g. \x20`)
		}
		v, err := strconv.ParseUint(rest[1:3], 16, 8)
		if err != nil {
			return 0, fmt.Errorf(`invalid \x escape %q: want two hex digits, e.g. \x20`, `\x`+rest[1:3])
		}
		b.WriteByte(byte(v))
		return 3, nil
	default:
		b.WriteByte('\\')
		b.WriteByte(c)
	}
	return 1, nil
}

// quoteWord writes w so that splitWords reads it back as the same single
// word, with no environment expansion: as is when it holds nothing special,
// in single quotes when it can, in double quotes with escapes otherwise.
func quoteWord(w string) string {
	if w == "" {
		return `""`
	}
	if !strings.ContainsAny(w, " \t#'\"\\$\r\n") {
		return w
	}
	if !strings.ContainsAny(w, "'\r\n") {
		return "'" + w + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(w); i++ {
		switch c := w[i]; c {
		case '"', '\\', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r':
			b.WriteString(`\r`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// joinWords writes words as one line that splitWords splits back into them.
func joinWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = quoteWord(w)
	}
	return strings.Join(q, " ")
}
