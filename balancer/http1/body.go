package http1

// Body is how a message's payload is delimited.
type Body int

const (
	NoBody      Body = iota // no payload
	FixedBody               // Content-Length bytes
	ChunkedBody             // the chunked coding
	UntilClose              // until the server closes (responses only)
)

// RequestBody returns how the payload of a parsed request is delimited
// and, for FixedBody, its length (RFC 9112 6.3: a request without
// Content-Length or Transfer-Encoding has none).
func (h *Head) RequestBody() (Body, int64) {
	switch {
	case h.Chunked:
		return ChunkedBody, -1
	case h.ContentLength > 0:
		return FixedBody, h.ContentLength
	}
	return NoBody, 0
}

// ResponseBody returns how the payload of a parsed response to a request
// whose method was HEAD (head) or another is delimited (RFC 9112 6.3:
// HEAD, 1xx, 204 and 304 responses have none, whatever their fields say).
func (h *Head) ResponseBody(head bool) (Body, int64) {
	switch {
	case head || h.Status < 200 || h.Status == 204 || h.Status == 304:
		return NoBody, 0
	case h.Chunked:
		return ChunkedBody, -1
	case h.ContentLength == 0:
		return NoBody, 0
	case h.ContentLength > 0:
		return FixedBody, h.ContentLength
	}
	return UntilClose, -1
}
