package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// The PROXY protocol (haproxy.org's proxy-protocol.txt, versions 1 and 2):
// a frontend behind another load balancer reads the client's address from
// a header (AcceptProxy), and a server behind tandem gets one (ServerProxy).

// AcceptProxy makes a frontend read a PROXY protocol header, version 1 or
// 2, at the start of every connection, before TLS (HAProxy's bind option
// "accept-proxy"). The header's source address is the client's everywhere:
// src in rules, X-Forwarded-For, the access log, balance source and stick
// tables. A connection without a valid header is closed, counted and logged.
type AcceptProxy struct {
	// Trusted lists the peers (addresses or prefixes, "10.0.0.0/8") that
	// may connect at all: a connection from any other peer is closed
	// before a byte is read, so no one else can claim a client address.
	// Empty: every peer must send a header.
	Trusted []string `yaml:"trusted,omitempty" json:"trusted,omitempty"`
}

// ServerProxy are a server's PROXY protocol options (embedded in Server).
type ServerProxy struct {
	// SendProxy sends a PROXY protocol header naming the client on every
	// connection to the server (HAProxy "send-proxy": v1, "send-proxy-v2":
	// v2). With it, server connections are never shared between clients.
	SendProxy ProxyVersion `yaml:"send_proxy,omitempty" json:"send_proxy,omitempty"`
	// ProxyV2Authority adds the TLS SNI the client sent (or the authority
	// a PROXY header brought) as a PP2_TYPE_AUTHORITY TLV (HAProxy
	// "proxy-v2-options authority"). The ALPN the client negotiated is
	// always sent (PP2_TYPE_ALPN), as HAProxy does.
	ProxyV2Authority bool `yaml:"proxy_v2_authority,omitempty" json:"proxy_v2_authority,omitempty"`
	// ProxyV2CRC32C adds a PP2_TYPE_CRC32C checksum TLV ("proxy-v2-options crc32c").
	ProxyV2CRC32C bool `yaml:"proxy_v2_crc32c,omitempty" json:"proxy_v2_crc32c,omitempty"`
}

// ProxyVersion is a PROXY protocol version.
type ProxyVersion int

const (
	ProxyNone ProxyVersion = iota
	ProxyV1
	ProxyV2
)

var proxyNames = []string{"", "v1", "v2"}

func (v ProxyVersion) String() string { return enumString(proxyNames, int(v)) }

// MarshalText implements encoding.TextMarshaler.
func (v ProxyVersion) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *ProxyVersion) UnmarshalText(b []byte) error {
	return enumParse(proxyNames, "PROXY protocol version", b, (*int)(v))
}

// TrustedPrefixes parses Trusted; Validate has checked it.
func (a *AcceptProxy) TrustedPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range a.Trusted {
		p, err := parsePrefixOrAddr(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("want an address or a prefix like 10.0.0.0/8 (got %q)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("want an address or a prefix like 10.0.0.0/8 (got %q)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (a *AcceptProxy) validate(es *Errors, path string) {
	for i, s := range a.Trusted {
		if _, err := parsePrefixOrAddr(s); err != nil {
			es.add(fmt.Sprintf("%s.trusted[%d]", path, i), "%v", err)
		}
	}
}

func (p ServerProxy) validate(es *Errors, path string) {
	if p.SendProxy < ProxyNone || p.SendProxy > ProxyV2 {
		es.add(path+".send_proxy", "want v1 or v2")
	}
	if (p.ProxyV2Authority || p.ProxyV2CRC32C) && p.SendProxy != ProxyV2 {
		es.add(path+".send_proxy", "proxy_v2_authority and proxy_v2_crc32c need send_proxy: v2")
	}
}
