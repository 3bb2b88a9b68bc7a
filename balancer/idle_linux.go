package balancer

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// idleWaiter waits for a connection to become readable while holding no
// buffer: the runtime's poller waits on the socket itself. It is set up
// once per connection (RawConn and callback bound once: waiting does not
// allocate).
//
// The poller is edge-triggered: bytes already in the socket (a pipelined
// request beyond what the last read took) raise no new event. So before
// parking it peeks at the socket without blocking and waits only when
// that finds nothing.
type idleWaiter struct {
	rc    syscall.RawConn // nil: cannot wait this way (TLS), or not set up
	fn    func(uintptr) bool
	woken bool
	tried bool
	b     [1]byte
}

// wait blocks until conn has bytes to read (or EOF, an error, or its read
// deadline). For a connection it cannot wait on (TLS) it returns at once;
// the caller then reads into its buffer as usual.
func (w *idleWaiter) wait(conn net.Conn) error {
	if !w.canWait(conn) {
		return nil
	}
	w.woken = false
	return w.rc.Read(w.fn)
}

// canWait reports whether conn can be waited on without a buffer (a
// plain socket, not TLS).
func (w *idleWaiter) canWait(conn net.Conn) bool {
	if !w.tried {
		w.tried = true
		if sc, ok := conn.(syscall.Conn); ok {
			if rc, err := sc.SyscallConn(); err == nil {
				w.rc, w.fn = rc, w.step
			}
		}
	}
	return w.rc != nil
}

func (w *idleWaiter) step(fd uintptr) bool {
	if w.woken {
		return true // readable (or spurious: the read that follows waits)
	}
	w.woken = true
	_, errno := peekFD(fd, &w.b)
	return errno != unix.EAGAIN // bytes, EOF or an error: let the read see it
}

// peekFD looks at the first byte waiting on socket fd without taking it
// and without blocking: n > 0 bytes are there, n == 0 the peer closed,
// EAGAIN nothing yet. It is recvfrom(2) without an address, which
// unix.Recvfrom would allocate, and a raw call (sockIO says why).
func peekFD(fd uintptr, b *[1]byte) (int, unix.Errno) {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	return int(n), errno
}

// hasBytes reports, without waiting, whether the socket has bytes to read
// (or the peer closed it).
func (w *idleWaiter) hasBytes() bool {
	if w.rc == nil {
		return false
	}
	var errno unix.Errno
	if err := w.rc.Control(func(fd uintptr) { _, errno = peekFD(fd, &w.b) }); err != nil {
		return false
	}
	return errno != unix.EAGAIN
}

// fd returns the socket's descriptor, or -1 when the connection cannot be
// waited on this way (TLS) or was never waited on.
func (w *idleWaiter) fd() int {
	if w.rc == nil {
		return -1
	}
	fd := -1
	if err := w.rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return -1
	}
	return fd
}
