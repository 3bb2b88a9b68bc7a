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
	s := strings.Join(append([]string{l.kw}, l.args...), " ")
	if l.neg {
		s = "no " + s
	}
	return s
}

// splitWords splits one line of a haproxy.cfg into words the way HAProxy
// does: words are separated by spaces and tabs; '#' outside quotes starts a
// comment; a backslash escapes the next character ("\ ", "\#", "\\", "\"",
// "\'", "\$") or writes one ("\r", "\n", "\t", "\xNN"), and any other
// backslash is kept as is (regular expressions need them); "..." and '...'
// quote, and may be glued to unquoted text ("a"b is one word "ab").
// Backslash escapes work inside double quotes but not inside single quotes.
//
// HAProxy expands "${VAR}" inside double quotes; the file is translated once,
// away from the environment it will run in, so envVar reports it instead.
func splitWords(s string) (words []string, envVar bool, err error) {
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
				return nil, false, err
			}
			i += n
			inWord = true
		case quote == '"':
			if c == '"' {
				quote = 0
			} else {
				envVar = envVar || (c == '$' && i+1 < len(s) && s[i+1] == '{')
				cur.WriteByte(c)
			}
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
		return nil, false, fmt.Errorf("unterminated %c quote: close it with %c", quote, quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, envVar, nil
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
