package http1

// Error is a message that cannot be forwarded. Status is what a server
// answers for a bad request (400, 431, 501, 505); a bad response is a 502
// whatever its Status.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func errorf(status int, reason string) *Error { return &Error{Status: status, Reason: reason} }

// The errors Parse* return. They are values, compare them with ==.
var (
	ErrTooLarge       = errorf(431, "the header is too large")
	ErrTooManyFields  = errorf(431, "too many header fields")
	ErrRequestLine    = errorf(400, "malformed request line")
	ErrMethod         = errorf(400, "invalid method")
	ErrTarget         = errorf(400, "invalid request target")
	ErrVersion        = errorf(505, "unsupported HTTP version")
	ErrStatusLine     = errorf(400, "malformed status line")
	ErrFieldName      = errorf(400, "invalid header field name")
	ErrFieldValue     = errorf(400, "invalid character in a header field value")
	ErrFold           = errorf(400, "a folded header line with no field before it")
	ErrContentLength  = errorf(400, "invalid Content-Length")
	ErrTransferCoding = errorf(400, "invalid Transfer-Encoding: chunked must be the final coding, once")
	ErrUnknownCoding  = errorf(501, "unsupported transfer coding")
	ErrHost           = errorf(400, "conflicting Host")
	ErrChunk          = errorf(400, "malformed chunked encoding")
	ErrTrailer        = errorf(400, "malformed or too large trailer section")
)
