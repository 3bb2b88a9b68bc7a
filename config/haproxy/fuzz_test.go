package haproxy

import (
	"errors"
	"testing"

	"github.com/tandem-lb/tandem/config"
)

// FuzzParse checks that Parse never panics, that an error is always a
// config.Errors whose every entry names the file and a line, that every
// warning names a line, and that a config without errors can be validated,
// cloned and resolved.
func FuzzParse(f *testing.F) {
	f.Add(readArticle(f))
	for _, tc := range directiveCases {
		f.Add([]byte(tc.cfg))
	}
	for _, tc := range badCases {
		f.Add([]byte(tc.cfg))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Looks(data)
		c, warns, err := Parse("f.cfg", data)
		for _, w := range warns {
			if w.File != "f.cfg" || w.Line <= 0 {
				t.Errorf("warning without file:line: %#v", w)
			}
		}
		if err != nil {
			var es config.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is %T %v, want non-empty config.Errors", err, err)
			}
			for _, e := range es {
				if e.File != "f.cfg" || e.Line <= 0 {
					t.Errorf("error without file:line: %#v", e)
				}
			}
			if c != nil {
				t.Error("a cluster returned with an error")
			}
			return
		}
		if c == nil {
			t.Fatal("nil cluster without an error")
		}
		if c.Validate() == nil {
			c.Clone().Resolve()
		}
	})
}
