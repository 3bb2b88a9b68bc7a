//go:build !linux

package balancer

import (
	"context"
	"time"
)

// Parking idle connections needs epoll: elsewhere they wait in their
// goroutines.
const idleParkAfter = 0

type parker struct{}
type parked struct{}

func newParker(*Balancer) *parker                { return nil }
func (*parker) park(*clientConn, time.Time) bool { return false }
func (*parker) run(context.Context)              {}
func (*parker) evict(*parked)                    {}
