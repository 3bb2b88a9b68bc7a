package balancer

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// waitReadable blocks until conn has bytes to read (or EOF, an error, or
// its read deadline) while holding no buffer: the runtime's poller waits
// on the socket itself. ok is false when conn cannot wait that way (TLS):
// the caller then reads into its buffer as usual.
//
// The poller is edge-triggered: bytes already in the socket (a pipelined
// request beyond what the last read took) raise no new event. So before
// parking it peeks at the socket without blocking and waits only when
// that finds nothing.
func waitReadable(conn net.Conn) (ok bool, err error) {
	sc, isRaw := conn.(syscall.Conn)
	if !isRaw {
		return false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, nil
	}
	var one [1]byte
	woken := false
	err = rc.Read(func(fd uintptr) bool {
		if woken {
			return true // readable (or spurious: the read that follows waits)
		}
		woken = true
		_, _, perr := unix.Recvfrom(int(fd), one[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return perr != unix.EAGAIN // bytes, EOF or an error: let the read see it
	})
	return true, err
}
