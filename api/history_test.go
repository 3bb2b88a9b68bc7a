package api

import (
	"testing"
	"time"

	"github.com/tandem-lb/tandem/balancer"
)

func TestHistorySlotsOnTheWallClock(t *testing.T) {
	st := &balancer.Stats{Servers: []balancer.ServerStats{{Key: key("web", "s1"), Counters: balancer.Counters{Requests: 100}}}}
	status := Status{VIPs: []VIPStatus{{Name: "front", Holder: "lb1"}}}
	h := NewHistory(fixedStats{st}, fakeStatus{status})
	t0 := time.Unix(1_800_000_000, 0)
	h.Sample(t0) // the baseline: 100 requests before the history began count nowhere
	if s := h.Series(); s.Since != 0 || s.Objects["s/web/s1"].Req != nil {
		t.Fatalf("after the baseline: since %d, objects %v", s.Since, s.Objects)
	}
	st.Servers[0].Requests += 7
	h.Sample(t0.Add(HistoryStep))
	st.Servers[0].Requests = 3 // a new runtime (config change): counters restarted
	h.Sample(t0.Add(2 * HistoryStep))
	st.Servers[0].Requests += 4
	h.Sample(t0.Add(3 * HistoryStep))
	s := h.Series()
	d := s.Objects["s/web/s1"]
	if s.Last != t0.Add(3*HistoryStep).Unix()/5 || s.Since != s.Last-2 {
		t.Errorf("last %d since %d", s.Last, s.Since)
	}
	if got := d.Req[HistorySlots-3:]; got[0] != 7 || got[1] != 0 || got[2] != 4 {
		t.Errorf("last three slots %v, want [7 0 4]: a restart must not count as a huge or negative delta", got)
	}
	if holders := s.VIPs["front"]; holders[HistorySlots-1] != "lb1" {
		t.Errorf("VIP holder of the last slot %q", holders[HistorySlots-1])
	}
	// A slot reused after 15 minutes starts from zero.
	st.Servers[0].Requests += 1
	h.Sample(t0.Add((3 + HistorySlots) * HistoryStep))
	if d := h.Series().Objects["s/web/s1"]; d.Req[HistorySlots-1] != 1 || d.Req[HistorySlots-2] != 0 {
		t.Errorf("after 15 minutes: last slots %v", d.Req[HistorySlots-2:])
	}
	st.Servers = nil // the server left the config
	h.Sample(t0.Add((4 + HistorySlots) * HistoryStep))
	if _, ok := h.Series().Objects["s/web/s1"]; ok {
		t.Error("a removed server keeps its history")
	}
}
