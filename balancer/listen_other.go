//go:build !linux

package balancer

import "net"

// listen binds a frontend address (no VIP-related socket options off Linux).
func listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
