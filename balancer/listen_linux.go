package balancer

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listen binds a frontend address with two socket options:
//   - IP_FREEBIND (and IPV6_FREEBIND): a frontend bound to a virtual IP
//     listens before the VIP lands on this node and keeps listening while it
//     is elsewhere (keepalived setups need net.ipv4.ip_nonlocal_bind=1 for
//     this; the socket option needs no sysctl);
//   - SO_REUSEPORT: a restarted agent can bind while the old one drains,
//     and several local nodes (tests, one-host demos) can share a port.
func listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(network, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
				return
			}
			if network == "tcp6" {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
			} else {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}
