package rules

import (
	"strings"
)

// ACL is a named condition: it matches when any of its criteria does, as
// several "acl NAME ..." lines with one name do (configuration.txt 7.1).
type ACL struct {
	Name     string
	Criteria []*Criterion
}

// Criterion is one "FETCH[(args)][,conv...] [flags] [operator] VALUE..."
// (configuration.txt 7.1).
type Criterion struct {
	// Keyword is the ACL keyword when one was written ("hdr_beg"), which
	// implies a match method; empty when the criterion names a fetch.
	Keyword string
	Expr    *Expr
	// Flags are the options in the order written ("-i", "-f FILE", "-m beg").
	Flags []Flag
	// Values are the words after the flags: operators and patterns.
	Values []string

	// Match is the method in effect: "-m", else the keyword's, else the
	// default for the sample's type.
	Match Match
	// IgnoreCase applies to Values ("-i" before them).
	IgnoreCase bool
	// Files are the "-f" pattern files, each with the flags in effect where
	// it was named ("-i" applies to later files only, 7.1).
	Files []PatternFile
	// Patterns are Values parsed for Match (operators applied).
	Patterns []Pattern
}

// Flag is one ACL option with its argument, if it takes one.
type Flag struct {
	Name string // "-i", "-f", "-m", "-n", "-M", "-u", "--"
	Arg  string
}

// PatternFile is one "-f FILE" of a criterion, parsed.
type PatternFile struct {
	Name       string
	IgnoreCase bool
	AsMap      bool // "-M": the file is a map; its keys are the patterns
	Patterns   []Pattern
}

// String prints the criterion as an ACL line (without "acl NAME").
func (c *Criterion) String() string { return JoinWords(c.words()...) }

func (c *Criterion) words() []string {
	expr := c.Expr.String()
	if c.Keyword != "" {
		expr = c.Keyword + expr[len(c.Expr.Name):]
	}
	w := []string{expr}
	for _, f := range c.Flags {
		w = append(w, f.Name)
		if f.Name == "-f" || f.Name == "-m" || f.Name == "-u" {
			w = append(w, f.Arg)
		}
	}
	if len(c.Values) > 0 && strings.HasPrefix(c.Values[0], "-") && !c.hasEndOfFlags() {
		w = append(w, "--")
	}
	return append(w, c.Values...)
}

func (c *Criterion) hasEndOfFlags() bool {
	return len(c.Flags) > 0 && c.Flags[len(c.Flags)-1].Name == "--"
}

// parseCriterion parses the words of one ACL criterion, as HAProxy's
// parse_acl_expr does (acl.c).
func (p *parser) parseCriterion(words []Word) (*Criterion, error) {
	if len(words) == 0 {
		return nil, errAt(-1, "missing ACL criterion")
	}
	c := &Criterion{}
	w := words[0]
	if err := p.parseCriterionExpr(c, w); err != nil {
		return nil, err
	}
	if c.Expr.Fetch == FetchHTTPAuthGroup && len(c.Expr.Args) > 0 {
		p.userlist = c.Expr.Args[0].Text
	}
	i := 1
	loaded := false
	for ; i < len(words) && strings.HasPrefix(words[i].Text, "-"); i++ {
		f := Flag{Name: words[i].Text}
		needsArg := f.Name == "-f" || f.Name == "-m" || f.Name == "-u"
		if needsArg {
			if i+1 >= len(words) {
				return nil, errAt(words[i].Pos, "ACL option %s needs an argument", f.Name)
			}
			i++
			f.Arg = words[i].Text
		}
		switch f.Name {
		case "-i":
			c.IgnoreCase = true
		case "-n", "-M", "-u":
		case "-m":
			if loaded {
				return nil, errAt(words[i-1].Pos, "-m must come before -f files and patterns")
			}
			m, ok := matchByName(f.Arg)
			if !ok {
				return nil, errAt(words[i].Pos, "unknown matching method %q", f.Arg)
			}
			if m != MatchFound && !castable(c.Expr.Out(), m.input()) {
				return nil, errAt(words[i].Pos, "matching method %q cannot be used with %s, which gives %s", f.Arg, c.Expr.Name, c.Expr.Out())
			}
			c.Match = m
		case "-f":
			if c.Match == MatchNone {
				return nil, errAt(words[i-1].Pos, "%s gives %s: name a matching method with -m before -f", c.Expr.Name, c.Expr.Out())
			}
			pf, err := p.loadPatternFile(f.Arg, c, words[i].Pos)
			if err != nil {
				return nil, err
			}
			c.Files = append(c.Files, pf)
			loaded = true
		case "--":
		default:
			return nil, errAt(words[i].Pos, "%q is not an ACL option: write -- before a pattern that starts with '-'", f.Name)
		}
		c.Flags = append(c.Flags, f)
		if f.Name == "--" {
			i++
			break
		}
	}
	if c.Match == MatchNone {
		return nil, errAt(w.Pos, "%s gives %s: name a matching method with -m", c.Expr.Name, c.Expr.Out())
	}
	for _, v := range words[i:] {
		c.Values = append(c.Values, v.Text)
	}
	var err error
	c.Patterns, err = p.parsePatterns(c, words[i:])
	return c, err
}

