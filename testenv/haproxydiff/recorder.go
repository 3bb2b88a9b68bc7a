package haproxydiff

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/tandem-lb/tandem/balancer/http1"
)

// Recorder is a backend server that records each request exactly as it
// arrived (head and body) and answers it with raw bytes of the test's
// choosing, so a test can see what each load balancer forwarded and can
// make a server misbehave.
type Recorder struct {
	Addr   string
	answer func(r Received) string

	mu   sync.Mutex
	reqs []Received
}

// Received is one request as the server got it.
type Received struct {
	Head http1.Head // parsed (when Err is nil)
	Raw  []byte     // the head as received
	Body []byte
	// Err is why the head does not parse (a strict server would refuse
	// it); the recorder then closes the connection.
	Err error
}

// Echo answers with the request target as the body, and the server's name
// in X-Served-By.
func Echo(name string) func(Received) string {
	return func(r Received) string {
		return "HTTP/1.1 200 OK\r\nX-Served-By: " + name + "\r\nContent-Length: " + strconv.Itoa(len(r.Head.Target)) +
			"\r\n\r\n" + string(r.Head.Target)
	}
}

// NewRecorder starts a recording server on loopback until the test ends.
func NewRecorder(t testing.TB, answer func(Received) string) *Recorder {
	t.Helper()
	r := &Recorder{answer: answer}
	r.Addr = serveLoopback(t, r.serve)
	return r
}

func (r *Recorder) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		rec, err := readRequest(br)
		if len(rec.Raw) > 0 && (err == nil || rec.Err != nil) {
			r.mu.Lock()
			r.reqs = append(r.reqs, rec)
			r.mu.Unlock()
		}
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, r.answer(rec)); err != nil {
			return
		}
	}
}

func readRequest(br *bufio.Reader) (Received, error) {
	var raw []byte
	for {
		line, err := br.ReadSlice('\n')
		raw = append(raw, line...)
		if err != nil {
			return Received{}, err
		}
		if n := http1.HeadLen(raw, 0); n >= 0 {
			break
		}
	}
	rec := Received{Raw: raw}
	if err := rec.Head.ParseRequest(append([]byte(nil), raw...)); err != nil {
		rec.Err = err
		return rec, err
	}
	kind, n := rec.Head.RequestBody()
	switch kind {
	case http1.FixedBody:
		rec.Body = make([]byte, n)
		_, err := io.ReadFull(br, rec.Body)
		return rec, err
	case http1.ChunkedBody:
		var c http1.Chunked
		var body bytes.Buffer
		for !c.Done() {
			in, err := br.Peek(1)
			if err != nil {
				return rec, err
			}
			in, _ = br.Peek(br.Buffered())
			used, data, err := c.Next(in)
			body.Write(data)
			br.Discard(used)
			if err != nil {
				return rec, err
			}
			if used == 0 {
				if _, err := br.Peek(br.Buffered() + 1); err != nil {
					return rec, err
				}
			}
		}
		rec.Body = body.Bytes()
	}
	return rec, nil
}

// Take returns the requests received since the last Take.
func (r *Recorder) Take() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}
