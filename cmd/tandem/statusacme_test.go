package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
)

func TestStatusPrintsACMEErrors(t *testing.T) {
	var b bytes.Buffer
	printACME(&b, []api.ACMEStatus{
		{Name: "www.example.com", NotAfter: time.Now().Add(time.Hour), Serial: "1f", Error: "renew: connection refused", Failures: 2, NextCheck: time.Now()},
		{Name: "new.example.com", NextCheck: time.Now()},
	}, painter(false))
	out := b.String()
	for _, want := range []string{"WARNING: acme www.example.com: renew: connection refused (certificate 1f until", "2 failures in a row", "acme new.example.com: no certificate yet"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
