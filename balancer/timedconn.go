package balancer

import (
	"bufio"
	"errors"
	"net"
	"time"
)

// timedConn enforces inactivity timeouts on a connection without setting a
// deadline on every call: a deadline is pushed forward only once an eighth
// of the timeout has passed since it was last set, so a stall is cut after
// between 7/8 and all of the timeout. A fixed read deadline (request head
// timeout) can be set instead.
type timedConn struct {
	net.Conn
	rto, wto   time.Duration // 0: no inactivity timeout
	rFixed     bool
	rSet, wSet int64  // unix ns of the last deadline set; 0: none
	sio        sockIO // raw reads and writes while Conn is plain TCP
	await      bool   // a write is followed by waiting for the answer (flushAwait)
	// at, when set, is a clock reading the caller has just taken, for the
	// deadlines of the calls it makes next (flushAt): reading the clock
	// costs about 90 ns on a VM, and a request made up to 20 readings.
	at time.Time
}

// readTimeout switches reads to an inactivity timeout d.
func (c *timedConn) readTimeout(d time.Duration) {
	if c.rFixed || d != c.rto {
		c.rFixed, c.rto, c.rSet = false, d, 0
		if d == 0 {
			c.Conn.SetReadDeadline(time.Time{})
		}
	}
}

// writeTimeout switches writes to an inactivity timeout d.
func (c *timedConn) writeTimeout(d time.Duration) {
	if d != c.wto {
		c.wto, c.wSet = d, 0
		if d == 0 {
			c.Conn.SetWriteDeadline(time.Time{})
		}
	}
}

// readDeadline sets a fixed read deadline (zero: none).
func (c *timedConn) readDeadline(t time.Time) {
	c.rFixed, c.rSet = true, 0
	c.Conn.SetReadDeadline(t)
}

func (c *timedConn) Read(p []byte) (int, error) {
	c.touchRead()
	if c.sio.raw(c.Conn) {
		return c.sio.Read(p)
	}
	return c.Conn.Read(p)
}

func (c *timedConn) Write(p []byte) (int, error) {
	c.touchWrite()
	if c.sio.raw(c.Conn) {
		if c.await {
			c.touchRead()
			return c.sio.WriteAwait(p)
		}
		return c.sio.Write(p)
	}
	return c.Conn.Write(p)
}

// flushAwait flushes bw, which writes to c, and on a plain TCP connection
// waits for the peer's answer without a read that finds nothing first
// (sockIO.WriteAwait): for a request whose answer is read next.
func (c *timedConn) flushAwait(bw *bufio.Writer) error {
	if bw.Buffered() == 0 {
		return nil
	}
	c.await = true
	err := bw.Flush()
	c.await = false
	return err
}

// flushAt flushes bw, which writes to c, taking now as the time for the
// deadlines it pushes; with await, as flushAwait.
func (c *timedConn) flushAt(bw *bufio.Writer, now time.Time, await bool) error {
	c.at = now
	defer func() { c.at = time.Time{} }()
	if await {
		return c.flushAwait(bw)
	}
	return bw.Flush()
}

// now is the time deadlines are pushed from: the caller's reading (at)
// or the clock.
func (c *timedConn) now() time.Time {
	if !c.at.IsZero() {
		return c.at
	}
	return time.Now()
}

// awaited reports whether the last flushAwait waited and how the wait
// ended (nil: readable).
func (c *timedConn) awaited() (waited bool, err error) {
	if !c.sio.raw(c.Conn) {
		return false, nil
	}
	return c.sio.Awaited()
}

// touchRead pushes the read inactivity deadline forward when due.
func (c *timedConn) touchRead() {
	if c.rto > 0 && !c.rFixed {
		now := c.now()
		if ns := now.UnixNano(); ns-c.rSet > int64(c.rto)/8 {
			c.rSet = ns
			c.Conn.SetReadDeadline(now.Add(c.rto))
		}
	}
}

// touchWrite pushes the write inactivity deadline forward when due.
func (c *timedConn) touchWrite() {
	if c.wto > 0 {
		now := c.now()
		if ns := now.UnixNano(); ns-c.wSet > int64(c.wto)/8 {
			c.wSet = ns
			c.Conn.SetWriteDeadline(now.Add(c.wto))
		}
	}
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
