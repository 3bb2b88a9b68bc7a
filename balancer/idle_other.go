//go:build !linux

package balancer

import "net"

// idleWaiter: only the Linux build waits without a buffer.
type idleWaiter struct{}

func (*idleWaiter) wait(net.Conn) error { return nil }

func (*idleWaiter) fd() int { return -1 }

func (*idleWaiter) canWait(net.Conn) bool { return false }

func (*idleWaiter) hasBytes() bool { return false }
