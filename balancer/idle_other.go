//go:build !linux

package balancer

import "net"

// waitReadable: only the Linux build waits without a buffer.
func waitReadable(net.Conn) (ok bool, err error) { return false, nil }
