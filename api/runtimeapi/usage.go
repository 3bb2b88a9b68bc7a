package runtimeapi

import (
	"math"
	"sort"
	"strings"
)

// HAProxy's limits for the usage message (CLI_PREFIX_KW_NB, CLI_MAX_MATCHES).
const (
	prefixWords = 5
	maxMatches  = 5
)

// alwaysListed ends every usage message (help, prompt and quit have no
// usage line of their own).
const alwaysListed = "  help [<command>]                        : list matching or all commands\n" +
	"  prompt                                  : toggle interactive mode with prompt\n" +
	"  quit                                    : disconnect\n"

// usage is HAProxy's cli_gen_usage_msg over tandem's command table: for
// "help ARGS" (help true) or an unknown command ARGS, the commands whose
// leading words match ARGS exactly, or when ARGS go on past the longest
// exact match, the closest ones by HAProxy's word-fingerprint distance.
func usage(args []string, help bool) string {
	length := 0 // the most leading words any keyword matches exactly
	for _, kw := range keywords {
		for i := 0; i < len(kw.words) && i < prefixWords && arg(args, i) != "" && kw.words[i] == args[i]; i++ {
			length = max(length, i+1)
		}
	}
	var b strings.Builder
	switch {
	case help:
		b.WriteString("The following commands are valid at this level:\n")
	case length == 0 && arg(args, 0) == "":
		b.WriteString("Unknown command. Please enter one of the following commands only:\n")
	default:
		b.WriteString("Unknown command, but maybe one of the following ones is a better match:\n")
	}
	entries := closest(args, length)
	if entries == nil {
		for _, kw := range keywords {
			if kw.usage != "" && prefixMatches(kw, args, length) {
				entries = append(entries, kw.usage)
			}
		}
	}
	sort.Strings(entries)
	for _, e := range entries {
		b.WriteString("  ")
		b.WriteString(e)
		b.WriteString("\n")
	}
	b.WriteString(alwaysListed)
	return b.String()
}

// prefixMatches: kw's first length words are args' first length words.
func prefixMatches(kw keyword, args []string, length int) bool {
	for i := 0; i < length; i++ {
		if i >= len(kw.words) || arg(args, i) == "" || kw.words[i] != args[i] {
			return false
		}
	}
	return true
}

// closest returns the usage lines of the keywords closest to args past
// their first length words (nil when args stop there): the best
// maxMatches by fingerprint distance, each closer than 5/2 of the total
// length of the words compared, and none farther than 5/2 of the best.
func closest(args []string, length int) []string {
	if arg(args, length) == "" {
		return nil
	}
	type match struct {
		usage string
		dist  int
	}
	var best [maxMatches]match
	for i := range best {
		best[i].dist = math.MaxInt
	}
	var want fingerprint
	wantLen := 0
	for i := length; i < prefixWords && arg(args, i) != ""; i++ {
		want.add(args[i])
		wantLen += len(args[i])
	}
	for _, kw := range keywords {
		if kw.usage == "" || !prefixMatches(kw, args, length) || len(kw.words) < length {
			continue
		}
		var have fingerprint
		total := wantLen
		for i := length; i < prefixWords && i < len(kw.words); i++ {
			have.add(kw.words[i])
			total += len(kw.words[i])
		}
		d := want.distance(&have)
		if d >= 5*total/2 || d >= best[maxMatches-1].dist {
			continue
		}
		// Insert in order; an equal distance stays behind the earlier one.
		j := maxMatches - 1
		for j > 0 && best[j-1].dist > d {
			best[j] = best[j-1]
			j--
		}
		best[j] = match{kw.usage, d}
	}
	var out []string
	for _, m := range best {
		if m.usage == "" || m.dist > 5*best[0].dist/2 {
			break
		}
		out = append(out, m.usage)
	}
	return out
}

// fingerprint is HAProxy's word fingerprint (update_word_fingerprint): the
// counts of transitions between character classes (letters a-z as 1-26,
// digits 27, anything else and the word's ends 28), indexed 32*from+to,
// with row 0 marking which classes occur.
type fingerprint [1024]uint8

func (fp *fingerprint) add(word string) {
	from := 28
	for i := 0; i < len(word); i++ {
		c := word[i]
		var to int
		switch {
		case c >= 'a' && c <= 'z':
			to = int(c-'a') + 1
		case c >= 'A' && c <= 'Z':
			to = int(c-'A') + 1
		case c >= '0' && c <= '9':
			to = 27
		default:
			to = 28
		}
		fp[to] = 1
		fp[32*from+to]++
		from = to
	}
	fp[32*from+28]++
}

// distance is the sum of the differences between two fingerprints.
func (fp *fingerprint) distance(o *fingerprint) int {
	d := 0
	for i := range fp {
		k := int(fp[i]) - int(o[i])
		if k < 0 {
			k = -k
		}
		d += k
	}
	return d
}
