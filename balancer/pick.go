package balancer

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

var (
	errQueueTimeout = errors.New("timed out waiting for a free server slot")
	errStopping     = errors.New("balancer is stopping")
)

// maxExclude bounds the servers a request avoids after failures
// (redispatch).
const maxExclude = 8

// pickState is one request's (or TCP connection's) choice of server. It
// lives in a pooled exchange so picking allocates nothing.
type pickState struct {
	be      *backend
	key     uint64  // hash of the client IP or URI
	sticky  *server // named by the persistence cookie or the stick table
	grp     *group
	exclude [maxExclude]*server
	nExcl   int
	okFn    func(int) bool // p.ok, bound once
	queued  bool           // the last pick waited in the queue
}

func (p *pickState) reset(be *backend, key uint64) {
	if p.okFn == nil {
		p.okFn = p.ok
	}
	p.be, p.key, p.sticky, p.grp, p.nExcl, p.queued = be, key, nil, nil, 0, false
}

func (p *pickState) ok(i int) bool {
	s := p.grp.servers[i]
	return s.routable() && s.hasSlot() && !p.excluded(s)
}

func (p *pickState) excluded(s *server) bool {
	for _, e := range p.exclude[:p.nExcl] {
		if e == s {
			return true
		}
	}
	return false
}

// avoid excludes s from the next picks (redispatch); persistence to s is
// broken too.
func (p *pickState) avoid(s *server) {
	if p.nExcl < maxExclude {
		p.exclude[p.nExcl] = s
		p.nExcl++
	}
	if p.sticky == s {
		p.sticky = nil
	}
}

// tryPick takes a slot on a server, or reports whether some server could
// take the request once a slot frees up (then the caller queues).
func (p *pickState) tryPick() (s *server, waitable bool) {
	if s := p.sticky; s != nil {
		if s.stickyOK() && !p.excluded(s) {
			if s.acquire() {
				return s, false
			}
			return nil, true
		}
		p.sticky = nil // fail over to a normal pick
	}
	for _, g := range [2]*group{&p.be.normal, &p.be.backup} {
		if !g.anyRoutable() {
			continue
		}
		p.grp = g
		for try := 0; try < 4; try++ {
			i := g.pol.Pick(p.key, p.okFn)
			if i < 0 {
				if p.nExcl == 0 {
					break
				}
				p.nExcl = 0 // every other server failed too: try them all again
				continue
			}
			if s := g.servers[i]; s.acquire() {
				return s, false
			}
		}
		return nil, true // routable servers exist but all are full
	}
	return nil, false
}

// pick chooses a server and takes one of its maxconn slots, waiting in the
// backend queue for up to timeout queue while every candidate is full.
func (b *Balancer) pick(ctx context.Context, p *pickState) (*server, error) {
	s, waitable := p.tryPick()
	p.queued = false
	if s != nil {
		return s, nil
	}
	if !waitable {
		return nil, errNoServer
	}
	p.queued = true
	q := &p.be.rt.queue
	qt := p.be.tm.queue
	if qt <= 0 {
		return nil, errQueueTimeout
	}
	timer := time.NewTimer(qt)
	defer timer.Stop()
	q.stats.queueLen.Add(1)
	defer q.stats.queueLen.Add(-1)
	if s := p.sticky; s != nil { // waiting for this server in particular
		s.stats.queueLen.Add(1)
		defer s.stats.queueLen.Add(-1)
	}
	for {
		w := q.enqueue()
		if s, waitable = p.tryPick(); s != nil || !waitable {
			q.remove(w)
			if s == nil {
				return nil, errNoServer
			}
			return s, nil
		}
		select {
		case <-w.ch:
		case <-timer.C:
			q.remove(w)
			return nil, errQueueTimeout
		case <-ctx.Done():
			q.remove(w)
			return nil, errStopping
		}
	}
}

// queue is a backend's FIFO of requests waiting for a server slot.
type queue struct {
	mu      sync.Mutex
	waiters []*waiter
	n       atomic.Int32
	stats   *counters
}

type waiter struct {
	ch    chan struct{}
	woken bool
}

func (q *queue) enqueue() *waiter {
	w := &waiter{ch: make(chan struct{})}
	q.mu.Lock()
	q.waiters = append(q.waiters, w)
	q.n.Add(1)
	q.mu.Unlock()
	return w
}

func (q *queue) remove(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w.woken {
		// It was handed a wake-up it will not use: pass it on.
		q.wakeLocked()
		return
	}
	for i, x := range q.waiters {
		if x == w {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			q.n.Add(-1)
			return
		}
	}
}

// wakeOne wakes the oldest waiter (a slot was released).
func (q *queue) wakeOne() {
	if q.n.Load() == 0 {
		return
	}
	q.mu.Lock()
	q.wakeLocked()
	q.mu.Unlock()
}

func (q *queue) wakeLocked() {
	if len(q.waiters) == 0 {
		return
	}
	w := q.waiters[0]
	q.waiters[0] = nil
	q.waiters = q.waiters[1:]
	q.n.Add(-1)
	w.woken = true
	close(w.ch)
}

// wakeAll wakes every waiter (server states changed).
func (q *queue) wakeAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.waiters) > 0 {
		q.wakeLocked()
	}
}

// stickTable maps client IPs to the server they reached (stick on src).
type stickTable struct {
	m   sync.Map     // netip.Addr → *stickEntry
	ttl atomic.Int64 // entries unused this long (ns) expire
}

type stickEntry struct {
	server string
	seen   atomic.Int64 // unix ns
}

// lookup returns the server name stuck to ip and refreshes the entry.
func (t *stickTable) lookup(ip netip.Addr, now int64) string {
	v, ok := t.m.Load(ip)
	if !ok {
		return ""
	}
	e := v.(*stickEntry)
	e.seen.Store(now)
	return e.server
}

func (t *stickTable) store(ip netip.Addr, server string, now int64) {
	e := &stickEntry{server: server}
	e.seen.Store(now)
	t.m.Store(ip, e)
}

// expire drops entries unused for longer than ttl.
func (t *stickTable) expire(now time.Time) {
	ttl := time.Duration(t.ttl.Load())
	if ttl <= 0 {
		return
	}
	limit := now.Add(-ttl).UnixNano()
	t.m.Range(func(k, v any) bool {
		if v.(*stickEntry).seen.Load() < limit {
			t.m.CompareAndDelete(k, v)
		}
		return true
	})
}