// parseCriterionExpr parses the first word: an ACL keyword or a fetch,
// with converters. An ACL keyword's match method holds only without
// converters (configuration.txt 7.1: "the default matching method from
// the ACL keyword is simply ignored" once a converter follows).
func (p *parser) parseCriterionExpr(c *Criterion, w Word) error {
	n := 0
	for n < len(w.Text) && isIDChar(w.Text[n]) {
		n++
	}
	text, base := w.Text, w.Pos
	p.inCriterion = true
	defer func() { p.inCriterion = false }()
	kw, isKW := aclKeywords[w.Text[:n]]
	if isKW {
		c.Keyword = w.Text[:n]
		text = kw.fetch + w.Text[n:]
		base -= len(kw.fetch) - n
	}
	e, _, err := p.parseExpr(text, 0, base, 0)
	if err != nil {
		return err
	}
	c.Expr = e
	switch {
	case isKW && len(e.Convs) == 0:
		c.Match = kw.match
	default:
		c.Match = defaultMatch(e.Out())
	}
	return nil
}

// loadPatternFile parses a "-f" file from the config's files.
func (p *parser) loadPatternFile(name string, c *Criterion, pos int) (PatternFile, error) {
	content, ok := p.env.File(name)
	if !ok {
		return PatternFile{}, errAt(pos, "pattern file %q is not in the config's files", name)
	}
	pf := PatternFile{Name: name, IgnoreCase: c.IgnoreCase}
	for _, f := range c.Flags {
		pf.AsMap = pf.AsMap || f.Name == "-M"
	}
	var lines []FileLine
	if pf.AsMap {
		entries, err := ParseMapFile(content)
		if err != nil {
			return pf, errAt(pos, "pattern file %q: %v", name, err)
		}
		for _, e := range entries {
			lines = append(lines, FileLine{Line: e.Line, Text: e.Key})
		}
	} else {
		lines = ParsePatternFile(content)
	}
	for _, l := range lines {
		pat, err := p.parsePattern(c.Match, OpEq, l.Text, c.Expr.Out())
		if err != nil {
			return pf, errAt(pos, "pattern file %q line %d: %v", name, l.Line, err)
		}
		pf.Patterns = append(pf.Patterns, pat)
	}
	return pf, nil
}

// parsePatterns parses the values of a criterion for its match method;
// integer methods take operators that apply to the values after them
// (configuration.txt 7.1.2).
func (p *parser) parsePatterns(c *Criterion, words []Word) ([]Pattern, error) {
	op := OpEq
	var pats []Pattern
	for _, w := range words {
		if c.Match == MatchInt || c.Match == MatchLen {
			if o, ok := opByName(w.Text); ok {
				op = o
				continue
			}
		}
		pat, err := p.parsePattern(c.Match, op, w.Text, c.Expr.Out())
		if err != nil {
			return nil, errAt(w.Pos, "%v", err)
		}
		pats = append(pats, pat)
	}
	return pats, nil
}
