package rules

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzSplit: any line that splits re-joins (JoinWords) into a line that
// splits into the same words.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{`a b`, `"a b" 'c' d\ e`, `x # y`, `\x41\t\n\r\\\"\'\#`, `"\$"`, `'"'`, `a ""`, `"`, `\x4`, "a\tb", `$x "y"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ws, err := Split(line)
		if err != nil {
			return
		}
		texts := make([]string, len(ws))
		for i, w := range ws {
			if w.Text == "" {
				t.Fatalf("Split(%q) returned an empty word", line)
			}
			if w.Pos < 0 || w.Pos >= len(line) {
				t.Fatalf("Split(%q): word %q at %d is outside the line", line, w.Text, w.Pos)
			}
			texts[i] = w.Text
		}
		joined := JoinWords(texts...)
		ws2, err := Split(joined)
		if err != nil {
			t.Fatalf("Split(JoinWords(%q)) = %v (joined %q)", texts, err, joined)
		}
		var texts2 []string
		for _, w := range ws2 {
			texts2 = append(texts2, w.Text)
		}
		if d := cmp.Diff(texts, texts2, cmpRule); d != "" {
			t.Fatalf("words of %q did not survive JoinWords %q:\n%s", line, joined, d)
		}
	})
}

var fuzzSets = []struct {
	set   RuleSet
	stage Stage
}{
	{SetHTTPRequest, StageHTTPRequestFE}, {SetHTTPResponse, StageHTTPResponseFE},
	{SetHTTPAfterResponse, StageHTTPResponseBE}, {SetTCPContent, StageTCPContentFE},
	{SetTCPConnection, StageTCPConnection}, {SetRedirect, StageHTTPRequestFE},
}

// FuzzRule: a rule (action, arguments, condition, log-format) that parses
// prints to a line that parses to the same rule.
func FuzzRule(f *testing.F) {
	seeds := []string{
		`redirect scheme https code 301 if !{ ssl_fc }`,
		`set-header X-Forwarded-Proto https if { ssl_fc } || METH_GET`,
		`add-header X "%{+Q}[req.hdr(host),lower,map(hosts.map,web)] %%"`,
		`del-header X -m reg`, `replace-header Cookie (.*) \1`, `replace-uri ^/a(.*) /b\1`,
		`deny deny_status 429`, `deny status 403 content-type text/plain string x hdr A %[src]`,
		`return status 200 content-type t lf-string %ci:%cp`, `auth realm R unless { http_auth(admins) }`,
		`set-var(txn.a) path,lower,field(2,/),regsub(a,b,g)`, `set-var-fmt(sess.b) %fi:%fp`,
		`allow if { src -n -f bad.lst 10/8 } or !{ dst_port ge 1024 lt 10 }`,
		`deny if { hdr_cnt(host) gt 1 } { url_param(a,;) -m len 3:5 } { req.fhdr(x,-1) -m dom a.b }`,
		`set-status 418 reason "I'm a teapot"`, `content accept if { req.ssl_hello_type 1 }`,
		`connection reject if LOCALHOST`, `location /x code 307 set-cookie A=1`,
		`prefix / drop-query append-slash`, `set-header X %[var(txn.a,def)]`,
	}
	for _, s := range seeds {
		for i := range fuzzSets {
			f.Add(uint8(i), s)
			f.Add(uint8(i), "content "+s)
		}
	}
	acls := map[string][]string{"is_api": {"path_beg /api", "hdr(host) -i api"}}
	f.Fuzz(func(t *testing.T, which uint8, line string) {
		fs := fuzzSets[int(which)%len(fuzzSets)]
		r, err := ParseRule(fs.set, fs.stage, true, line, acls, env)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		printed := r.String()
		r2, err := ParseRule(fs.set, fs.stage, true, printed, acls, env)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", line, printed, err)
		}
		if d := cmp.Diff(r, r2, cmpRule); d != "" {
			t.Fatalf("%q printed as %q parses differently:\n%s", line, printed, d)
		}
	})
}

