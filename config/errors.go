package config

import (
	"fmt"
	"strings"
)

// FieldError is one problem in a config, located by its path
// ("backends[web].servers[server1].address") and, when the config came from
// a file, by file:line.
type FieldError struct {
	File string // may be empty
	Line int    // 0 when unknown
	Path string // config path; empty for file-level errors
	Msg  string
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one config. It is returned as an error
// only when it is not empty.
type Errors []FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	if len(es) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems:\n  %s", len(es), strings.Join(lines, "\n  "))
}

func (es *Errors) add(path, format string, args ...any) {
	*es = append(*es, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
