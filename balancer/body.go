package balancer

import (
	"bufio"
	"io"
	"strconv"

	"github.com/tandem-lb/tandem/balancer/http1"
)

// bodyReader reads the payload of a message body from br: Content-Length
// bytes, the chunked coding (decoded by http1.Chunked, trailers kept for
// a chunked destination), or until the connection closes.
type bodyReader struct {
	br     *bufio.Reader
	kind   http1.Body
	remain int64 // FixedBody: payload left
	chunks http1.Chunked
	done   bool
	n      int64 // payload bytes returned so far
}

func (r *bodyReader) reset(br *bufio.Reader, kind http1.Body, length int64) {
	r.chunks.Reset()
	*r = bodyReader{br: br, kind: kind, remain: max(length, 0), chunks: r.chunks, done: kind == http1.NoBody}
}

// trailers are the trailer field lines of a chunked body, once read.
func (r *bodyReader) trailers() []byte { return r.chunks.Trailers() }

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	switch r.kind {
	case http1.FixedBody:
		if int64(len(p)) > r.remain {
			p = p[:r.remain]
		}
		n, err := r.br.Read(p)
		r.remain -= int64(n)
		r.n += int64(n)
		if r.remain == 0 {
			r.done = true
			return n, nil
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return n, err
	case http1.UntilClose:
		n, err := r.br.Read(p)
		r.n += int64(n)
		if err == io.EOF {
			r.done = true
		}
		return n, err
	}
	return r.readChunked(p)
}

// readChunked decodes what br holds (reading more when it holds no whole
// framing line) into p.
func (r *bodyReader) readChunked(p []byte) (int, error) {
	for {
		if r.br.Buffered() == 0 {
			if _, err := r.br.Peek(1); err != nil {
				return 0, unexpectedEOF(err)
			}
		}
		in, _ := r.br.Peek(min(r.br.Buffered(), len(p)))
		n, data, err := r.chunks.Next(in)
		copy(p, data)
		r.br.Discard(n)
		r.n += int64(len(data))
		if err != nil {
			return len(data), err
		}
		if r.chunks.Done() {
			r.done = true
			return len(data), io.EOF
		}
		if len(data) > 0 {
			return len(data), nil
		}
		if n == 0 {
			// A framing line is incomplete: wait for more of it.
			if len(in) == len(p) || r.br.Buffered() == r.br.Size() {
				return 0, http1.ErrChunk
			}
			if _, err := r.br.Peek(r.br.Buffered() + 1); err != nil {
				return 0, unexpectedEOF(err)
			}
		}
	}
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// validBuffered checks the chunked coding of what br already holds,
// without consuming it, so that a body malformed from its first bytes is
// refused before anything is forwarded (HAProxy parses what it buffered
// before it connects, or before it sends a response head).
func validBuffered(br *bufio.Reader, c *http1.Chunked) error {
	c.Reset()
	in, _ := br.Peek(br.Buffered())
	for len(in) > 0 && !c.Done() {
		n, _, err := c.Next(in)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		in = in[n:]
	}
	return nil
}

// chunkedWriter writes the chunked coding of what is written to it.
type chunkedWriter struct{ w *bufio.Writer }

func (cw chunkedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var hb [18]byte
	b := strconv.AppendInt(hb[:0], int64(len(p)), 16)
	b = append(b, '\r', '\n')
	if _, err := cw.w.Write(b); err != nil {
		return 0, err
	}
	n, err := cw.w.Write(p)
	if err != nil {
		return n, err
	}
	_, err = cw.w.WriteString("\r\n")
	return n, err
}

// close writes the last chunk, the trailer fields (as bodyReader kept
// them) and the final CRLF.
func (cw chunkedWriter) close(trailers []byte) error {
	cw.w.WriteString("0\r\n")
	cw.w.Write(trailers)
	_, err := cw.w.WriteString("\r\n")
	return err
}

// flusher is a destination that can push out what it buffered.
type flusher interface{ Flush() error }

// pump copies src to dst through buf. Whenever the source has nothing more
// buffered (srcBuf may be nil: unknown), dst is flushed, so streamed bodies
// are forwarded as they arrive. It tells read errors from write errors.
func pump(dst io.Writer, fl flusher, src io.Reader, srcBuf *bufio.Reader, buf []byte) (n int64, rerr, werr error) {
	for {
		nr, err := src.Read(buf)
		if nr > 0 {
			nw, ew := dst.Write(buf[:nr])
			n += int64(nw)
			if ew != nil {
				return n, nil, ew
			}
			if srcBuf == nil || srcBuf.Buffered() == 0 {
				if ew := fl.Flush(); ew != nil {
					return n, nil, ew
				}
			}
		}
		if err == io.EOF {
			return n, nil, nil
		}
		if err != nil {
			return n, err, nil
		}
	}
}
