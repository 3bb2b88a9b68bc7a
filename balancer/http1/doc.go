// Package http1 is the HTTP/1.x wire format (RFC 9110, RFC 9112) as the
// balancer reads it: request and response heads, their framing
// (Content-Length, Transfer-Encoding), connection options, and the chunked
// transfer coding. Everything here is a pure function over bytes: no
// sockets, no buffering policy, no knowledge of frontends or servers.
//
// The rules follow the RFCs where they are strict, and HAProxy 2.6 where
// the RFCs leave a choice (measured side by side: see the README's table
// "What the HTTP/1 front end accepts"). Where the two differ the stricter
// wins, so that tandem never forwards a message that the next hop could
// frame differently:
//   - a bare CR, or a NUL, in a field value is an error (RFC 9110 5.5;
//     HAProxy forwards NUL);
//   - obs-fold is replaced by spaces (RFC 9112 5.2, as HAProxy does);
//   - Content-Length is a list of equal decimal values ("5, 5" is 5);
//   - Transfer-Encoding must end with chunked exactly once in a request;
//     in a response it must be chunked alone (HAProxy's rule);
//   - a request with both Content-Length and Transfer-Encoding, or with
//     Transfer-Encoding in HTTP/1.0, is framed by chunked and the
//     connection closes after it (RFC 9112 6.1);
//   - two Host fields with different values, or an absolute-form target
//     whose authority differs from Host, are errors.
//
// Invariants: Parse* never read outside the buffer they are given, never
// allocate once a Head's slices have grown, and leave a Head whose slices
// all alias that buffer. A head that parses, serialised by AppendHead,
// parses again to the same Head.
//
// It imports only the standard library.
package http1
