// Package proxyproto is the PROXY protocol wire format, versions 1 and 2
// (haproxy.org's proxy-protocol.txt, shipped by Debian's haproxy package
// as /usr/share/doc/haproxy/proxy-protocol.txt.gz): parsing the header a
// load balancer in front of tandem sends, and writing the one tandem sends
// to servers. Pure functions over bytes: no sockets, no deadlines, no
// policy about who may send a header (that is the balancer's accept-proxy).
//
// Parse is strict where the specification is: a v1 line is at most 107
// bytes, ends in CRLF and names TCP4, TCP6 or UNKNOWN with addresses of
// that family and decimal ports; a v2 header has the 12-byte signature,
// version 2, a known command and family, an address block of the
// family's size, and TLVs that fill the rest exactly (a CRC32C TLV must
// match). A LOCAL (v2) or UNKNOWN (v1) header, or a v2 family that carries
// no IP address (UNSPEC, UNIX), parses as Local: the connection's own
// addresses stand.
//
// Invariants: Parse never reads outside its input and returns either a
// header with its exact length, ErrNeedMore (the input is a prefix of a
// header that may still be valid), or an error; Append's output parses
// back to the same addresses and TLVs.
//
// It imports only the standard library.
package proxyproto
