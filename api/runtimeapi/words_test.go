package runtimeapi

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCutRequest(t *testing.T) {
	tests := []struct {
		in    string
		req   string
		n     int
		found bool
	}{
		{"show info\n", "show info", 10, true},
		{"show info\r\n", "show info", 11, true},
		{"show info;show stat\n", "show info", 10, true},
		{`set server a\;b/c state drain` + "\n", `set server a\;b/c state drain`, 30, true},
		{"show info", "", 0, false}, // no delimiter yet: HAProxy waits, and drops it at close
		{"\n", "", 1, true},
		{";", "", 1, true},
		{`a\` + "\n" + "b\n", "a\\\nb", 5, true}, // an escaped LF does not end the request
	}
	for _, tt := range tests {
		req, n, ok := cutRequest([]byte(tt.in))
		if req != tt.req || n != tt.n || ok != tt.found {
			t.Errorf("cutRequest(%q) = %q, %d, %v; want %q, %d, %v", tt.in, req, n, ok, tt.req, tt.n, tt.found)
		}
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		payload bool
	}{
		{"show stat", []string{"show", "stat"}, false},
		{"  show\t\tstat  ", []string{"show", "stat"}, false},
		{`show\ backend`, []string{"show backend"}, false},
		{`get weight servers/server\1`, []string{"get", "weight", "servers/server1"}, false},
		{`a\\b`, []string{`a\b`}, false},
		{`a\;b`, []string{"a;b"}, false},
		{`trailing\`, []string{"trailing"}, false},
		{"", nil, false},
		{"add map m <<", []string{"add", "map", "m"}, true},
		{"a <<b", []string{"a", "<<b"}, false},
	}
	for _, tt := range tests {
		got, payload := splitWords(tt.in)
		if d := cmp.Diff(tt.want, got); d != "" || payload != tt.payload {
			t.Errorf("splitWords(%q) payload=%v (-want +got):\n%s", tt.in, payload, d)
		}
	}
	many, _ := splitWords(strings.Repeat("w ", 100))
	if len(many) != maxArgs {
		t.Errorf("100 words: got %d, want HAProxy's limit %d", len(many), maxArgs)
	}
}

func TestStrtolIsCs(t *testing.T) {
	tests := []struct {
		in   string
		n    int64
		rest string
		ok   bool
	}{
		{"42", 42, "", true},
		{"  -7x", -7, "x", true},
		{"+3%", 3, "%", true},
		{"abc", 0, "abc", false},
		{"-", 0, "-", false},
		{"99999999999999999999999", 1<<63 - 1, "", true},
	}
	for _, tt := range tests {
		n, rest, ok := strtol(tt.in)
		if n != tt.n || rest != tt.rest || ok != tt.ok {
			t.Errorf("strtol(%q) = %d, %q, %v; want %d, %q, %v", tt.in, n, rest, ok, tt.n, tt.rest, tt.ok)
		}
	}
}

func TestFingerprintDistance(t *testing.T) {
	fp := func(words ...string) *fingerprint {
		var f fingerprint
		for _, w := range words {
			f.add(w)
		}
		return &f
	}
	if d := fp("stat").distance(fp("stat")); d != 0 {
		t.Errorf("distance of a word to itself = %d", d)
	}
	if a, b := fp("stats").distance(fp("stat")), fp("stats").distance(fp("backend")); a >= b {
		t.Errorf("stats→stat %d not closer than stats→backend %d", a, b)
	}
	if a, b := fp("Stat").distance(fp("backend")), fp("backend").distance(fp("Stat")); a != b {
		t.Errorf("distance not symmetric: %d, %d", a, b)
	}
}
