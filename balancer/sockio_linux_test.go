package balancer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func TestTimedConnRawIOCarriesLargeWritesBothWays(t *testing.T) {
	a, b := tcpPair(t)
	tc := &timedConn{Conn: a, rto: time.Second, wto: time.Second}
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB: many partial writes
	got := make(chan []byte, 1)
	go func() {
		// A slow reader: the writer must wait for room many times.
		var buf bytes.Buffer
		chunk := make([]byte, 64<<10)
		for buf.Len() < len(payload) {
			n, err := b.Read(chunk)
			buf.Write(chunk[:n])
			if err != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		got <- buf.Bytes()
		b.Write([]byte("done"))
	}()
	if n, err := tc.Write(payload); err != nil || n != len(payload) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(payload))
	}
	if !tc.sio.raw(a) {
		t.Fatal("a plain TCP connection was not written with raw calls")
	}
	if g := <-got; !bytes.Equal(g, payload) {
		t.Fatalf("the reader got %d bytes, not the %d written in order", len(g), len(payload))
	}
	buf := make([]byte, 16)
	n, err := io.ReadFull(tc, buf[:4])
	if err != nil || string(buf[:n]) != "done" {
		t.Fatalf("Read = %q, %v; want \"done\"", buf[:n], err)
	}
}

func TestTimedConnRawIOErrors(t *testing.T) {
	t.Run("inactivity timeout", func(t *testing.T) {
		a, _ := tcpPair(t)
		tc := &timedConn{Conn: a, rto: 50 * time.Millisecond}
		start := time.Now()
		_, err := tc.Read(make([]byte, 8))
		if !isTimeout(err) {
			t.Fatalf("Read on a silent peer = %v; want a timeout", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("the timeout took %v", el)
		}
	})
	t.Run("end of stream", func(t *testing.T) {
		a, b := tcpPair(t)
		b.Write([]byte("xy"))
		b.Close()
		tc := &timedConn{Conn: a}
		got, err := io.ReadAll(tc)
		if err != nil || string(got) != "xy" {
			t.Fatalf("ReadAll = %q, %v; want \"xy\", nil", got, err)
		}
	})
	t.Run("reset peer", func(t *testing.T) {
		a, b := tcpPair(t)
		b.SetLinger(0)
		b.Close() // RST
		tc := &timedConn{Conn: a}
		// The first write may be taken before the RST is seen; a later one
		// fails (EPIPE or ECONNRESET), and the process gets no SIGPIPE.
		var err error
		for i := 0; i < 50 && err == nil; i++ {
			_, err = tc.Write([]byte("hello"))
			time.Sleep(5 * time.Millisecond)
		}
		if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("Write to a reset peer = %v; want EPIPE or ECONNRESET", err)
		}
		if shortError(err) == "" {
			t.Fatal("no short form of the error")
		}
	})
	t.Run("closed here", func(t *testing.T) {
		a, _ := tcpPair(t)
		tc := &timedConn{Conn: a}
		a.Close()
		if _, err := tc.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read on a closed connection = %v; want net.ErrClosed", err)
		}
	})
}

func TestFlushAwaitWaitsForTheAnswer(t *testing.T) {
	a, b := tcpPair(t)
	tc := &timedConn{Conn: a, rto: 5 * time.Second}
	go func() {
		buf := make([]byte, 64)
		n, _ := b.Read(buf)
		time.Sleep(100 * time.Millisecond) // a slow answer: the wait must last
		b.Write(append([]byte("re:"), buf[:n]...))
	}()
	bw := bufio.NewWriter(tc)
	bw.WriteString("ping")
	start := time.Now()
	if err := tc.flushAwait(bw); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 80*time.Millisecond {
		t.Fatalf("flushAwait returned after %v, before the answer came", el)
	}
	buf := make([]byte, 64)
	n, err := tc.Read(buf)
	if err != nil || string(buf[:n]) != "re:ping" {
		t.Fatalf("Read = %q, %v; want \"re:ping\"", buf[:n], err)
	}
	if tc.await {
		t.Fatal("await left on after flushAwait")
	}
}

