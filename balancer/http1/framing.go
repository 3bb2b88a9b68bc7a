package http1

import "bytes"

// interpretRequest derives framing and connection options from the
// fields of a request, and drops duplicate Host and Content-Length fields
// (equal ones; different ones are errors).
func (h *Head) interpretRequest() error {
	te, err := h.interpretFields(false)
	if err != nil {
		return err
	}
	if te {
		// Transfer-Encoding overrides Content-Length, and either both or
		// Transfer-Encoding in HTTP/1.0 make the framing suspect: close
		// after this message (RFC 9112 6.1).
		if h.ContentLength >= 0 || h.Version == HTTP10 {
			h.CloseAfter = true
		}
		h.ContentLength = -1
	}
	return h.checkAuthority()
}

// interpretResponse is interpretRequest for a response.
func (h *Head) interpretResponse() error {
	te, err := h.interpretFields(true)
	if err != nil {
		return err
	}
	if te {
		if h.ContentLength >= 0 {
			h.CloseAfter = true
		}
		h.ContentLength = -1
	}
	return nil
}

// interpretFields reads the fields that frame the message or manage the
// connection. It reports whether Transfer-Encoding was present (then
// Chunked is set: any other coding is an error).
func (h *Head) interpretFields(response bool) (te bool, err error) {
	var tc codings
	out := h.Fields[:0]
	for _, f := range h.Fields {
		keep := true
		switch len(f.Name) {
		case 4:
			if EqualFold(f.Name, "host") && !response {
				if h.HasHost {
					if !bytes.Equal(h.Host, f.Value) {
						return false, ErrHost
					}
					keep = false
				}
				h.Host, h.HasHost = f.Value, true
			}
		case 6:
			if EqualFold(f.Name, "expect") && !response {
				h.Expect100 = EqualFold(f.Value, "100-continue")
			}
		case 7:
			if EqualFold(f.Name, "upgrade") {
				h.Upgrade = f.Value
			}
		case 10:
			if EqualFold(f.Name, "connection") {
				h.connection(f.Value)
			}
		case 14:
			if EqualFold(f.Name, "content-length") {
				first := h.ContentLength < 0
				if err := h.contentLength(f.Value); err != nil {
					return false, err
				}
				keep = first
			}
		case 17:
			if EqualFold(f.Name, "transfer-encoding") {
				h.transferEncoding(f.Value, &tc)
			}
		}
		if keep {
			out = append(out, f)
		}
	}
	h.Fields = out
	if err := tc.err(h); err != nil {
		return false, err
	}
	if tc.present && h.ContentLength >= 0 {
		h.dropField("content-length") // the coding frames the body
	}
	return tc.present, nil
}

// dropField removes the fields named lower.
func (h *Head) dropField(lower string) {
	out := h.Fields[:0]
	for _, f := range h.Fields {
		if !EqualFold(f.Name, lower) {
			out = append(out, f)
		}
	}
	h.Fields = out
}

// contentLength reads one Content-Length field: a list of equal decimal
// values (RFC 9110 8.6 lets a recipient take "5, 5" as 5), equal to any
// earlier one.
func (h *Head) contentLength(v []byte) error {
	n := int64(-1)
	bad := len(v) == 0
	ForTokens(v, func(t []byte) {
		m, ok := parseDecimal(t)
		if !ok || (n >= 0 && m != n) {
			bad = true
			return
		}
		n = m
	})
	if bad || n < 0 || (h.ContentLength >= 0 && h.ContentLength != n) {
		return ErrContentLength
	}
	h.ContentLength = n
	return nil
}

// parseDecimal reads 1*DIGIT up to 10^18.
func parseDecimal(t []byte) (int64, bool) {
	if len(t) == 0 || len(t) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range t {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// codings is what the Transfer-Encoding fields of one message said.
type codings struct {
	present bool // a Transfer-Encoding field was seen
	other   bool // a coding other than chunked came before chunked
	bad     bool // an invalid element, chunked twice, or a coding after chunked
}

// transferEncoding reads one Transfer-Encoding field into c; the
// fields of a message form one list (RFC 9110 5.3).
func (h *Head) transferEncoding(v []byte, c *codings) {
	c.present = true
	ForTokens(v, func(t []byte) {
		name := t
		if i := bytes.IndexByte(t, ';'); i >= 0 {
			name = trimOWS(t[:i])
		}
		switch {
		case h.Chunked:
			c.bad = true // a coding after chunked, or chunked twice
		case EqualFold(name, "chunked"):
			h.Chunked = true
			c.bad = c.bad || len(name) != len(t) // chunked takes no parameters
		case IsToken(name):
			c.other = true
		default:
			c.bad = true
		}
	})
}

// err is the verdict on a message's codings. In a request chunked must
// be the final coding and appear once (RFC 9112 6.3: else 400), and a
// coding tandem does not decode before it is 501 (RFC 9112 6.1). A
// response must say chunked alone, as HAProxy requires.
func (c *codings) err(h *Head) error {
	switch {
	case !c.present:
		return nil
	case c.bad || !h.Chunked:
		return ErrTransferCoding
	case c.other:
		return ErrUnknownCoding
	}
	return nil
}

// connection reads the tokens of a Connection field.
func (h *Head) connection(v []byte) {
	ForTokens(v, func(t []byte) {
		switch {
		case EqualFold(t, "close"):
			h.ConnClose = true
		case EqualFold(t, "keep-alive"):
			h.ConnKeepAlive = true
		case EqualFold(t, "upgrade"):
			h.ConnUpgrade = true
		default:
			h.ConnTokens = append(h.ConnTokens, t)
		}
	})
}

// checkAuthority refuses an absolute-form target whose authority is not
// the Host field's (RFC 9112 3.2.2 says the authority wins; HAProxy
// answers 400 when they differ, and so does tandem: a server behind may
// read either). Case and a default port do not count.
func (h *Head) checkAuthority() error {
	scheme, auth, ok := Authority(h.Target)
	if !ok || !h.HasHost {
		return nil
	}
	if !sameHost(auth, h.Host, scheme) {
		return ErrHost
	}
	return nil
}

// Authority splits an absolute-form target ("http://host:port/path") into
// its scheme and authority (without userinfo). ok is false for other
// forms.
func Authority(target []byte) (scheme, auth []byte, ok bool) {
	i := bytes.Index(target, []byte("://"))
	if i <= 0 || target[0] == '/' {
		return nil, nil, false
	}
	scheme, rest := target[:i], target[i+3:]
	for _, c := range scheme {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || c == '+' || c == '-' || c == '.') {
			return nil, nil, false
		}
	}
	end := len(rest)
	for j, c := range rest {
		if c == '/' || c == '?' {
			end = j
			break
		}
	}
	auth = rest[:end]
	if at := bytes.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	return scheme, auth, true
}

// sameHost compares two host[:port] values ignoring ASCII case and the
// scheme's default port.
func sameHost(a, b, scheme []byte) bool {
	a, b = stripDefaultPort(a, scheme), stripDefaultPort(b, scheme)
	return bytes.EqualFold(a, b)
}

func stripDefaultPort(hp, scheme []byte) []byte {
	i := bytes.LastIndexByte(hp, ':')
	if i < 0 || bytes.IndexByte(hp[i:], ']') >= 0 {
		return hp
	}
	port := hp[i+1:]
	if (EqualFold(scheme, "http") && string(port) == "80") || (EqualFold(scheme, "https") && string(port) == "443") || len(port) == 0 {
		return hp[:i]
	}
	return hp
}
