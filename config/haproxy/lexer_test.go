package haproxy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testEnv(name string) (string, bool) {
	v, ok := map[string]string{"HOME": "/root", "EMPTY": "", "LIST": "a b  c", "PORT": "8080", "A_1": "x"}[name]
	return v, ok
}

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		unset   []string
		wantErr string
	}{
		{in: "", want: nil},
		{in: "   \t ", want: nil},
		{in: "# only a comment", want: nil},
		{in: "  server  s1\t10.0.0.1:80   check  ", want: []string{"server", "s1", "10.0.0.1:80", "check"}},
		{in: "balance roundrobin # comment", want: []string{"balance", "roundrobin"}},
		{in: "balance roundrobin#comment", want: []string{"balance", "roundrobin"}},
		{in: `a\ b c`, want: []string{"a b", "c"}},
		{in: `a\#b \\ \"q\" \'s\'`, want: []string{"a#b", `\`, `"q"`, "'s'"}},
		{in: `x\r\ny\tz`, want: []string{"x\r\ny\tz"}},
		{in: `\x41\x7e`, want: []string{"A~"}},
		{in: `path_reg ^/a\.b$`, want: []string{"path_reg", `^/a\.b$`}},
		{in: `"a b" 'c d'`, want: []string{"a b", "c d"}},
		{in: `"a # b" '#'`, want: []string{"a # b", "#"}},
		{in: `x"y z"w`, want: []string{"xy zw"}},
		{in: `"" ''`, want: []string{"", ""}},
		{in: `"a\"b" 'a\nb'`, want: []string{`a"b`, `a\nb`}},
		{in: `trailing\`, want: []string{`trailing\`}},
		// Environment variables (configuration.txt 2.3): only inside double quotes.
		{in: `"${HOME}/x"`, want: []string{"/root/x"}},
		{in: `"$HOME/x" "$A_1.y"`, want: []string{"/root/x", "x.y"}},
		{in: `${HOME} '${HOME}' \$HOME`, want: []string{"${HOME}", "${HOME}", "$HOME"}},
		{in: `"\${HOME} \$HOME"`, want: []string{"${HOME} $HOME"}},
		{in: `"${NOPE}" x`, want: []string{"", "x"}, unset: []string{"NOPE"}},
		{in: `"${NOPE-dflt}" "${EMPTY-dflt}"`, want: []string{"dflt", ""}},
		{in: `"${NOPE-a b}"`, want: []string{"a b"}},
		{in: `bind "${LIST[*]}"`, want: []string{"bind", "a", "b", "c"}},
		{in: `"x${LIST[*]}y"`, want: []string{"xa", "b", "cy"}},
		{in: `":${PORT}" "${HOME}'q'"`, want: []string{":8080", "/root'q'"}},
		{in: `"${.LINE}|${.FILE}|${.SECTION}"`, want: []string{"7|t.cfg|web"}},
		{in: `"open`, wantErr: `unterminated " quote: close it with "`},
		{in: `'open`, wantErr: `unterminated ' quote: close it with '`},
		{in: `\x4`, wantErr: `truncated \x escape: want two hex digits, e.g. \x20`},
		{in: `\xg0`, wantErr: `invalid \x escape "\\xg0": want two hex digits, e.g. \x20`},
		{in: `"${9x}"`, wantErr: `forbidden first char in environment variable name (write \$ for a dollar sign) at column 2`},
		{in: `"$"`, wantErr: `forbidden first char in environment variable name`},
		{in: `"a${B"`, wantErr: `unmatched brace in environment variable name at column 3`},
		{in: `"${A_1:x}"`, wantErr: `unexpected ":x" after environment variable name "A_1"`},
	} {
		env := newEnviron(testEnv, "t.cfg")
		env.line, env.section = 7, "web"
		got, unset, err := splitWords(tc.in, env.lookup)
		if tc.wantErr != "" {
			if err == nil || len(err.Error()) < len(tc.wantErr) || err.Error()[:len(tc.wantErr)] != tc.wantErr {
				t.Errorf("splitWords(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("splitWords(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" || !cmp.Equal(tc.unset, unset) {
			t.Errorf("splitWords(%q) = %q unset %q, want %q unset %q", tc.in, got, unset, tc.want, tc.unset)
		}
	}
}

// A word the importer writes into a rule reads back as the same word.
func TestQuoteWordRoundTrips(t *testing.T) {
	for _, w := range []string{"", "plain", "a b", "it's", `say "hi"`, `^/a\.b$`, "#x", "$HOME", "${X}",
		"tab\there", "cr\r\nlf", `mix 'single' "double" \ $`, "%[req.hdr(host),lower]", "{", "!{"} {
		got, _, err := splitWords(quoteWord(w), nil)
		if err != nil || len(got) != 1 || got[0] != w {
			t.Errorf("quoteWord(%q) = %s, read back as %q (%v)", w, quoteWord(w), got, err)
		}
	}
	if got := joinWords([]string{"set-header", "Cache-Control", "public, max-age=60"}); got != "set-header Cache-Control 'public, max-age=60'" {
		t.Errorf("joinWords = %s", got)
	}
}

func TestEnvironSetenv(t *testing.T) {
	e := newEnviron(testEnv, "t.cfg")
	e.setenv("PORT", "9090", false) // presetenv: already set
	e.setenv("NEW", "1", false)
	e.setenv("HOME", "/home/x", true)
	e.unsetenv("EMPTY")
	for name, want := range map[string]string{"PORT": "8080", "NEW": "1", "HOME": "/home/x"} {
		if v, ok := e.lookup(name); !ok || v != want {
			t.Errorf("%s = %q %v, want %q", name, v, ok, want)
		}
	}
	if _, ok := e.lookup("EMPTY"); ok {
		t.Error("EMPTY still set after unsetenv")
	}
	e.resetenv("HOME")
	if _, ok := e.lookup("PORT"); ok {
		t.Error("PORT still set after resetenv HOME")
	}
	if v, _ := e.lookup("HOME"); v != "/home/x" {
		t.Errorf("HOME = %q after resetenv HOME, want kept", v)
	}
}
