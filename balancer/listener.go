package balancer

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// listener is one bound address. It outlives config swaps while some
// frontend binds the same address.
type listener struct {
	key    string
	ln     net.Listener
	closed atomic.Bool
	done   chan struct{}
	once   sync.Once
}

func newListener(key string, ln net.Listener) *listener {
	return &listener{key: key, ln: ln, done: make(chan struct{})}
}

// close stops accepting; accepted connections are not touched.
func (l *listener) close() {
	l.once.Do(func() {
		l.closed.Store(true)
		close(l.done)
		l.ln.Close()
	})
}

// acceptLoop accepts until the listener is closed. Each connection first
// takes a slot of the global and the frontend maxconn; while either is
// full, clients wait in the kernel's accept queue.
func (b *Balancer) acceptLoop(l *listener) {
	defer b.wg.Done()
	var backoff time.Duration
	for {
		fe := b.cur.Load().byAddr[l.key]
		if fe == nil || l.closed.Load() {
			return
		}
		if !b.global.wait(l.done) {
			return
		}
		if !fe.rt.lim.wait(l.done) {
			b.global.release()
			return
		}
		conn, err := l.ln.Accept()
		if err != nil {
			fe.rt.lim.release()
			b.global.release()
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, as net/http.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			b.log.Warn("accept failed", "addr", l.key, "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-l.done:
				return
			}
			continue
		}
		backoff = 0
		cc := b.newClientConn(conn, l, fe.rt.lim)
		b.wg.Add(1)
		go b.serveConn(cc)
	}
}

// limiter is a counting semaphore whose size can change at runtime.
type limiter struct {
	max  atomic.Int64 // <= 0: unlimited
	cur  atomic.Int64
	wake chan struct{}
}

func newLimiter(n int) *limiter {
	l := &limiter{wake: make(chan struct{}, 1)}
	l.max.Store(int64(n))
	return l
}

func (l *limiter) setMax(n int) {
	l.max.Store(int64(n))
	l.signal()
}

func (l *limiter) tryAcquire() bool {
	for {
		m, c := l.max.Load(), l.cur.Load()
		if m > 0 && c >= m {
			return false
		}
		if l.cur.CompareAndSwap(c, c+1) {
			return true
		}
	}
}

// wait takes a slot, blocking until one is free or done is closed.
func (l *limiter) wait(done <-chan struct{}) bool {
	for !l.tryAcquire() {
		t := time.NewTimer(100 * time.Millisecond) // several waiters share one wake-up
		select {
		case <-l.wake:
		case <-t.C:
		case <-done:
			t.Stop()
			return false
		}
		t.Stop()
	}
	return true
}

func (l *limiter) release() {
	l.cur.Add(-1)
	l.signal()
}

func (l *limiter) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// connSet tracks client connections so Run can drain and close them.
type connSet struct {
	mu sync.Mutex
	m  map[*clientConn]struct{}
}

func (s *connSet) add(c *clientConn) {
	s.mu.Lock()
	s.m[c] = struct{}{}
	s.mu.Unlock()
}

func (s *connSet) remove(c *clientConn) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

// closeIdle closes the connections that are between requests and returns
// how many connections remain open.
func (s *connSet) closeIdle() int {
	for _, c := range s.list() {
		c.closeIfIdle()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *connSet) closeAll() {
	for _, c := range s.list() {
		c.forceClose()
	}
}

// list is a copy of the set: closing a parked connection removes it from
// the set, which must not be locked then.
func (s *connSet) list() []*clientConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*clientConn, 0, len(s.m))
	for c := range s.m {
		out = append(out, c)
	}
	return out
}
