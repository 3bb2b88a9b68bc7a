package runtimeapi

import (
	"bytes"
	"context"
	"net"
	"strings"
	"time"
)

// maxRequest bounds one request line (HAProxy's buffer, tune.bufsize 16 kB):
// a longer line closes the connection, as HAProxy closes it.
const maxRequest = 16 << 10

// input is what a connection has sent and not yet been run.
type input struct {
	c       net.Conn
	buf     []byte
	timeout func() time.Duration
}

// fill reads more; false when the client is gone, idle past the timeout,
// or sent a line longer than maxRequest.
func (in *input) fill() bool {
	if len(in.buf) >= maxRequest {
		return false
	}
	if cap(in.buf)-len(in.buf) < 1024 {
		in.buf = append(make([]byte, 0, 2*cap(in.buf)+1024), in.buf...)
	}
	_ = in.c.SetReadDeadline(time.Now().Add(in.timeout()))
	n, err := in.c.Read(in.buf[len(in.buf):cap(in.buf)])
	in.buf = in.buf[:len(in.buf)+n]
	return n > 0 || err == nil
}

// request returns the next complete request, reading as needed.
func (in *input) request() (string, bool) {
	for {
		if req, n, ok := cutRequest(in.buf); ok {
			in.buf = in.buf[n:]
			return req, true
		}
		if !in.fill() {
			return "", false
		}
	}
}

// skipPayload consumes lines up to and including an empty one.
func (in *input) skipPayload() bool {
	for {
		i := bytes.IndexByte(in.buf, '\n')
		if i < 0 {
			if !in.fill() {
				return false
			}
			continue
		}
		line := bytes.TrimSuffix(in.buf[:i], []byte("\r"))
		in.buf = in.buf[i+1:]
		if len(line) == 0 {
			return true
		}
	}
}

// serve runs one connection: read requests, run them, write the answers
// with HAProxy's framing, until the client is done.
//
// Without prompt mode a connection runs the requests it has sent so far
// and closes once none is left to run (so "echo cmd | socat" runs one
// command, and pipelined or ';'-separated commands all run). In prompt
// mode every answer is followed by "\n> " and the connection stays open
// until "quit", the client closing, or the idle timeout.
func (s *session) serve(ctx context.Context, c net.Conn) {
	in := &input{c: c, buf: make([]byte, 0, 4096), timeout: func() time.Duration { return s.timeout }}
	for ctx.Err() == nil {
		req, ok := in.request()
		if !ok {
			return
		}
		// A payload ("<<" ends the line) runs to an empty line; no
		// command tandem has takes one, but it must not run as commands.
		if strings.HasSuffix(req, payloadPattern) && !in.skipPayload() {
			return
		}
		words, _ := splitWords(req)
		answer := s.execute(ctx, Parse(words))
		if s.quit {
			return
		}
		if s.prompt {
			answer += "\n> "
		} else {
			answer += "\n"
		}
		_ = c.SetWriteDeadline(time.Now().Add(s.timeout))
		if _, err := c.Write([]byte(answer)); err != nil {
			return
		}
		if !s.prompt && len(in.buf) == 0 {
			return
		}
	}
}
