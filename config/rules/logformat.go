package rules

import (
	"strings"
)

// LogFormat is a log-format expression as actions take it
// (configuration.txt 8.2.4): literal text, "%[sample expression]",
// "%ci"-style variables and "%%" for a '%'.
type LogFormat struct {
	Nodes []LFNode
}

// LFNode is one piece of a log-format expression: exactly one of Lit,
// Expr and Var is set.
type LFNode struct {
	Lit  string
	Expr *Expr
	Var  LFVar
	// Quote is the "%{+Q}" flag: the value is written in double quotes.
	Quote bool
}

// LFVar is a log-format variable usable in rules.
type LFVar uint8

const (
	LFNone              LFVar = iota
	LFClientIP                // %ci
	LFClientPort              // %cp
	LFFrontendIP              // %fi
	LFFrontendPort            // %fp
	LFFrontend                // %f
	LFBackend                 // %b
	LFServer                  // %s
	LFMethod                  // %HM
	LFURI                     // %HU
	LFPath                    // %HP
	LFQuery                   // %HQ
	LFVersion                 // %HV
	LFStatus                  // %ST
	LFFrontendTransport       // %ft
)

var lfVarNames = map[string]LFVar{
	"ci": LFClientIP, "cp": LFClientPort, "fi": LFFrontendIP, "fp": LFFrontendPort,
	"f": LFFrontend, "ft": LFFrontendTransport, "b": LFBackend, "s": LFServer,
	"HM": LFMethod, "HU": LFURI, "HP": LFPath, "HQ": LFQuery, "HV": LFVersion, "ST": LFStatus,
}

func (v LFVar) name() string {
	for n, x := range lfVarNames {
		if x == v {
			return n
		}
	}
	return "?"
}

// Static reports whether the expression is only literal text, and returns it.
func (f *LogFormat) Static() (string, bool) {
	var b strings.Builder
	for _, n := range f.Nodes {
		if n.Expr != nil || n.Var != LFNone {
			return "", false
		}
		b.WriteString(n.Lit)
	}
	return b.String(), true
}

// String prints the expression so that parsing it gives the same LogFormat.
func (f *LogFormat) String() string {
	var b strings.Builder
	for _, n := range f.Nodes {
		switch {
		case n.Expr != nil || n.Var != LFNone:
			b.WriteByte('%')
			if n.Quote {
				b.WriteString("{+Q}")
			}
			if n.Expr != nil {
				b.WriteByte('[')
				b.WriteString(n.Expr.String())
				b.WriteByte(']')
			} else {
				b.WriteString(n.Var.name())
			}
		default:
			lit := strings.ReplaceAll(n.Lit, "%", "%%")
			b.WriteString(lit)
		}
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parseLogFormat parses s (one word of a rule, at offset base in the line)
// as HAProxy's parse_logformat_string does (log.c).
func (p *parser) parseLogFormat(s string, base int) (*LogFormat, error) {
	f := &LogFormat{}
	var lit strings.Builder
	flushLit := func() {
		if lit.Len() > 0 {
			f.Nodes = append(f.Nodes, LFNode{Lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			i++
			continue
		}
		start := i
		i++
		if i < len(s) && s[i] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		node := LFNode{}
		if i < len(s) && s[i] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, errAt(base+start, "log-format: missing '}' after '%%{'")
			}
			flags := s[i+1 : i+end]
			switch flags {
			case "+Q":
				node.Quote = true
			case "-Q", "":
			default:
				return nil, errAt(base+start, "log-format: flags %q are not supported in rules (only +Q)", flags)
			}
			i += end + 1
		}
		switch {
		case i < len(s) && s[i] == '[':
			e, end, err := p.parseExpr(s, i+1, base, ']')
			if err != nil {
				return nil, err
			}
			if end >= len(s) || s[end] != ']' {
				return nil, errAt(base+start, "log-format: missing ']' after %%[%s", s[i+1:end])
			}
			node.Expr = e
			i = end + 1
		case i < len(s) && isAlpha(s[i]):
			j := i
			for j < len(s) && isAlnum(s[j]) {
				j++
			}
			v, ok := lfVarNames[s[i:j]]
			if !ok {
				return nil, errAt(base+start, "log-format variable %%%s is not supported in rules (use %%[fetch] or one of %%ci %%cp %%fi %%fp %%f %%b %%s %%HM %%HU %%HP %%HQ %%HV %%ST)", s[i:j])
			}
			if err := p.checkLFVar(v, base+start); err != nil {
				return nil, err
			}
			node.Var = v
			i = j
		default:
			return nil, errAt(base+start, "log-format: '%%' must be followed by '[', a variable name or '%%' (write %%%% for a literal '%%')")
		}
		flushLit()
		f.Nodes = append(f.Nodes, node)
	}
	flushLit()
	return f, nil
}

// checkLFVar refuses variables whose data the stage does not have.
func (p *parser) checkLFVar(v LFVar, pos int) error {
	switch v {
	case LFServer, LFStatus:
		if p.stage.request() {
			return errAt(pos, "log-format variable %%%s is only known in response rules", v.name())
		}
	case LFBackend:
		if p.stage <= StageUseBackend {
			return errAt(pos, "log-format variable %%b is not known before the backend is chosen")
		}
	case LFMethod, LFURI, LFPath, LFQuery, LFVersion:
		if !p.http {
			return errAt(pos, "log-format variable %%%s needs mode http", v.name())
		}
	}
	return nil
}
