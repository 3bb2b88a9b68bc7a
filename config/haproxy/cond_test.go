package haproxy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// condEnv is A=1, B=2, EMPTY set but empty, WITH_SSL=yes.
func condEnv(name string) (string, bool) {
	v, ok := map[string]string{"A": "1", "B": "2", "EMPTY": "", "WITH_SSL": "yes"}[name]
	return v, ok
}

// condCases are .if conditions and what HAProxy 2.6.12 makes of them with
// condEnv; TestConditionsAgainstHAProxy checks each with Debian's haproxy.
var condCases = []struct {
	cond string
	want bool
}{
	{"1", true}, {"0", false}, {"2", true}, {"", false}, {`""`, false}, {"!0", true}, {"!1", false},
	{`"${A}"`, true}, {`"${NOPE}"`, false}, {`"${EMPTY}"`, false},
	{"defined(A)", true}, {"defined(EMPTY)", true}, {"defined(NOPE)", false}, {"!defined(NOPE)", true},
	{"defined( A )", false}, // the argument is " A "
	{"defined(A) && defined(B)", true}, {"defined(A) && defined(NOPE)", false},
	{"defined(NOPE) || defined(B)", true}, {"0 || 1 && 0", false}, {"1 || 0 && 0", true},
	{"(0 || 1) && 1", true}, {"!(1 && 0)", true},
	{"streq(a,a)", true}, {"streq(a,b)", false}, {`streq("$WITH_SSL",yes)`, true},
	{`streq("a b","a b")`, true}, {`streq("a b",ab)`, false}, {`strneq("$A",1)`, false}, {"strneq(a,b)", true},
	{`streq(\"a,b\",a)`, false},
	{"feature(OPENSSL)", true}, {"feature(LUA)", true}, {"feature(QUIC)", false}, {"feature(ZLIB)", false},
	{"feature(OPENSSL) && (streq(\"$WITH_SSL\",yes) || streq(\"$SSL_ONLY\",yes))", true},
	{"version_atleast(2.6)", true}, {"version_atleast(2.6.12)", true}, {"version_atleast(2.6.13)", false},
	{"version_atleast(2.4-dev19)", true}, {"version_atleast(2.6-dev1)", true}, {"version_atleast(2.7-dev0)", false},
	{"version_atleast(3)", false}, {"version_before(2.7)", true}, {"version_before(2.6.12)", false},
	{"version_before(2.6.13)", true}, {"version_before(2)", false},
}

// TestConditions evaluates .if conditions (configuration.txt 2.4).
func TestConditions(t *testing.T) {
	for _, tc := range condCases {
		cfg := "global\n.if " + tc.cond + "\n  .notice yes\n.else\n  .notice no\n.endif\n"
		_, warns, errs := translateCfg(cfg, Options{Env: condEnv})
		if len(errs) > 0 {
			t.Errorf(".if %s: %v", tc.cond, errs)
			continue
		}
		want := "notice: no"
		if tc.want {
			want = "notice: yes"
		}
		if len(warns) != 1 || warns[0].Msg != want {
			t.Errorf(".if %s: %q, want %q", tc.cond, warnStrings(warns), want)
		}
	}
}

