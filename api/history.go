package api

import (
	"context"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/balancer"
)

// History keeps this node's last 15 minutes of traffic in memory, in
// slots of HistoryStep aligned on the wall clock (so the slots of every
// node line up and the dashboard can add them): per frontend, backend and
// server the requests, errors and response-time histogram of each slot,
// and who held each VIP. It is a fixed-size ring: memory does not grow
// with time, only with the number of objects.
type History struct {
	stats  StatsSource
	status StatusSource
	now    func() time.Time

	mu     sync.Mutex
	first  int64 // the first slot with traffic recorded (the one after the baseline)
	last   int64 // slot index (unix time / step) of the newest slot, 0 before the first
	prev   map[string]point
	series map[string]*ring
	vips   map[string]*vipRing
}

// History's geometry.
const (
	HistoryStep  = 5 * time.Second
	HistorySlots = 180 // 15 minutes
)

// point is one object's counters at the last sample.
type point struct {
	req, errs uint64
	rt        balancer.Histogram
}

// ring is one object's slots, indexed by slot % HistorySlots.
type ring struct {
	slot [HistorySlots]int64 // which slot each cell holds
	req  [HistorySlots]uint32
	errs [HistorySlots]uint32
	rt   [HistorySlots][balancer.NumLatencyBuckets]uint32
}

type vipRing struct {
	slot   [HistorySlots]int64
	holder [HistorySlots]string
}

// NewHistory records stats and the VIP holders from status; it samples
// nothing until Run (or Sample).
func NewHistory(stats StatsSource, status StatusSource) *History {
	return &History{stats: stats, status: status, now: time.Now, series: map[string]*ring{}, vips: map[string]*vipRing{}}
}

// Run samples at every slot boundary until ctx is done.
func (h *History) Run(ctx context.Context) error {
	h.Sample(h.now())
	for {
		now := h.now()
		next := now.Truncate(HistoryStep).Add(HistoryStep)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		h.Sample(h.now())
	}
}

// Sample records the counters at now: the traffic since the previous
// sample goes to now's slot (the first sample only sets the baseline).
func (h *History) Sample(now time.Time) {
	st := h.stats.Stats()
	var vips []VIPStatus
	if h.status != nil {
		vips = h.status.Status().VIPs
	}
	cur := map[string]point{}
	for _, f := range st.Frontends {
		cur["f/"+f.Name] = point{req: f.Requests, errs: f.Responses[4]}
	}
	for _, b := range st.Backends {
		cur["b/"+b.Name] = point{req: b.Requests, errs: backendErrors(st, b.Name), rt: b.ResponseTime}
	}
	for _, s := range st.Servers {
		cur["s/"+s.Key.String()] = point{req: s.Requests, errs: serverErrors(s.Counters), rt: s.ResponseTime}
	}
	slot := now.Unix() / int64(HistoryStep/time.Second)
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, p := range cur {
		q, ok := h.prev[k]
		if !ok || h.prev == nil || p.req < q.req || p.rt.Count() < q.rt.Count() {
			continue // new object, or counters reset (a new runtime): baseline only
		}
		r := h.series[k]
		if r == nil {
			r = &ring{}
			h.series[k] = r
		}
		r.add(slot, p, q)
	}
	for k := range h.series {
		if _, ok := cur[k]; !ok {
			delete(h.series, k) // the object left the config
		}
	}
	for _, v := range vips {
		r := h.vips[v.Name]
		if r == nil {
			r = &vipRing{}
			h.vips[v.Name] = r
		}
		i := slot % HistorySlots
		r.slot[i], r.holder[i] = slot, v.Holder
	}
	if h.prev != nil && h.first == 0 {
		h.first = slot
	}
	h.prev, h.last = cur, slot
}

// add adds the traffic between q and p to slot.
func (r *ring) add(slot int64, p, q point) {
	i := slot % HistorySlots
	if r.slot[i] != slot {
		r.slot[i], r.req[i], r.errs[i], r.rt[i] = slot, 0, 0, [balancer.NumLatencyBuckets]uint32{}
	}
	r.req[i] += uint32(p.req - q.req)
	if p.errs >= q.errs {
		r.errs[i] += uint32(p.errs - q.errs)
	}
	d := p.rt.Sub(q.rt)
	for b, n := range d.Counts {
		r.rt[i][b] += uint32(n)
	}
}

