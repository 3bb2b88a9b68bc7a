package api

import (
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/balancer"
)

func TestDashboardShowsACMEFailures(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st := dashboardStatus()
	st.ACME = []ACMEStatus{
		{Name: "www.example.com", Error: "renew the certificate of www.example.com: connection refused", Failures: 3, NextCheck: now.Add(time.Minute)},
		{Name: "ok.example.com", NotAfter: now.Add(60 * 24 * time.Hour)},
	}
	d, err := NewDashboard(fakeStatus{st}, oneNode(balancer.Stats{}))
	if err != nil {
		t.Fatal(err)
	}
	nt := text(find(render(t, d, now), byAttr("id", "node"))[0])
	for _, want := range []string{"ACME www.example.com", "renew the certificate of www.example.com: connection refused (3 failures in a row, next try 10:01:00)"} {
		if !strings.Contains(nt, want) {
			t.Errorf("node panel lacks %q: %s", want, nt)
		}
	}
	if strings.Contains(nt, "ok.example.com") {
		t.Errorf("a name without failure is shown as one: %s", nt)
	}
}
