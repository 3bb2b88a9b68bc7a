package http1

import "bytes"

// HeadLen returns the length of the head at the start of buf, through the
// empty line that ends it (leading empty lines included), or -1 when buf
// does not hold a whole head yet. from is how much of buf an earlier call
// already scanned without finding the end, so that a head arriving a byte
// at a time costs linear time.
func HeadLen(buf []byte, from int) int {
	start := leadingEmpty(buf)
	i := max(start, from-3)
	for i < len(buf) {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return -1
		}
		k := i + j + 1 // just after an LF that ends a non-empty line
		if k < len(buf) && buf[k] == '\n' {
			return k + 1
		}
		if k+1 < len(buf) && buf[k] == '\r' && buf[k+1] == '\n' {
			return k + 2
		}
		i = k
	}
	return -1
}

// leadingEmpty is the length of the empty lines (CRLF or LF) before a
// start line; RFC 9112 2.2 asks a server to ignore at least one.
func leadingEmpty(buf []byte) int {
	i := 0
	for {
		switch {
		case i < len(buf) && buf[i] == '\n':
			i++
		case i+1 < len(buf) && buf[i] == '\r' && buf[i+1] == '\n':
			i += 2
		default:
			return i
		}
	}
}

// nextLine returns the line of buf starting at i, without its terminator
// (CRLF or a bare LF, RFC 9112 2.2), and where the next line starts. ok is
// false when no LF follows, or when the line has a CR anywhere but before
// its LF.
func nextLine(buf []byte, i int) (line []byte, next int, ok bool) {
	j := bytes.IndexByte(buf[i:], '\n')
	if j < 0 {
		return nil, 0, false
	}
	line, next = buf[i:i+j], i+j+1
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, 0, false
	}
	return line, next, true
}
