package balancer

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockIO reads and writes a plain TCP socket with raw system calls, waiting
// in the runtime's poller as net.Conn does, deadlines included.
//
// Why: a socket's reads and writes never block (the descriptor is
// non-blocking), but net.Conn makes each one a blocking system call to the
// scheduler. On loopback a write runs the receiver's TCP processing too and
// often outlasts the scheduler monitor's 20 µs tick, so the monitor takes
// the processor away and hands it to another thread, which the writer must
// win back when the call returns: under keep-alive load that was most of
// the process's futex calls, nanosleeps and context switches. A raw call
// keeps the processor; the goroutine is still preempted as any running
// goroutine is.
//
// A sockIO is bound to one connection; timedConn rebinds it when its
// connection is replaced (TLS, an HTTP/2 stream), and those are not raw.
// Reads and writes have separate state: they may run in two goroutines.
type sockIO struct {
	conn    net.Conn // what it was bound to (nil: never bound)
	rc      syscall.RawConn
	r, w    sockOp
	awaitFn func(uintptr) bool
	stage   int   // of a WriteAwait: awaitNone, awaitPartial, awaitFailed, awaitSent
	waitErr error // how the last WriteAwait's wait ended (nil: readable)
}

// How far a WriteAwait got.
const (
	awaitNone    = iota // the callback never ran (closed, or the read deadline passed)
	awaitPartial        // the socket took part of the bytes: the rest is a plain write
	awaitFailed         // the write failed
	awaitSent           // all sent; then readable, or the wait ended
)

// sockOp is one direction's call in progress, with its callback bound once
// (waiting does not allocate).
type sockOp struct {
	fn  func(uintptr) bool
	p   []byte
	n   int
	err error
}

// bind prepares raw I/O on c when it is a TCP connection; ok is false
// otherwise (the caller uses c's own methods).
func (s *sockIO) bind(c net.Conn) (ok bool) {
	*s = sockIO{conn: c}
	tc, isTCP := c.(*net.TCPConn)
	if !isTCP {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	s.rc = rc
	s.r.fn, s.w.fn, s.awaitFn = s.r.read, s.w.write, s.await
	return true
}

// raw reports whether c can be read and written through s, binding s to c
// first when c is new to it.
func (s *sockIO) raw(c net.Conn) bool {
	if s.conn != c {
		return s.bind(c)
	}
	return s.rc != nil
}

func (s *sockIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	o := &s.r
	o.p, o.n, o.err = p, 0, nil
	err := s.rc.Read(o.fn)
	n := o.n
	if err == nil {
		err = o.err
	}
	o.p, o.err = nil, nil
	return n, err
}

func (s *sockIO) Write(p []byte) (int, error) {
	o := &s.w
	o.p, o.n, o.err = p, 0, nil
	err := s.rc.Write(o.fn)
	n := o.n
	if err == nil {
		err = o.err
	}
	o.p, o.err = nil, nil
	return n, err
}

// WriteAwait writes p and then waits until the socket is readable (or the
// read deadline), without the read that would find nothing first: for a
// request whose answer can only come after it. The poller is
// edge-triggered and forgets an earlier readiness when a read begins, so
// the bytes are sent from inside the read's callback: any answer arrives
// after that and wakes the wait. The read that follows takes the answer
// in one call. A socket that cannot take all of p at once gets the rest
// by a plain write, and no wait. Awaited says how the wait went.
func (s *sockIO) WriteAwait(p []byte) (int, error) {
	o := &s.w
	o.p, o.n, o.err = p, 0, nil
	s.stage = awaitNone
	s.waitErr = s.rc.Read(s.awaitFn) // a timeout or a close is the next read's too
	n, err := o.n, o.err
	o.p, o.err = nil, nil
	switch s.stage {
	case awaitNone, awaitPartial:
		m, err := s.Write(p[n:])
		return n + m, err
	case awaitFailed:
		return n, err
	}
	return n, nil
}

// Awaited reports whether the last WriteAwait waited (all was sent at
// once) and, if so, how the wait ended: nil when the socket became
// readable.
func (s *sockIO) Awaited() (waited bool, err error) {
	return s.stage == awaitSent, s.waitErr
}

func (s *sockIO) await(fd uintptr) bool {
	if s.stage == awaitSent {
		return true // readable (a spurious wake-up only costs the read a wait)
	}
	switch s.w.send(fd) {
	case unix.EAGAIN:
		s.stage = awaitPartial
		return true
	case 0:
		s.stage = awaitSent
		return false
	}
	s.stage = awaitFailed
	return true
}

// read is run by the poller with the socket: false asks it to wait until
// the socket is readable and call again.
func (o *sockOp) read(fd uintptr) bool {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&o.p[0])), uintptr(len(o.p)), 0, 0, 0)
		switch errno {
		case 0:
			o.n = int(n)
			if n == 0 {
				o.err = io.EOF
			}
			return true
		case unix.EAGAIN:
			return false
		case unix.EINTR:
			continue
		default:
			o.err = os.NewSyscallError("read", errno)
			return true
		}
	}
}

// write sends all of o.p, waiting for room as often as needed.
func (o *sockOp) write(fd uintptr) bool {
	return o.send(fd) != unix.EAGAIN
}

// send sends what is left of o.p until all is sent (0), the socket has no
// room (EAGAIN), or an error (o.err set). No SIGPIPE on a socket the peer
// closed: the write fails with EPIPE.
func (o *sockOp) send(fd uintptr) unix.Errno {
	for o.n < len(o.p) {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&o.p[o.n])), uintptr(len(o.p)-o.n),
			unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			o.n += int(n)
		case unix.EAGAIN:
			return errno
		case unix.EINTR:
		default:
			o.err = os.NewSyscallError("write", errno)
			return errno
		}
	}
	return 0
}

var _ io.ReadWriter = (*sockIO)(nil)
