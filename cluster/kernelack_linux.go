package cluster

import (
	"crypto/tls"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// sinceAck is how long ago the peer's kernel last acknowledged data sent
// on conn (TCP_INFO's last_ack_recv), or 0 when nothing is outstanding.
// ok is false when conn is no TCP connection or the kernel does not say.
func sinceAck(conn net.Conn) (ago time.Duration, ok bool) {
	if tc, isTLS := conn.(*tls.Conn); isTLS {
		conn = tc.NetConn()
	}
	tcp, isTCP := conn.(*net.TCPConn)
	if !isTCP {
		return 0, false
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info *unix.TCPInfo
	var serr error
	if err := raw.Control(func(fd uintptr) {
		info, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || serr != nil {
		return 0, false
	}
	if info.Unacked == 0 {
		return 0, true
	}
	return time.Duration(info.Last_ack_recv) * time.Millisecond, true
}
