package accesslog

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Network is how a target is reached.
type Network uint8

const (
	NetUDP      Network = iota // a syslog server over UDP
	NetUnixgram                // a unix datagram socket (/dev/log)
	NetStdout
	NetStderr
)

var networkNames = [...]string{"udp", "unixgram", "stdout", "stderr"}

func (n Network) String() string {
	if int(n) < len(networkNames) {
		return networkNames[n]
	}
	return "network(" + strconv.Itoa(int(n)) + ")"
}

// DefaultSyslogPort is used when a UDP address has no port.
const DefaultSyslogPort = "514"

// Target is one "log" line: where lines go and how they are framed.
type Target struct {
	Network Network
	Addr    string // host:port (UDP) or a path (unixgram); "" otherwise
	Format  Format
	// Facility is ignored by the short, timed, iso and raw formats.
	Facility Facility
	// MaxLevel drops lines less severe than it (HAProxy's <level>);
	// MinLevel raises the severity of lines more severe than it to it
	// (HAProxy's <minlevel>: logs are capped, e.g. emerg → notice).
	MaxLevel, MinLevel Level
	// MaxLen is the longest line sent, header included (HAProxy's "len",
	// 80 to 65535; 0: DefaultMaxLen).
	MaxLen int
}

// String is the target as a "log" line would name it.
func (t Target) String() string {
	var b strings.Builder
	switch t.Network {
	case NetUDP:
		b.WriteString("udp@" + t.Addr)
	case NetUnixgram:
		b.WriteString("unix@" + t.Addr)
	default:
		b.WriteString(t.Network.String())
	}
	if t.MaxLen != 0 {
		fmt.Fprintf(&b, " len %d", t.MaxLen)
	}
	fmt.Fprintf(&b, " format %s %s %s %s", t.Format, t.Facility, t.MaxLevel, t.MinLevel)
	return b.String()
}

// ParseAddress reads a "log" address (section 4.2): "stdout", "stderr",
// "fd@1", "fd@2", a path or "unix@PATH" (a datagram socket such as
// /dev/log), "udp@HOST[:PORT]" ("udp4@", "udp6@", "ipv4@", "ipv6@"), or
// "HOST[:PORT]" (UDP; the port defaults to 514).
func ParseAddress(s string) (Network, string, error) {
	switch s {
	case "stdout", "fd@1":
		return NetStdout, "", nil
	case "stderr", "fd@2":
		return NetStderr, "", nil
	case "":
		return 0, "", fmt.Errorf("empty log address")
	}
	if strings.HasPrefix(s, "/") {
		return NetUnixgram, s, nil
	}
	if i := strings.Index(s, "@"); i >= 0 {
		prefix, rest := s[:i], s[i+1:]
		switch prefix {
		case "unix":
			if rest == "" {
				return 0, "", fmt.Errorf("log address %q: missing socket path", s)
			}
			return NetUnixgram, rest, nil
		case "udp", "udp4", "udp6", "ipv4", "ipv6":
			a, err := udpAddr(rest)
			if err != nil {
				return 0, "", fmt.Errorf("log address %q: %w", s, err)
			}
			return NetUDP, a, nil
		}
		return 0, "", fmt.Errorf("log address %q: %s@ targets are not supported (use udp@HOST:PORT, unix@PATH, a path, stdout or stderr)", s, prefix)
	}
	a, err := udpAddr(s)
	if err != nil {
		return 0, "", fmt.Errorf("log address %q: %w", s, err)
	}
	return NetUDP, a, nil
}

// udpAddr normalizes HOST[:PORT], IPv6 in brackets or bare ("::1" has no
// port: HAProxy reads an IPv6 address without brackets whole).
func udpAddr(s string) (string, error) {
	host, port := s, DefaultSyslogPort
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return "", fmt.Errorf("missing ']'")
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" {
			if !strings.HasPrefix(rest, ":") || len(rest) == 1 {
				return "", fmt.Errorf("want [IPv6]:PORT")
			}
			port = rest[1:]
		}
	case strings.Count(s, ":") == 1:
		host, port = s[:strings.IndexByte(s, ':')], s[strings.IndexByte(s, ':')+1:]
	}
	if host == "" {
		return "", fmt.Errorf("missing host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("bad port %q (want 1 to 65535)", port)
	}
	return net.JoinHostPort(host, port), nil
}
