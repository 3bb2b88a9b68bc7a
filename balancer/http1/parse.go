package http1

// ParseRequest parses the request head that buf holds whole, as HeadLen
// delimits it: leading empty lines, the request line, the field lines and
// the empty line. Folded field lines are unfolded in place (their line
// breaks become spaces), so buf is modified. Every slice of h aliases buf.
func (h *Head) ParseRequest(buf []byte) error {
	h.reset()
	if len(buf) > MaxHeadBytes {
		return ErrTooLarge
	}
	line, next, ok := nextLine(buf, leadingEmpty(buf))
	if !ok {
		return ErrRequestLine
	}
	if err := h.parseRequestLine(line); err != nil {
		return err
	}
	if err := h.parseFields(buf, next, ErrFieldValue); err != nil {
		return err
	}
	return h.interpretRequest()
}

// parseRequestLine reads "METHOD SP target SP HTTP/1.x". Like HAProxy it
// accepts several spaces or tabs between the parts (RFC 9112 3 allows a
// recipient to split on whitespace), and nothing after the version.
func (h *Head) parseRequestLine(line []byte) error {
	i := 0
	for i < len(line) && !isSpace(line[i]) {
		if !tokenTab[line[i]] {
			return ErrMethod
		}
		i++
	}
	if i == 0 {
		return ErrRequestLine
	}
	h.Method = line[:i]
	for i < len(line) && isSpace(line[i]) {
		i++
	}
	t := i
	for i < len(line) && !isSpace(line[i]) {
		if !targetTab[line[i]] {
			return ErrTarget
		}
		i++
	}
	if i == t {
		return ErrTarget
	}
	h.Target = line[t:i]
	for i < len(line) && isSpace(line[i]) {
		i++
	}
	if i == len(line) {
		return ErrRequestLine // HTTP/0.9 "GET /" is not served
	}
	v, ok := parseVersion(line[i:])
	if !ok {
		return ErrRequestLine
	}
	if v < 0 {
		return ErrVersion
	}
	h.Version = v
	return nil
}

// parseVersion reads "HTTP/" DIGIT "." DIGIT (RFC 9112 2.3, case
// sensitive). It returns -1 for a major version other than 1.
func parseVersion(b []byte) (Version, bool) {
	if len(b) != 8 || string(b[:5]) != "HTTP/" || b[6] != '.' || !isDigit(b[5]) || !isDigit(b[7]) {
		return 0, false
	}
	switch {
	case b[5] != '1':
		return -1, true
	case b[7] == '0':
		return HTTP10, true
	}
	return HTTP11, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// ParseResponse parses a response head that buf holds whole (see
// ParseRequest). Any error means the response must not be forwarded: the
// balancer answers 502.
func (h *Head) ParseResponse(buf []byte) error {
	h.reset()
	if len(buf) > MaxHeadBytes {
		return ErrTooLarge
	}
	line, next, ok := nextLine(buf, leadingEmpty(buf))
	if !ok || !h.parseStatusLine(line) {
		return ErrStatusLine
	}
	if err := h.parseFields(buf, next, ErrFieldValue); err != nil {
		return err
	}
	return h.interpretResponse()
}

// parseStatusLine reads "HTTP/1.x SP 3DIGIT [SP reason]". The status is
// 100 to 599 (RFC 9110 15); HAProxy also relays 600-999, tandem does not.
// A missing reason is accepted, as HAProxy does.
func (h *Head) parseStatusLine(line []byte) bool {
	if len(line) < 12 || line[8] != ' ' {
		return false
	}
	v, ok := parseVersion(line[:8])
	if !ok || v < 0 {
		return false
	}
	h.Version = v
	s := line[9:12]
	if !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) {
		return false
	}
	h.Status = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	if h.Status < 100 || h.Status > 599 {
		return false
	}
	rest := line[12:]
	switch {
	case len(rest) == 0:
	case rest[0] != ' ':
		return false
	default:
		h.Reason = rest[1:]
	}
	for _, c := range h.Reason {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// parseFields reads field lines from buf[i:] up to the empty line.
func (h *Head) parseFields(buf []byte, i int, badValue error) error {
	for {
		line, next, ok := nextLine(buf, i)
		if !ok {
			return badValue // a bare CR, or (HeadLen said otherwise) no end
		}
		if len(line) == 0 {
			return nil
		}
		if isSpace(line[0]) {
			if err := h.unfold(buf, i, line); err != nil {
				return err
			}
			i = next
			continue
		}
		colon := 0
		for colon < len(line) && line[colon] != ':' {
			if !tokenTab[line[colon]] {
				return ErrFieldName // includes space before the colon (RFC 9112 5.1)
			}
			colon++
		}
		if colon == 0 || colon == len(line) {
			return ErrFieldName
		}
		v := trimOWS(line[colon+1:])
		if !validValue(v) {
			return badValue
		}
		if len(h.Fields) == MaxFields {
			return ErrTooManyFields
		}
		h.Fields = append(h.Fields, Field{Name: line[:colon], Value: v})
		i = next
	}
}

// unfold joins an obs-fold line (starting at buf[start], its content
// line) to the previous field: the line break before it becomes spaces,
// as RFC 9112 5.2 allows and HAProxy does. The previous value and this
// line are adjacent in buf, so the joined value is one slice.
func (h *Head) unfold(buf []byte, start int, line []byte) error {
	n := len(h.Fields)
	if n == 0 {
		return ErrFold
	}
	f := &h.Fields[n-1]
	vstart := cap(buf) - cap(f.Value) // offset of the value in buf
	if len(f.Value) == 0 {
		vstart = start // an empty value: begin at the fold
	}
	for k := vstart + len(f.Value); k < start; k++ {
		buf[k] = ' '
	}
	end := start + len(line)
	v := trimOWS(buf[vstart:end])
	if !validValue(v) {
		return ErrFieldValue
	}
	f.Value = v
	return nil
}
