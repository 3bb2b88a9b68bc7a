package http1

import "bytes"

// Limits of the chunked coding.
const (
	// MaxChunkLine bounds a chunk-size line with its extensions, and a trailer field line.
	MaxChunkLine = 2 << 10
	// MaxTrailerBytes bounds the trailer section.
	MaxTrailerBytes = 8 << 10
)

type chunkState uint8

const (
	chunkSize    chunkState = iota // expecting a chunk-size line
	chunkData                      // inside chunk data
	chunkDataEnd                   // expecting the CRLF after chunk data
	chunkTrailer                   // reading the trailer section
	chunkDone                      // the final CRLF was read
)

// Chunked decodes the chunked transfer coding (RFC 9112 7.1)
// incrementally, over whatever bytes have arrived. The zero value is
// ready for a new body.
type Chunked struct {
	state    chunkState
	remain   int64
	trailers []byte // validated field lines, each ending in CRLF
}

// Reset prepares c for a new body, keeping its trailer buffer.
func (c *Chunked) Reset() { *c = Chunked{trailers: c.trailers[:0]} }

// Done reports whether the last chunk and the trailer section were read.
func (c *Chunked) Done() bool { return c.state == chunkDone }

// Trailers are the trailer field lines read, each ending in CRLF, ready
// to be forwarded after a last chunk.
func (c *Chunked) Trailers() []byte { return c.trailers }

// Next consumes coding bytes from the start of in. It returns how many it
// consumed and, among them, the chunk data (a suffix of in[:n]) that the
// caller forwards before discarding n bytes. n == 0 without an error means
// in ends inside a framing line: call again with more bytes. After Done,
// Next consumes nothing.
func (c *Chunked) Next(in []byte) (n int, data []byte, err error) {
	for n < len(in) {
		switch c.state {
		case chunkDone:
			return n, nil, nil
		case chunkData:
			k := int(min(c.remain, int64(len(in)-n)))
			c.remain -= int64(k)
			if c.remain == 0 {
				c.state = chunkDataEnd
			}
			return n + k, in[n : n+k], nil
		case chunkDataEnd:
			switch {
			case in[n] == '\n':
				n++
			case in[n] != '\r':
				return n, nil, ErrChunk
			case n+1 == len(in):
				return n, nil, nil
			case in[n+1] != '\n':
				return n, nil, ErrChunk
			default:
				n += 2
			}
			c.state = chunkSize
		case chunkSize, chunkTrailer:
			line, next, err := chunkLine(in, n)
			if err != nil || next == 0 {
				return n, nil, err
			}
			if c.state == chunkSize {
				err = c.sizeLine(line)
			} else {
				err = c.trailerLine(line)
			}
			if err != nil {
				return n, nil, err
			}
			n = next
		}
	}
	return n, nil, nil
}

// chunkLine returns the framing line at in[i:] without its terminator,
// and where the next byte starts; next == 0 when no LF has arrived yet.
func chunkLine(in []byte, i int) (line []byte, next int, err error) {
	j := bytes.IndexByte(in[i:], '\n')
	if j < 0 {
		if len(in)-i > MaxChunkLine {
			return nil, 0, ErrChunk
		}
		return nil, 0, nil
	}
	if j > MaxChunkLine {
		return nil, 0, ErrChunk
	}
	line = in[i : i+j]
	if k := len(line); k > 0 && line[k-1] == '\r' {
		line = line[:k-1]
	}
	if bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, 0) >= 0 {
		return nil, 0, ErrChunk
	}
	return line, i + j + 1, nil
}

// sizeLine reads "1*HEXDIG [ws] [; extensions]". Leading zeros are
// allowed (HAProxy and RFC 9112 do); extensions are dropped, as HAProxy
// does, after a check for control bytes.
func (c *Chunked) sizeLine(line []byte) error {
	i := 0
	for i < len(line) && line[i] == '0' {
		i++
	}
	zeros := i
	var size int64
	for ; i < len(line); i++ {
		v, ok := unhex(line[i])
		if !ok {
			break
		}
		if i-zeros >= 15 {
			return ErrChunk // more than 2^60: not a real chunk
		}
		size = size<<4 | int64(v)
	}
	if i == 0 {
		return ErrChunk
	}
	for i < len(line) && isSpace(line[i]) {
		i++
	}
	if i < len(line) {
		if line[i] != ';' {
			return ErrChunk
		}
		for _, b := range line[i:] {
			if b < ' ' && b != '\t' || b == 0x7f {
				return ErrChunk
			}
		}
	}
	if size == 0 {
		c.state = chunkTrailer
		return nil
	}
	c.remain, c.state = size, chunkData
	return nil
}

func unhex(b byte) (byte, bool) {
	switch {
	case '0' <= b && b <= '9':
		return b - '0', true
	case 'a' <= b && b <= 'f':
		return b - 'a' + 10, true
	case 'A' <= b && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}

// trailerLine reads one line of the trailer section: a field line
// (checked like a header field, so nothing can smuggle framing past the
// next parser) or the empty line that ends the body.
func (c *Chunked) trailerLine(line []byte) error {
	if len(line) == 0 {
		c.state = chunkDone
		return nil
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !IsToken(line[:colon]) || !validValue(line[colon+1:]) {
		return ErrTrailer
	}
	if len(c.trailers)+len(line)+2 > MaxTrailerBytes {
		return ErrTrailer
	}
	c.trailers = append(append(c.trailers, line...), '\r', '\n')
	return nil
}
