package rules

import (
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The test vectors of "Unix crypt using SHA-256 and SHA-512" (Drepper),
// also what `openssl passwd -5/-6` writes.
func TestSHACryptVectors(t *testing.T) {
	for _, tc := range []struct{ setting, key, want string }{
		{"$5$saltstring", "Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"$5$rounds=10000$saltstringsaltstring", "Hello world!", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
		{"$5$rounds=5000$toolongsaltstring", "This is just a test", "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"},
		{"$5$rounds=1400$anotherlongsaltstring", "a very much longer text to encrypt.  This one even stretches over morethan one line.", "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1"},
		{"$5$rounds=10$roundstoolow", "the minimum number is still observed", "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"},
		{"$6$saltstring", "Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"$6$rounds=10000$saltstringsaltstring", "Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
		{"$6$rounds=5000$toolongsaltstring", "This is just a test", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
		{"$6$rounds=10$roundstoolow", "the minimum number is still observed", "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
	} {
		got, err := shaCrypt([]byte(tc.key), tc.setting)
		if err != nil || got != tc.want {
			t.Errorf("shaCrypt(%q, %q) = %q, %v\n want %q", tc.key, tc.setting, got, err, tc.want)
		}
		if !shaCryptVerify([]byte(tc.key), tc.want) || shaCryptVerify([]byte(tc.key+"x"), tc.want) {
			t.Errorf("verify %q: wrong answer", tc.want)
		}
	}
}

// libxcrypt refuses rounds below 1000 (crypt returns "*0"), so HAProxy on
// Debian never accepts such a hash; neither does tandem.
func TestSHACryptRefusesTooFewRounds(t *testing.T) {
	h, _ := shaCrypt([]byte("x"), "$6$rounds=999$salt")
	low := strings.Replace(h, "rounds=1000", "rounds=999", 1)
	if shaCryptVerify([]byte("x"), low) {
		t.Errorf("%s accepted", low)
	}
}

func basic(user, pass string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestHTTPAuthWithUserlists(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte("bpass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	y := `
    acls:
      ok: http_auth(admins)
      ops: http_auth_group(admins) ops
    http_request:
      - auth realm Admins unless ok
      - auth if { path /ops } !ops
      - set-header X-User %[http_auth_user]
` // rest below
	rest := `
userlists:
  - name: admins
    users:
      - {name: six, password: "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"}
      - {name: five, password: "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", groups: [ops]}
      - {name: bc, password: "` + string(bc) + `"}
      - {name: plain, insecure_password: "p w"}
    groups:
      - {name: ops, users: [plain]}
`
	p := prog(t, y, rest)
	for _, tc := range []struct {
		path, auth string
		status     int
		realm      string
	}{
		{"/", "", 401, `Basic realm="Admins"`},
		{"/", basic("six", "Hello world!"), 0, ""},
		{"/", basic("six", "Hello world"), 401, `Basic realm="Admins"`},
		{"/", basic("five", "Hello world!"), 0, ""},
		{"/", basic("bc", "bpass"), 0, ""},
		{"/", basic("bc", "bpas"), 401, `Basic realm="Admins"`},
		{"/", basic("plain", "p w"), 0, ""},
		{"/", basic("nobody", "x"), 401, `Basic realm="Admins"`},
		{"/", "Authorization: Bearer abc", 401, `Basic realm="Admins"`},
		// The second auth has no realm: the section's name (http_act.c).
		{"/ops", basic("six", "Hello world!"), 401, `Basic realm="web"`},
		{"/ops", basic("five", "Hello world!"), 0, ""},
		{"/ops", basic("plain", "p w"), 0, ""},
	} {
		var req *head
		if tc.auth == "" {
			req = newReq("GET", tc.path)
		} else {
			req = newReq("GET", tc.path, tc.auth)
		}
		r := p.serve(t, req, plainConn, nil)
		if r.reply.Status != tc.status || r.reply.field("WWW-Authenticate") != tc.realm {
			t.Errorf("%s %q: %d %q, want %d %q", tc.path, tc.auth, r.reply.Status, r.reply.field("WWW-Authenticate"), tc.status, tc.realm)
		}
		if tc.status == 401 && !r.reply.ErrorPage {
			t.Errorf("%s %q: the 401 is the error page", tc.path, tc.auth)
		}
		if tc.status == 0 {
			user, _, _ := strings.Cut(strings.TrimPrefix(tc.auth, "Authorization: Basic "), ":")
			if dec, _ := base64.StdEncoding.DecodeString(user); !strings.HasPrefix(string(dec), req.get("X-User")) || req.get("X-User") == "" {
				t.Errorf("%s: X-User %q", tc.path, req.get("X-User"))
			}
		}
	}
}

// An errorfile for 401 is used, its own WWW-Authenticate replaced.
func TestAuthUsesThe401Errorfile(t *testing.T) {
	p := prog(t, `
    http_request: [auth realm R]
    errorfiles: {401: e401}
`, `
files:
  e401: "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest x\r\nX-Page: custom\r\n\r\nlogin\n"
`)
	r := p.serve(t, newReq("GET", "/"), plainConn, nil)
	if r.reply.ErrorPage || string(r.reply.Body) != "login\n" || r.reply.field("X-Page") != "custom" || r.reply.field("WWW-Authenticate") != `Basic realm="R"` {
		t.Errorf("reply %+v", r.reply)
	}
}
