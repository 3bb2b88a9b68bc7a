package haproxy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		env     bool
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
		{in: `"${HOME}/x"`, want: []string{"${HOME}/x"}, env: true},
		{in: `'${HOME}'`, want: []string{"${HOME}"}},
		{in: `trailing\`, want: []string{`trailing\`}},
		{in: `"open`, wantErr: `unterminated " quote: close it with "`},
		{in: `'open`, wantErr: `unterminated ' quote: close it with '`},
		{in: `\x4`, wantErr: `truncated \x escape: want two hex digits, e.g. \x20`},
		{in: `\xg0`, wantErr: `invalid \x escape "\\xg0": want two hex digits, e.g. \x20`},
	} {
		got, env, err := splitWords(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("splitWords(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("splitWords(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" || env != tc.env {
			t.Errorf("splitWords(%q) = %q env=%v, want %q env=%v", tc.in, got, env, tc.want, tc.env)
		}
	}
}
