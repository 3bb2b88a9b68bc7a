//go:build !linux

package cluster

import (
	"net"
	"time"
)

// sinceAck: only Linux tells (TCP_INFO); elsewhere the stall grace is off.
func sinceAck(net.Conn) (ago time.Duration, ok bool) { return 0, false }
