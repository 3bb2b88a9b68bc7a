//go:build !linux

package cluster

import "net"

// allAcked: only Linux tells (TCP_INFO); elsewhere the stall grace is off.
func allAcked(net.Conn) (acked, ok bool) { return false, false }
