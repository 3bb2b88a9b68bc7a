package balancer

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TLS over rawTCP: the handshake and records go through the raw calls, a
// read deadline set on the connection still cuts a read short, and the
// peer's close is io.EOF to the TLS layer.
func TestRawTCPCarriesTLS(t *testing.T) {
	cert := leafCert(t, "raw.example", "raw.example")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		timedOut, eof bool
		err           error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() { done <- r }()
		c, err := ln.Accept()
		if err != nil {
			r.err = err
			return
		}
		defer c.Close()
		rc := withRawIO(c)
		if _, ok := rc.(*rawTCP); !ok {
			r.err = errors.New("withRawIO did not give a rawTCP for a TCP connection")
			return
		}
		tc := tls.Server(rc, &tls.Config{Certificates: []tls.Certificate{*cert}})
		buf := make([]byte, 64)
		n, err := io.ReadFull(tc, buf[:5])
		if err != nil || string(buf[:n]) != "hello" {
			r.err = errors.New("server read " + string(buf[:n]) + ": " + errString(err))
			return
		}
		if _, err := tc.Write([]byte("world")); err != nil {
			r.err = err
			return
		}
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err = tc.Read(buf)
		r.timedOut = isTimeout(err)
		c.SetReadDeadline(time.Time{})
		_, err = tc.Read(buf) // the client closes after its second read
		r.eof = errors.Is(err, io.EOF)
	}()
	cc, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(cc, buf); err != nil || string(buf) != "world" {
		t.Fatalf("client read %q: %v", buf, err)
	}
	time.Sleep(200 * time.Millisecond) // past the server's read deadline
	cc.Close()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.timedOut || !r.eof {
		t.Errorf("read deadline cut the read: %v; the close read as EOF: %v", r.timedOut, r.eof)
	}
}