func TestFlushAwaitEndsAtTheReadDeadline(t *testing.T) {
	a, b := tcpPair(t)
	tc := &timedConn{Conn: a, rto: 80 * time.Millisecond}
	bw := bufio.NewWriter(tc)
	bw.WriteString("ping")
	start := time.Now()
	if err := tc.flushAwait(bw); err != nil {
		t.Fatalf("flushAwait = %v; the write succeeded, the wait's end is the read's", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("the wait outlasted the read timeout: %v", el)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(b, got); err != nil || string(got) != "ping" {
		t.Fatalf("the peer got %q, %v", got, err)
	}
	if _, err := tc.Read(make([]byte, 8)); !isTimeout(err) {
		t.Fatalf("Read after the wait = %v; want a timeout", err)
	}
}

func TestFlushAwaitLargeWriteFallsBackToPlainWrites(t *testing.T) {
	a, b := tcpPair(t)
	tc := &timedConn{Conn: a, rto: 5 * time.Second, wto: 5 * time.Second}
	payload := bytes.Repeat([]byte{'z'}, 8<<20) // more than the socket takes at once
	go func() {
		io.CopyN(io.Discard, b, int64(len(payload)))
		b.Write([]byte("ok"))
	}()
	n, err := tc.Write(payload[:0]) // an empty write is nothing
	if n != 0 || err != nil {
		t.Fatalf("empty Write = %d, %v", n, err)
	}
	tc.await = true
	n, err = tc.Write(payload)
	tc.await = false
	if err != nil || n != len(payload) {
		t.Fatalf("Write = %d, %v; want %d", n, err, len(payload))
	}
	got := make([]byte, 2)
	if _, err := io.ReadFull(tc, got); err != nil || string(got) != "ok" {
		t.Fatalf("Read = %q, %v", got, err)
	}
}

func TestTimedConnRebindsWhenItsConnectionIsReplaced(t *testing.T) {
	a, _ := tcpPair(t)
	tc := &timedConn{Conn: a}
	if !tc.sio.raw(a) {
		t.Fatal("TCP connection not raw")
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	tc.Conn = p1 // as a TLS client or an HTTP/2 stream replaces it
	go p2.Write([]byte("via pipe"))
	buf := make([]byte, 16)
	n, err := tc.Read(buf)
	if err != nil || string(buf[:n]) != "via pipe" {
		t.Fatalf("Read = %q, %v; want the replacement's bytes", buf[:n], err)
	}
	if tc.sio.raw(p1) {
		t.Fatal("a non-TCP connection taken as raw")
	}
}

// sendTailPair is a client connection (its server side) and the client's
// end, for sendTail.
func sendTailPair(t *testing.T) (*clientConn, *timedConn, *net.TCPConn) {
	t.Helper()
	client, server := tcpPair(t)
	cc := &clientConn{conn: server}
	if !cc.idle.canWait(server) {
		t.Fatal("cannot wait on a TCP connection")
	}
	return cc, &timedConn{Conn: server}, client
}

func heldResponse(tc *timedConn) *bufio.Writer {
	bw := bufio.NewWriter(tc)
	bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	return bw
}

// readResponse reads the held response on the client's end; it reports
// with t.Error, so a goroutine may call it.
func readResponse(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	want := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Errorf("the client got %q, %v; want the held response", got, err)
	}
}

func TestSendTailWaitsForTheNextRequest(t *testing.T) {
	b := &Balancer{}
	fe := &frontend{}
	t.Run("request after the answer", func(t *testing.T) {
		cc, tc, client := sendTailPair(t)
		go func() {
			readResponse(t, client)
			client.Write([]byte("GET /next HTTP/1.1\r\n\r\n"))
		}()
		tail := b.sendTail(cc, tc, fe, heldResponse(tc), true)
		if !tail.sent || tail.next != nextReadable {
			t.Fatalf("sendTail = %+v; want sent, nextReadable", tail)
		}
		if cc.pipelines {
			t.Fatal("a client that waited for its answer is marked as pipelining")
		}
	})
	t.Run("silent client", func(t *testing.T) {
		cc, tc, client := sendTailPair(t)
		start := time.Now()
		tail := b.sendTail(cc, tc, fe, heldResponse(tc), true)
		if !tail.sent || tail.next != nextWait {
			t.Fatalf("sendTail = %+v; want sent, nextWait", tail)
		}
		if el := time.Since(start); el < idleParkAfter*8/10 {
			t.Fatalf("the wait ended after %v, before its grace (%v)", el, idleParkAfter)
		}
		readResponse(t, client)
	})
	t.Run("client closes", func(t *testing.T) {
		cc, tc, client := sendTailPair(t)
		go func() {
			readResponse(t, client)
			client.Close()
		}()
		tail := b.sendTail(cc, tc, fe, heldResponse(tc), true)
		if tail.next != nextReadable && tail.next != nextClosed {
			t.Fatalf("sendTail = %+v; want the close seen (readable or closed)", tail)
		}
		if _, err := tc.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("the read after it = %v; want EOF", err)
		}
	})
	t.Run("pipelined request already there", func(t *testing.T) {
		cc, tc, client := sendTailPair(t)
		// The next request is in the socket before the answer goes: it
		// raises no wake-up, so the wait lasts its grace, finds it, and
		// marks the client as pipelining.
		client.Write([]byte("GET /2 HTTP/1.1\r\n\r\n"))
		time.Sleep(20 * time.Millisecond)
		tail := b.sendTail(cc, tc, fe, heldResponse(tc), true)
		if !tail.sent || tail.next != nextReadable {
			t.Fatalf("sendTail = %+v; want sent, nextReadable", tail)
		}
		if !cc.pipelines {
			t.Fatal("the client is not marked as pipelining")
		}
		readResponse(t, client)
	})
	t.Run("closing connection", func(t *testing.T) {
		cc, tc, client := sendTailPair(t)
		if tail := b.sendTail(cc, tc, fe, heldResponse(tc), false); tail.sent {
			t.Fatalf("sendTail on a closing connection waited: %+v", tail)
		}
		readResponse(t, client)
	})
}

// TestFlushAtPushesDeadlinesFromTheGivenTime: the read deadline that the
// await of flushAt pushes counts from the caller's reading, not the clock,
// and the reading does not outlast the flush: the next read pushes from
// the clock again.
func TestFlushAtPushesDeadlinesFromTheGivenTime(t *testing.T) {
	a, b := tcpPair(t)
	const rto = 400 * time.Millisecond
	tc := &timedConn{Conn: a, rto: rto}
	bw := bufio.NewWriter(tc)
	bw.WriteString("ping")
	// A reading rto-100ms old: the wait for the answer must end about
	// 100 ms from now, not rto.
	start := time.Now()
	if err := tc.flushAt(bw, start.Add(-rto+100*time.Millisecond), true); err != nil {
		t.Fatal(err)
	}
	if waited, err := tc.awaited(); !waited || !isTimeout(err) {
		t.Fatalf("awaited = %v, %v; want a wait that timed out", waited, err)
	}
	if el := time.Since(start); el > rto-50*time.Millisecond {
		t.Fatalf("the wait lasted %v: its deadline was not pushed from the given reading", el)
	}
	if !tc.at.IsZero() {
		t.Fatal("the reading outlasted flushAt")
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(b, got); err != nil || string(got) != "ping" {
		t.Fatalf("the peer got %q, %v", got, err)
	}
	// rSet is the reading's; a read now is more than rto/8 later, so it
	// pushes the deadline from the clock and waits for the answer.
	go func() {
		time.Sleep(150 * time.Millisecond)
		b.Write([]byte("pong"))
	}()
	buf := make([]byte, 8)
	n, err := tc.Read(buf)
	if err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("Read = %q, %v; want \"pong\" within a deadline pushed from the clock", buf[:n], err)
	}
}
