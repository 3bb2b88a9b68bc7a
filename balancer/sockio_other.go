//go:build !linux

package balancer

import "net"

// sockIO: only the Linux build reads and writes sockets with raw calls.
type sockIO struct{}

func (*sockIO) raw(net.Conn) bool { return false }

func (*sockIO) Read([]byte) (int, error) { panic("balancer: raw socket I/O off Linux") }

func (*sockIO) Write([]byte) (int, error) { panic("balancer: raw socket I/O off Linux") }

func (*sockIO) WriteAwait([]byte) (int, error) { panic("balancer: raw socket I/O off Linux") }

func (*sockIO) Awaited() (bool, error) { return false, nil }
