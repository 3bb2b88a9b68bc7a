package rules

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/tandem-lb/tandem/config"
	crules "github.com/tandem-lb/tandem/config/rules"
)

// userlist is a compiled "userlist" section (configuration.txt 3.4).
type userlist struct {
	name   string
	users  []user
	byName map[string]int
}

type user struct {
	nameB  []byte
	hash   string // crypt(3) string; empty for an insecure password
	plain  []byte
	groups []string // the user's groups, from both the user and the group lines
}

func newUserlist(ul config.Userlist) *userlist {
	x := &userlist{name: ul.Name, byName: map[string]int{}}
	for _, u := range ul.Users {
		usr := user{nameB: []byte(u.Name), hash: u.Password, plain: []byte(u.InsecurePassword), groups: slices.Clone(u.Groups)}
		for _, g := range ul.Groups {
			if slices.Contains(g.Users, u.Name) && !slices.Contains(usr.groups, g.Name) {
				usr.groups = append(usr.groups, g.Name)
			}
		}
		x.byName[u.Name] = len(x.users)
		x.users = append(x.users, usr)
	}
	return x
}

// verify checks a password against the user's: crypt(3) SHA-256/SHA-512
// or bcrypt, or the insecure plain text, in constant time.
func (u *user) verify(pass []byte) bool {
	switch {
	case u.hash == "":
		return subtle.ConstantTimeCompare(u.plain, pass) == 1
	case strings.HasPrefix(u.hash, "$2"):
		return bcrypt.CompareHashAndPassword([]byte(u.hash), pass) == nil
	default:
		return shaCryptVerify(pass, u.hash)
	}
}

var basicScheme = []byte("basic")

// basicCredentials returns the user and password of the first
// Authorization field when it is "Basic base64(user:pass)" (HAProxy's
// get_http_auth: the scheme is case-insensitive, the first ':' splits).
func (s *State) basicCredentials() (user, pass []byte, ok bool) {
	req := s.In.Req
	if req == nil {
		return nil, nil, false
	}
	for i, n := 0, req.NumFields(); i < n; i++ {
		name, v := req.Field(i)
		if !bytes.EqualFold(name, authorizationName) {
			continue
		}
		v = bytes.TrimLeft(v, " \t")
		sp := bytes.IndexAny(v, " \t")
		if sp < 0 || !bytes.EqualFold(v[:sp], basicScheme) {
			return nil, nil, false
		}
		enc := bytes.Trim(v[sp:], " \t")
		dec := s.alloc(base64.StdEncoding.DecodedLen(len(enc)))
		m, err := base64.StdEncoding.Decode(dec, enc)
		if err != nil {
			return nil, nil, false
		}
		dec = dec[:m]
		colon := bytes.IndexByte(dec, ':')
		if colon < 0 {
			return nil, nil, false
		}
		return dec[:colon], dec[colon+1:], true
	}
	return nil, nil, false
}

var authorizationName = []byte("authorization")

// authUser returns the user of userlist ul the request authenticates as,
// checking the password once per request (bcrypt is slow by design).
func (s *State) authUser(ul int) (*user, bool) {
	if ul < 0 || ul >= len(s.auth) {
		return nil, false
	}
	if c := s.auth[ul]; c != 0 {
		if c < 0 {
			return nil, false
		}
		return &s.prog.userlists[ul].users[c-1], true
	}
	s.auth[ul] = -1
	name, pass, ok := s.basicCredentials()
	if !ok {
		return nil, false
	}
	list := s.prog.userlists[ul]
	i, ok := list.byName[string(name)]
	if !ok || !list.users[i].verify(pass) {
		return nil, false
	}
	s.auth[ul] = i + 1
	return &list.users[i], true
}

// authField implements http_auth_user, http_auth_pass and http_auth_type
// (the credentials as sent, unchecked).
func (s *State) authField(f crules.Fetch) (sample, bool) {
	if f == crules.FetchHTTPAuthType {
		if s.In.Req == nil {
			return sample{}, false
		}
		for i, n := 0, s.In.Req.NumFields(); i < n; i++ {
			if name, v := s.In.Req.Field(i); bytes.EqualFold(name, authorizationName) {
				v = bytes.TrimLeft(v, " \t")
				if sp := bytes.IndexAny(v, " \t"); sp >= 0 {
					v = v[:sp]
				}
				return strSample(v), true
			}
		}
		return sample{}, false
	}
	u, p, ok := s.basicCredentials()
	if !ok {
		return sample{}, false
	}
	if f == crules.FetchHTTPAuthUser {
		return strSample(u), true
	}
	return strSample(p), true
}

// groupIndex matches an authenticated user (http_auth_group's sample:
// the user name, with the userlist's index in i) against group names
// (http_acl.c pat_match_auth).
type groupIndex struct{ groups []string }

func (x *groupIndex) lookup(s *State, smp sample) int {
	ul := int(smp.i)
	if ul < 0 || ul >= len(s.prog.userlists) {
		return -1
	}
	list := s.prog.userlists[ul]
	i, ok := list.byName[string(smp.b)]
	if !ok {
		return -1
	}
	for k, g := range x.groups {
		if slices.Contains(list.users[i].groups, g) {
			return k
		}
	}
	return -1
}
