package cluster

import (
	"crypto/tls"
	"net"

	"golang.org/x/sys/unix"
)

// allAcked tells whether the peer's kernel has acknowledged everything
// sent on conn (TCP_INFO: nothing unacknowledged). ok is false when conn
// is no TCP connection or the kernel does not say.
func allAcked(conn net.Conn) (acked, ok bool) {
	if tc, isTLS := conn.(*tls.Conn); isTLS {
		conn = tc.NetConn()
	}
	tcp, isTCP := conn.(*net.TCPConn)
	if !isTCP {
		return false, false
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return false, false
	}
	var info *unix.TCPInfo
	var serr error
	if err := raw.Control(func(fd uintptr) {
		info, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || serr != nil {
		return false, false
	}
	return info.Unacked == 0, true
}
