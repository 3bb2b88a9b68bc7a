package balancer

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// idleParkAfter is how long a keep-alive client connection waits for its
// next request in its own goroutine before it is parked: its socket waits
// in the parker's epoll set and its goroutine (with the stack it grew
// while serving) exits. A parked connection costs about a kilobyte
// instead of several; a client that sends its next request within this
// time (benchmarks, pipelines, busy browsers) never notices parking.
const idleParkAfter = 50 * time.Millisecond

// parker holds parked connections. One goroutine waits on the epoll set
// for the first of: a parked socket becoming readable (its connection
// resumes in a new goroutine), a keep-alive timeout (the connection
// closes), or a wake-up (a parking with an earlier deadline, or stop).
type parker struct {
	b    *Balancer
	epfd int
	evfd int // eventfd: interrupts EpollWait

	mu     sync.Mutex
	byID   map[uint64]*parked
	due    parkHeap // by deadline
	nextID uint64
	closed bool
}

// parked is one parked connection.
type parked struct {
	cc       *clientConn
	fd       int
	id       uint64
	deadline time.Time // zero: no keep-alive timeout
	idx      int       // in the heap
}

// newParker opens the epoll set; nil when it cannot (parking is then off:
// connections wait in their goroutines).
func newParker(b *Balancer) *parker {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		b.log.Warn("idle connections are not parked", "err", err)
		return nil
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err == nil {
		ev := unix.EpollEvent{Events: unix.EPOLLIN}
		err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev) // id 0: the wake-up
	}
	if err != nil {
		unix.Close(epfd)
		b.log.Warn("idle connections are not parked", "err", err)
		return nil
	}
	return &parker{b: b, epfd: epfd, evfd: evfd, byID: map[uint64]*parked{}, nextID: 1}
}

// park hands cc to the parker until it is readable or deadline passes. It
// reports false when cc cannot be parked: the caller then closes it.
func (p *parker) park(cc *clientConn, deadline time.Time) bool {
	fd := cc.idle.fd()
	if fd < 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	e := &parked{cc: cc, fd: fd, id: p.nextID, deadline: deadline}
	p.nextID++
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(e.id), Pad: int32(e.id >> 32)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return false
	}
	cc.park.Store(e)
	p.byID[e.id] = e
	first := len(p.due) == 0 || (!deadline.IsZero() && (p.due[0].deadline.IsZero() || deadline.Before(p.due[0].deadline)))
	heap.Push(&p.due, e)
	if first {
		p.wake()
	}
	return true
}

func (p *parker) wake() {
	one := [8]byte{1}
	unix.Write(p.evfd, one[:])
}

// unpark removes e (p.mu held); false if it was gone already.
func (p *parker) unparkLocked(e *parked) bool {
	if p.byID[e.id] != e {
		return false
	}
	delete(p.byID, e.id)
	heap.Remove(&p.due, e.idx)
	e.cc.park.Store(nil)
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, e.fd, nil)
	return true
}

// evict closes a parked connection now (the drain, a forced close).
func (p *parker) evict(e *parked) {
	p.mu.Lock()
	ok := p.unparkLocked(e)
	p.mu.Unlock()
	if ok {
		e.cc.finish()
	}
}

// run waits on the epoll set until ctx is done, then closes every parked
// connection. It owns the epoll set and closes it.
func (p *parker) run(ctx context.Context) {
	defer p.b.wg.Done()
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.wake()
	})
	defer stop()
	events := make([]unix.EpollEvent, 128)
	for {
		n, err := unix.EpollWait(p.epfd, events, p.timeout())
		if err != nil && err != unix.EINTR {
			p.b.log.Error("wait for parked connections", "err", err)
			break
		}
		if p.step(events[:max(n, 0)], time.Now()) {
			break
		}
	}
	p.mu.Lock()
	p.closed = true
	rest := make([]*parked, 0, len(p.byID))
	for _, e := range p.byID {
		rest = append(rest, e)
	}
	for _, e := range rest {
		p.unparkLocked(e)
	}
	p.mu.Unlock()
	for _, e := range rest {
		e.cc.finish()
	}
	unix.Close(p.evfd)
	unix.Close(p.epfd)
}

// timeout is how long EpollWait may wait: until the earliest deadline,
// at most a second.
func (p *parker) timeout() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.due) == 0 || p.due[0].deadline.IsZero() {
		return 1000
	}
	ms := time.Until(p.due[0].deadline).Milliseconds() + 1
	return int(min(max(ms, 0), 1000))
}

// step handles what EpollWait returned and the expired deadlines; it
// reports whether the parker is stopping.
func (p *parker) step(events []unix.EpollEvent, now time.Time) bool {
	var resume, expired []*parked
	p.mu.Lock()
	for _, ev := range events {
		id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
		if id == 0 {
			var buf [8]byte
			unix.Read(p.evfd, buf[:])
			continue
		}
		if e := p.byID[id]; e != nil && p.unparkLocked(e) {
			resume = append(resume, e)
		}
	}
	for len(p.due) > 0 && !p.due[0].deadline.IsZero() && !now.Before(p.due[0].deadline) {
		e := p.due[0]
		p.unparkLocked(e)
		expired = append(expired, e)
	}
	closed := p.closed
	if !closed {
		p.b.wg.Add(len(resume)) // this goroutine is counted: Wait cannot have returned
	}
	p.mu.Unlock()
	for _, e := range resume {
		if closed {
			e.cc.finish()
			continue
		}
		go p.b.resumeHTTP(e.cc)
	}
	for _, e := range expired {
		e.cc.finish() // the keep-alive timeout: closed without an answer
	}
	return closed
}

// parkHeap orders parked connections by deadline (none: last).
type parkHeap []*parked

func (h parkHeap) Len() int { return len(h) }
func (h parkHeap) Less(i, j int) bool {
	a, b := h[i].deadline, h[j].deadline
	return !a.IsZero() && (b.IsZero() || a.Before(b))
}
func (h parkHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *parkHeap) Push(x any) {
	e := x.(*parked)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *parkHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// len is the number of parked connections.
func (p *parker) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byID)
}
