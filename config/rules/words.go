package rules

import (
	"fmt"
	"strings"
)

// Error is a problem in one rule line: what is wrong and where. Pos is the
// byte offset in the line of the word (or character) at fault, -1 when the
// problem is the line as a whole (a missing argument at its end).
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string {
	if e.Pos < 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s (column %d)", e.Msg, e.Pos+1)
}

func errAt(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Word is one word of a rule line after HAProxy's quoting and escaping have
// been resolved.
type Word struct {
	Text string
	Pos  int // byte offset in the line where the word starts
}

// Split cuts a rule line into words as HAProxy's configuration parser does
// (configuration.txt 2.2 "Quoting and escaping"): spaces and tabs separate
// words; "..." quotes weakly, '...' strongly; a backslash escapes a space,
// '#', '\', a quote, and writes \t \n \r \xNN; an unquoted '#' starts a
// comment. Other backslash pairs (\1, \.) are kept as they are, for regexes.
//
// tandem's cluster config is the same on every node, so it never expands
// environment variables: an unescaped '$' inside double quotes, which
// HAProxy would expand, is an error ("config import" expands them). HAProxy
// ends a line's arguments at its first empty word; so does Split, and words
// after an empty one are an error rather than silently ignored.
func Split(line string) ([]Word, error) {
	var (
		words  []Word
		cur    strings.Builder
		start  = -1 // start of the current word, -1 between words
		quote  byte // the open quote, 0 outside quotes
		qpos   int
		quoted bool // the current word had quotes (so it exists even if empty)
	)
	flush := func() {
		if start >= 0 {
			words = append(words, Word{Text: cur.String(), Pos: start})
		}
		cur.Reset()
		start, quoted = -1, false
	}
	begin := func(i int) {
		if start < 0 {
			start = i
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\n' || c == '\r' || c == 0:
			return nil, errAt(i, "control character %q in a rule: write it as \\n, \\r or \\x00", c)
		case quote == '\'' && c != '\'':
			cur.WriteByte(c)
		case quote == 0 && (c == ' ' || c == '\t'):
			flush()
		case quote == 0 && c == '#':
			i = len(line) // a comment runs to the end of the line
		case c == '"' && quote != '\'', c == '\'' && quote != '"':
			begin(i)
			quoted = true
			if quote == 0 {
				quote, qpos = c, i
			} else {
				quote = 0
			}
		case c == '$' && quote == '"':
			return nil, errAt(i, "environment variables are not expanded in the cluster config (it is the same on every node): write \\$ for a literal '$'")
		case c == '\\':
			begin(i)
			n, err := unescape(&cur, line, i, quote)
			if err != nil {
				return nil, err
			}
			i += n
		default:
			begin(i)
			cur.WriteByte(c)
		}
	}
	if quote != 0 {
		return nil, errAt(qpos, "unmatched quote %c", quote)
	}
	if start >= 0 && (cur.Len() > 0 || quoted) {
		flush()
	}
	for i, w := range words {
		if w.Text == "" {
			if i+1 < len(words) {
				return nil, errAt(w.Pos, "empty word: HAProxy ends the arguments here and ignores %q after it", words[i+1].Text)
			}
			words = words[:i]
			break
		}
	}
	return words, nil
}

// unescape writes the character a backslash at line[i] stands for (outside
// single quotes) and returns how many bytes after i it consumed.
func unescape(cur *strings.Builder, line string, i int, quote byte) (int, error) {
	if i+1 >= len(line) {
		cur.WriteByte('\\')
		return 0, nil
	}
	switch c := line[i+1]; c {
	case ' ', '\\', '#', '\'', '"':
		cur.WriteByte(c)
	case 't':
		cur.WriteByte('\t')
	case 'n':
		cur.WriteByte('\n')
	case 'r':
		cur.WriteByte('\r')
	case '$':
		if quote != '"' {
			cur.WriteByte('\\') // "\$" outside double quotes stays as it is
			return 0, nil
		}
		cur.WriteByte('$')
	case 'x':
		if i+3 >= len(line) || !isHex(line[i+2]) || !isHex(line[i+3]) {
			return 0, errAt(i, "invalid escape: \\x needs two hex digits")
		}
		cur.WriteByte(unhex(line[i+2])<<4 | unhex(line[i+3]))
		return 3, nil
	default:
		cur.WriteByte('\\') // not an escape sequence: \1, \. stay for regexes
		return 0, nil
	}
	return 1, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// Quote returns s written as one word that Split reads back as s: s itself
// when it has no character Split treats specially, else with backslash
// escapes. An empty s has no such word and returns "".
func Quote(s string) string {
	if s == "" {
		return ""
	}
	if !strings.ContainsAny(s, " \t#\"'\\$\n\r\x00") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '#', '"', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\\':
			// A lone backslash before a character that is not an escape
			// survives Split; write it doubled anyway, which always does.
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case 0:
			b.WriteString(`\x00`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// JoinWords writes words as a line that Split reads back as the same words.
func JoinWords(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}
