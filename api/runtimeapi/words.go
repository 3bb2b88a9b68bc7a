package runtimeapi

import "strings"

// maxArgs is HAProxy's MAX_CLI_ARGS: words past it are ignored.
const maxArgs = 64

// payloadPattern ends a line whose command takes a payload: the lines that
// follow, up to an empty one, are the payload (HAProxy's "<<").
const payloadPattern = "<<"

// cutRequest finds the end of the first request in buf, HAProxy's way
// (co_getdelim on "\n;" with '\\' as escape): the first LF or unescaped
// ';'. It returns the request without its delimiter (and without a CR
// before an LF) and the number of bytes consumed; ok is false when buf
// holds no complete request yet.
func cutRequest(buf []byte) (req string, n int, ok bool) {
	for i := 0; i < len(buf); i++ {
		switch buf[i] {
		case '\\':
			i++ // the escaped byte is never a delimiter
		case ';':
			return string(buf[:i]), i + 1, true
		case '\n':
			line := buf[:i]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			return string(line), i + 1, true
		}
	}
	return "", 0, false
}

// splitWords splits a request into words as HAProxy's cli_parse_request
// does: words are separated by spaces and tabs; a backslash makes the next
// byte literal (so "\ " and "\;" are part of a word and "\\" is one
// backslash); a word "<<" ends the words and starts a payload. At most
// maxArgs words are returned.
func splitWords(req string) (words []string, payload bool) {
	i := 0
	for len(words) < maxArgs {
		for i < len(req) && (req[i] == ' ' || req[i] == '\t') {
			i++
		}
		if i >= len(req) {
			break
		}
		if req[i:] == payloadPattern {
			return words, true
		}
		var w strings.Builder
		for i < len(req) && req[i] != ' ' && req[i] != '\t' {
			if req[i] == '\\' {
				i++
				if i >= len(req) {
					break // a trailing backslash escapes nothing
				}
			}
			w.WriteByte(req[i])
			i++
		}
		words = append(words, w.String())
	}
	return words, false
}
