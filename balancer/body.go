package balancer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"
)

// Body framings.
const (
	bodyNone    = iota
	bodyFixed   // Content-Length
	bodyChunked // Transfer-Encoding: chunked
	bodyEOF     // until the connection closes (responses only)
)

var errChunk = errors.New("malformed chunked encoding")

// bodyReader reads the payload of a message body from br, decoding the
// chunked encoding. Trailer fields are kept (checked, CRLF-terminated) in
// trailers, for a chunked destination to forward.
type bodyReader struct {
	br       *bufio.Reader
	mode     int
	remain   int64 // fixed: payload left; chunked: left in this chunk
	inChunk  bool
	done     bool
	n        int64  // payload bytes returned so far
	trailers []byte // "Name: value\r\n" lines after the last chunk
}

// maxTrailerBytes bounds the trailer section of a chunked body.
const maxTrailerBytes = 8 << 10

func (r *bodyReader) reset(br *bufio.Reader, mode int, length int64) {
	if mode != bodyFixed {
		length = 0
	}
	t := r.trailers[:0] // keep the capacity
	*r = bodyReader{br: br, mode: mode, remain: length, done: mode == bodyNone || (mode == bodyFixed && length == 0), trailers: t}
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	switch r.mode {
	case bodyFixed:
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
	case bodyEOF:
		n, err := r.br.Read(p)
		r.n += int64(n)
		if err == io.EOF {
			r.done = true
		}
		return n, err
	}
	if r.remain == 0 {
		if err := r.nextChunk(); err != nil {
			return 0, err
		}
		if r.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.br.Read(p)
	r.remain -= int64(n)
	r.n += int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// nextChunk consumes the end of the previous chunk and the next size line;
// on the last chunk it consumes the trailers and sets done.
func (r *bodyReader) nextChunk() error {
	if r.inChunk {
		line, err := r.readLine()
		if err != nil {
			return err
		}
		if len(line) != 0 {
			return errChunk
		}
	}
	line, err := r.readLine()
	if err != nil {
		return err
	}
	var size int64
	digits := 0
	for _, c := range line {
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		case c == ';' || c == ' ' || c == '\t':
			goto parsed
		default:
			return errChunk
		}
		if digits++; digits > 15 {
			return errChunk
		}
		size = size<<4 | int64(v)
	}
parsed:
	if digits == 0 {
		return errChunk
	}
	if size == 0 {
		for { // trailers
			line, err := r.readLine()
			if err != nil {
				return err
			}
			if len(line) == 0 {
				r.done = true
				return nil
			}
			if !validTrailer(line) || len(r.trailers)+len(line)+2 > maxTrailerBytes {
				return errChunk
			}
			r.trailers = append(append(r.trailers, line...), '\r', '\n')
		}
	}
	r.remain, r.inChunk = size, true
	return nil
}

// validTrailer accepts a "name: value" field line: a token name, a colon,
// and a value without control characters other than tab. Anything else
// could smuggle framing past the next parser.
func validTrailer(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 || !isToken(line[:colon]) {
		return false
	}
	for _, c := range line[colon+1:] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// readLine returns one line without its terminator; the slice is valid
// until the next read.
func (r *bodyReader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err == bufio.ErrBufferFull {
			err = errChunk
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// chunkedWriter writes the chunked encoding of what is written to it.
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

// copyBufSize is the size of pooled body copy buffers.
const copyBufSize = 32 << 10

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}
