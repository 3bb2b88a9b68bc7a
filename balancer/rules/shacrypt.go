package rules

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"hash"
	"strconv"
	"strings"
)

// SHA-crypt: the crypt(3) password hashes "$5$" (SHA-256) and "$6$"
// (SHA-512), implemented from Ulrich Drepper's published specification
// ("Unix crypt using SHA-256 and SHA-512"), whose test vectors are in
// shacrypt_test.go. HAProxy hands userlist hashes to the system's crypt(3);
// these are the two glibc formats besides the obsolete DES and MD5 ones.

const (
	shaCryptAlphabet      = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxRounds     = 999999999
	shaCryptMaxSalt       = 16
)

var errBadHash = errors.New("not a $5$ or $6$ crypt hash")

// shaCrypt computes the crypt(3) string of password for a setting
// ("$6$salt" or "$6$rounds=N$salt", a trailing "$hash" ignored).
func shaCrypt(password []byte, setting string) (string, error) {
	var newHash func() hash.Hash
	var order []int
	prefix := setting[:min(3, len(setting))]
	switch prefix {
	case "$5$":
		newHash, order = sha256.New, sha256Order
	case "$6$":
		newHash, order = sha512.New, sha512Order
	default:
		return "", errBadHash
	}
	rest := setting[3:]
	rounds, explicit := shaCryptDefaultRounds, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		n, err := strconv.ParseUint(num, 10, 64)
		if !found || err != nil {
			return "", errBadHash
		}
		rounds = int(min(max(n, shaCryptMinRounds), shaCryptMaxRounds))
		explicit, rest = true, after
	}
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > shaCryptMaxSalt {
		salt = salt[:shaCryptMaxSalt]
	}
	sum := shaCryptSum(newHash, password, []byte(salt), rounds)
	var b strings.Builder
	b.WriteString(prefix)
	if explicit {
		b.WriteString("rounds=" + strconv.Itoa(rounds) + "$")
	}
	b.WriteString(salt)
	b.WriteByte('$')
	shaCryptEncode(&b, sum, order)
	return b.String(), nil
}

// shaCryptSum is the digest computation of the specification, steps 1-21.
func shaCryptSum(newHash func() hash.Hash, key, salt []byte, rounds int) []byte {
	// Digest B: key, salt, key.
	h := newHash()
	h.Write(key)
	h.Write(salt)
	h.Write(key)
	db := h.Sum(nil)
	size := len(db)

	// Digest A: key, salt, then B for each block of the key's length, then
	// for each bit of the key's length B (1) or the key (0).
	h.Reset()
	h.Write(key)
	h.Write(salt)
	n := len(key)
	for ; n > size; n -= size {
		h.Write(db)
	}
	h.Write(db[:n])
	for n := len(key); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(db)
		} else {
			h.Write(key)
		}
	}
	da := h.Sum(nil)

	// P: digest of the key repeated len(key) times, stretched to len(key).
	h.Reset()
	for range key {
		h.Write(key)
	}
	p := stretch(h.Sum(nil), len(key))

	// S: digest of the salt repeated 16+A[0] times, stretched to len(salt).
	h.Reset()
	for i := 0; i < 16+int(da[0]); i++ {
		h.Write(salt)
	}
	s := stretch(h.Sum(nil), len(salt))

	c := da
	for i := 0; i < rounds; i++ {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}
	return c
}

func stretch(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out)+len(d) <= n {
		out = append(out, d...)
	}
	return append(out, d[:n-len(out)]...)
}

// The byte triples of the final encoding (specification step 22).
var (
	sha256Order = []int{0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28, 8, 9, 19, 29, -1, 31, 30}
	sha512Order = []int{0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8, 29, 9, 30, 51, 31, 52, 10,
		53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58, 16, 59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41, -1, -1, 63}
)

// shaCryptEncode writes the digest with crypt's base-64 alphabet, three
// bytes (4 characters) at a time in the order given; the last group is
// shorter (-1 marks a zero byte), giving 3 characters for SHA-256 and 2
// for SHA-512.
func shaCryptEncode(b *strings.Builder, sum []byte, order []int) {
	byteAt := func(i int) uint32 {
		if i < 0 {
			return 0
		}
		return uint32(sum[i])
	}
	for i := 0; i < len(order); i += 3 {
		w := byteAt(order[i])<<16 | byteAt(order[i+1])<<8 | byteAt(order[i+2])
		chars := 4
		if i+3 >= len(order) {
			chars = 3
			if len(sum) == 64 {
				chars = 2
			}
		}
		for j := 0; j < chars; j++ {
			b.WriteByte(shaCryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
}

// shaCryptVerify reports whether password matches a $5$/$6$ hash, in
// constant time over the hash's characters. A hash asking for fewer
// rounds than the minimum never matches: the specification raises them,
// but libxcrypt (Debian's crypt(3), which HAProxy calls) refuses them.
func shaCryptVerify(password []byte, stored string) bool {
	if r, ok := strings.CutPrefix(stored[min(3, len(stored)):], "rounds="); ok {
		num, _, _ := strings.Cut(r, "$")
		if n, err := strconv.Atoi(num); err != nil || n < shaCryptMinRounds {
			return false
		}
	}
	got, err := shaCrypt(password, stored)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(stored)) == 1
}