func TestConditionalBlocks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   string
		warns []string
		errs  []string
	}{
		{name: "elif chain takes the first true branch",
			cfg:   "global\n.if 0\n .notice a\n.elif 1\n .notice b\n.elif 1\n .notice c\n.else\n .notice d\n.endif\n",
			warns: []string{"5: notice: b"}},
		{name: "else when nothing matched",
			cfg:   "global\n.if 0\n .notice a\n.elif defined(NOPE)\n .notice b\n.else\n .notice d\n.endif\n",
			warns: []string{"7: notice: d"}},
		{name: "nested blocks inside a skipped one stay skipped",
			cfg:   "global\n.if 0\n .if 1\n  .notice a\n .else\n  .notice b\n .endif\n.else\n .notice c\n.endif\n",
			warns: []string{"9: notice: c"}},
		{name: "a skipped block's conditions are not evaluated",
			cfg: "global\n.if 0\n .if nope(1)\n .endif\n.elif 1\n.elif nope(2)\n.endif\n"},
		{name: "directives in a skipped block are not read",
			cfg: "global\n.if 0\n  frobnicate\n  maxconn x\n.endif\n  maxconn 10\n"},
		{name: "quotes and escapes are still read in a skipped block",
			cfg: "global\n.if 0\n  foo \"open\n.endif\n", errs: []string{`3: unterminated " quote`}},
		{name: "warning and alert",
			cfg:   "global\n.warning \"look\"\n.alert \"stop\"\n.diag \"only with -dD\"\n",
			warns: []string{"2: look"}, errs: []string{"3: alert: stop"}},
		{name: "messages in a skipped block",
			cfg: "global\n.if 0\n.alert \"no\"\n.endif\n"},
		{name: "message with spaces unquoted",
			cfg: "global\n.notice a b\n", errs: []string{"2: '.notice' wants one message: use quotes"}},
		{name: "lone else, elif and endif",
			cfg:  "global\n.else\n.elif 1\n.endif\n",
			errs: []string{"2: lone '.else'", "3: lone '.elif'", "4: lone '.endif'"}},
		{name: "else after else", cfg: "global\n.if 1\n.else\n.else\n.endif\n",
			errs: []string{"4: '.else' after '.else' is not permitted"}},
		{name: "elif after else", cfg: "global\n.if 1\n.else\n.elif 1\n.endif\n",
			errs: []string{"4: '.elif' after '.else' is not permitted"}},
		{name: "missing endif", cfg: "global\n.if 1\n.if 0\n.endif\n",
			errs: []string{"2: '.if' without a matching '.endif'"}},
		{name: "unknown directive", cfg: "global\n.include x.cfg\n",
			errs: []string{"2: unknown directive '.include'"}},
		{name: "enabled() is not in HAProxy 2.6", cfg: "global\n.if enabled(POLL)\n.endif\n",
			errs: []string{`2: '.if enabled(POLL)': unknown predicate "enabled(POLL)" at position 1 (HAProxy 2.6 has defined`}},
		{name: "garbage after the expression", cfg: "global\n.if streq(a,a)streq(b,b)\n.endif\n",
			errs: []string{"2: '.if streq(a,a)streq(b,b)': unexpected character 's' at position 11"}},
		{name: "predicate without parentheses", cfg: "global\n.if defined\n.endif\n",
			errs: []string{"2: '.if defined': defined wants arguments in parentheses"}},
		{name: "wrong argument count", cfg: "global\n.if streq(a)\n.endif\n",
			errs: []string{"2: '.if streq(a)': streq() takes 2 argument(s), got 1"}},
		{name: "unclosed parentheses", cfg: "global\n.if (1\n.endif\n.if defined(A\n.endif\n",
			errs: []string{"2: '.if (1': missing ')'", "4: '.if defined(A': missing ')' at the end"}},
		{name: "bad version", cfg: "global\n.if version_atleast(two)\n.endif\n.if version_before(2.6-beta1)\n.endif\n",
			errs: []string{`2: '.if version_atleast(two)': invalid version "two"`, `4: '.if version_before(2.6-beta1)': invalid version "2.6-beta1"`}},
		{name: "blocks select sections and lines",
			cfg:   "global\n.if defined(A)\nfrontend f\n  bind :80\n.else\nfrontend g\n  bind :81\n.endif\n  maxconn 5\n",
			warns: []string{"3: frontend 'f' has no timeout client"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, warns, errs := translateCfg(tc.cfg, Options{Env: condEnv})
			checkPrefixes(t, "warnings", warnStrings(warns), tc.warns, true)
			checkPrefixes(t, "errors", errStrings(errs), tc.errs, false)
		})
	}
}

func TestCompareVersion(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"2.6.12", "2.6.12", 0}, {"2.6", "2.6.0", 0}, {"2.6.0.0", "2.6", 0}, {"2.6.12", "2.6.9", 1},
		{"2.6.12", "2.10", -1}, {"2.6-dev1", "2.6", -1}, {"2.6-rc1", "2.6-dev9", 1}, {"2.6-pre2", "2.6-rc1", -1},
		{"2.6", "2.6-rc9", 1}, {"3", "2.99.99", 1},
	} {
		got, err := compareVersion(tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("compareVersion(%s, %s) = %d, %v; want %d", tc.a, tc.b, got, err, tc.want)
		}
	}
	if got, _ := parseVersion(HAProxyVersion); !cmp.Equal(got, [6]int{2, 6, 12, 0, 3, 0}) || !strings.HasPrefix(HAProxyVersion, "2.6") {
		t.Errorf("HAProxyVersion %s = %v", HAProxyVersion, got)
	}
}
