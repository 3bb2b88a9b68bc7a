package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// ErrorFile is a complete HTTP response stored in a file, as "errorfile"
// and "return errorfile" use it (configuration.txt 4.2 "errorfile").
type ErrorFile struct {
	Status int
	Reason string
	Fields [][2]string // name, value in order
	Body   string
}

// ParseErrorFile parses an errorfile's content: a status line
// ("HTTP/1.1 503 Service Unavailable"), header fields, an empty line and
// the body. Lines may end with CRLF or LF.
func ParseErrorFile(content string) (*ErrorFile, error) {
	head, body, ok := strings.Cut(content, "\r\n\r\n")
	if !ok {
		if head, body, ok = strings.Cut(content, "\n\n"); !ok {
			head, body = strings.TrimRight(content, "\r\n"), ""
		}
	}
	lines := strings.Split(strings.ReplaceAll(head, "\r\n", "\n"), "\n")
	ver, rest, _ := strings.Cut(lines[0], " ")
	if ver != "HTTP/1.0" && ver != "HTTP/1.1" {
		return nil, fmt.Errorf("line 1: want a status line like \"HTTP/1.1 503 Service Unavailable\"")
	}
	code, reason, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if err != nil || status < 100 || status > 599 || len(code) != 3 {
		return nil, fmt.Errorf("line 1: %q is not a status code", code)
	}
	ef := &ErrorFile{Status: status, Reason: reason, Body: body}
	for n, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("line %d: %q is not a header field", n+2, l)
		}
		ef.Fields = append(ef.Fields, [2]string{name, strings.Trim(value, " \t")})
	}
	return ef, nil
}
