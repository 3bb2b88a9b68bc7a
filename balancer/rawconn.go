package balancer

import "net"

// rawTCP is a plain TCP connection read and written with raw system calls
// (sockIO) for a layer that wraps it: TLS to clients and to servers. A TLS
// record's write on loopback outlasts the scheduler monitor's tick as a
// plain write does, and net.Conn's blocking system call would lose its
// processor (sockio_linux.go). Everything else (deadlines, addresses,
// close) is the TCP connection's own.
type rawTCP struct {
	*net.TCPConn
	sio sockIO
}

// withRawIO is c for a wrapping layer: a *rawTCP when c is plain TCP,
// else c itself.
func withRawIO(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	r := &rawTCP{TCPConn: tc}
	if !r.sio.raw(tc) {
		return c
	}
	return r
}

func (c *rawTCP) Read(p []byte) (int, error) { return c.sio.Read(p) }

func (c *rawTCP) Write(p []byte) (int, error) { return c.sio.Write(p) }