// serverErrors counts what the dashboard calls errors: failed
// connections, failed responses and 5xx answers.
func serverErrors(c balancer.Counters) uint64 {
	return c.ConnectErrors + c.ResponseErrors + c.Responses[4]
}

func backendErrors(st balancer.Stats, backend string) uint64 {
	var n uint64
	for _, s := range st.Servers {
		if s.Key.Backend == backend {
			n += serverErrors(s.Counters)
		}
	}
	for _, b := range st.Backends {
		if b.Name == backend {
			n += b.ConnectErrors + b.ResponseErrors // requests no server took (503)
		}
	}
	return n
}

// Series is a node's (or the cluster's) history: for each object
// ("f/NAME", "b/NAME", "s/BACKEND/SERVER") the slots ending at Last, oldest
// first, and for each VIP its holder per slot.
type Series struct {
	Step int64 `json:"step"` // seconds
	Last int64 `json:"last"` // slot index of the last element: unix time / step
	// Since is the first slot with data (0: none yet): earlier slots are
	// unknown, not idle.
	Since   int64                 `json:"since"`
	Objects map[string]ObjectData `json:"objects"`
	VIPs    map[string][]string   `json:"vips,omitempty"`
}

// ObjectData are one object's slots (len HistorySlots each).
type ObjectData struct {
	Req  []uint32   `json:"req"`
	Errs []uint32   `json:"errs"`
	RT   [][]uint32 `json:"rt"` // per slot, bucket counts (nil: none)
}

// Series returns this node's history, the last slot being the newest
// sampled.
func (h *History) Series() Series {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Series{Step: int64(HistoryStep / time.Second), Last: h.last, Since: h.first, Objects: map[string]ObjectData{}, VIPs: map[string][]string{}}
	if h.last == 0 {
		return s
	}
	first := h.last - HistorySlots + 1
	for k, r := range h.series {
		d := ObjectData{Req: make([]uint32, HistorySlots), Errs: make([]uint32, HistorySlots), RT: make([][]uint32, HistorySlots)}
		for j := range HistorySlots {
			slot := first + int64(j)
			i := slot % HistorySlots
			if r.slot[i] != slot {
				continue
			}
			d.Req[j], d.Errs[j] = r.req[i], r.errs[i]
			if r.req[i] > 0 {
				d.RT[j] = append([]uint32(nil), r.rt[i][:]...)
			}
		}
		s.Objects[k] = d
	}
	for name, r := range h.vips {
		holders := make([]string, HistorySlots)
		for j := range HistorySlots {
			slot := first + int64(j)
			if i := slot % HistorySlots; r.slot[i] == slot {
				holders[j] = r.holder[i]
			}
		}
		s.VIPs[name] = holders
	}
	return s
}

// MergeSeries adds the nodes' series slot by slot (aligned on slot
// indexes); the VIP holders are the first series' (the serving node's).
func MergeSeries(all []Series) Series {
	out := Series{Step: int64(HistoryStep / time.Second), Objects: map[string]ObjectData{}}
	for _, s := range all {
		out.Last = max(out.Last, s.Last)
		if s.Since != 0 && (out.Since == 0 || s.Since < out.Since) {
			out.Since = s.Since
		}
	}
	for n, s := range all {
		if n == 0 {
			out.VIPs = s.VIPs
		}
		shift := out.Last - s.Last // slots s lags behind
		for k, d := range s.Objects {
			o, ok := out.Objects[k]
			if !ok {
				o = ObjectData{Req: make([]uint32, HistorySlots), Errs: make([]uint32, HistorySlots), RT: make([][]uint32, HistorySlots)}
			}
			for j := range d.Req {
				t := int64(j) - shift
				if t < 0 || t >= HistorySlots {
					continue
				}
				o.Req[t] += d.Req[j]
				if j < len(d.Errs) {
					o.Errs[t] += d.Errs[j]
				}
				if j < len(d.RT) && d.RT[j] != nil {
					if o.RT[t] == nil {
						o.RT[t] = make([]uint32, balancer.NumLatencyBuckets)
					}
					for b := range min(len(d.RT[j]), balancer.NumLatencyBuckets) {
						o.RT[t][b] += d.RT[j][b]
					}
				}
			}
			out.Objects[k] = o
		}
	}
	return out
}