// FuzzLogFormat: a log-format that parses prints to one that parses the
// same, and literal-only formats print back to their text.
func FuzzLogFormat(f *testing.F) {
	for _, s := range []string{"%[src]", "a%%b", "%ci:%cp", "%{+Q}[path]x", "%[hdr(host),lower]", "%", "%[", "%{", "%x", "100%", "%HU %HP %HQ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := &parser{env: env, stage: StageHTTPRequestFE, http: true, aclCache: map[aclKey]*ACL{}, mapsChecked: map[string]error{}}
		lf, err := p.parseLogFormat(s, 0)
		if err != nil {
			return
		}
		if lit, ok := lf.Static(); ok && strings.ReplaceAll(s, "%%", "%") != lit {
			t.Fatalf("static %q read as %q", s, lit)
		}
		lf2, err := p.parseLogFormat(lf.String(), 0)
		if err != nil {
			t.Fatalf("%q printed as %q: %v", s, lf.String(), err)
		}
		if d := cmp.Diff(lf, lf2, cmpRule); d != "" {
			t.Fatalf("%q printed as %q:\n%s", s, lf.String(), d)
		}
	})
}

// FuzzCondition: a condition that parses prints to one that parses the same.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{"is_api", "!is_api || { path /a } METH_GET", "{ src 1.2.3.4 } or !!is_api", "! is_api", "{ } ", "{ path", "or x", "is_api ||"} {
		f.Add(s)
	}
	acls := map[string][]string{"is_api": {"path_beg /api"}}
	f.Fuzz(func(t *testing.T, s string) {
		p := &parser{env: env, stage: StageHTTPRequestFE, http: true, acls: acls, aclCache: map[aclKey]*ACL{}, mapsChecked: map[string]error{}}
		words, err := Split(s)
		if err != nil {
			return
		}
		c, err := p.parseCond(false, words, -1)
		if err != nil {
			return
		}
		words2, err := Split(c.String())
		if err != nil || len(words2) == 0 {
			t.Fatalf("%q printed as %q: %v", s, c.String(), err)
		}
		c2, err := p.parseCond(false, words2[1:], -1)
		if err != nil {
			t.Fatalf("%q printed as %q: %v", s, c.String(), err)
		}
		if d := cmp.Diff(c, c2, cmpRule); d != "" {
			t.Fatalf("%q printed as %q:\n%s", s, c.String(), d)
		}
	})
}

// FuzzMapFile: entries have a key without blanks and a trimmed value;
// writing them back as "key value" lines reads back the same entries.
func FuzzMapFile(f *testing.F) {
	for _, s := range []string{"a b\n", "# c\n  k  v v \t\r\n\n", "k\n", " #k v\n", "a\x00b c\n", "\n\n\t\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		entries, err := ParseMapFile(content)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, e := range entries {
			if e.Key == "" || strings.ContainsAny(e.Key, " \t\r\n") {
				t.Fatalf("bad key %q", e.Key)
			}
			if e.Value != strings.Trim(e.Value, " \t") || strings.ContainsAny(e.Value, "\r\n") {
				t.Fatalf("untrimmed value %q", e.Value)
			}
			if strings.HasPrefix(e.Key, "#") {
				b.WriteByte(' ') // a '#' in column 1 starts a comment
			}
			b.WriteString(e.Key + " " + e.Value + "\n")
		}
		again, _ := ParseMapFile(b.String())
		if len(again) != len(entries) {
			t.Fatalf("%d entries, %d after rewriting", len(entries), len(again))
		}
		for i := range again {
			if again[i].Key != entries[i].Key || again[i].Value != entries[i].Value {
				t.Fatalf("entry %d: %q %q became %q %q", i, entries[i].Key, entries[i].Value, again[i].Key, again[i].Value)
			}
		}
		for _, m := range []Match{MatchStr, MatchBeg, MatchIP, MatchInt, MatchReg} {
			_, _ = ParseMap(content, m, TypeStr) // must not panic
		}
	})
}

// FuzzPatternFile: patterns are never empty, never start with a blank,
// and re-read the same when written one per line.
func FuzzPatternFile(f *testing.F) {
	for _, s := range []string{"a\n", "#c\n  b c  \n", "\t#x\r\n", "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		lines := ParsePatternFile(content)
		var b strings.Builder
		for _, l := range lines {
			if l.Text == "" || l.Text[0] == ' ' || l.Text[0] == '\t' || strings.ContainsAny(l.Text, "\r\n") {
				t.Fatalf("bad pattern %q", l.Text)
			}
			if strings.HasPrefix(l.Text, "#") {
				b.WriteByte(' ')
			}
			b.WriteString(l.Text + "\n")
		}
		again := ParsePatternFile(b.String())
		if len(again) != len(lines) {
			t.Fatalf("%d patterns, %d after rewriting", len(lines), len(again))
		}
		for i := range again {
			if again[i].Text != lines[i].Text {
				t.Fatalf("pattern %d: %q became %q", i, lines[i].Text, again[i].Text)
			}
		}
	})
}
