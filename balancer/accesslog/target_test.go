package accesslog

import (
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in   string
		net  Network
		addr string
		err  string
	}{
		{"stdout", NetStdout, "", ""},
		{"fd@1", NetStdout, "", ""},
		{"stderr", NetStderr, "", ""},
		{"/dev/log", NetUnixgram, "/dev/log", ""},
		{"unix@/run/x.sock", NetUnixgram, "/run/x.sock", ""},
		{"udp@127.0.0.1:5514", NetUDP, "127.0.0.1:5514", ""},
		{"udp@10.0.0.5", NetUDP, "10.0.0.5:514", ""},
		{"udp6@[::1]:514", NetUDP, "[::1]:514", ""},
		{"ipv4@127.0.0.1", NetUDP, "127.0.0.1:514", ""},
		{"127.0.0.1:514", NetUDP, "127.0.0.1:514", ""},
		{"127.0.0.1", NetUDP, "127.0.0.1:514", ""},
		{"syslog.example.com:1514", NetUDP, "syslog.example.com:1514", ""},
		{"::1", NetUDP, "[::1]:514", ""},
		{"[::1]:1514", NetUDP, "[::1]:1514", ""},
		{"", 0, "", "empty"},
		{"tcp@127.0.0.1:514", 0, "", "tcp@ targets are not supported"},
		{"ring@buf", 0, "", "not supported"},
		{"unix@", 0, "", "missing socket path"},
		{"udp@127.0.0.1:0", 0, "", "bad port"},
		{"udp@127.0.0.1:99999", 0, "", "bad port"},
		{"127.0.0.1:x", 0, "", "bad port"},
		{"[::1", 0, "", "missing ']'"},
		{"[::1]x", 0, "", "[IPv6]:PORT"},
		{":514", 0, "", "missing host"},
	}
	for _, tc := range tests {
		n, a, err := ParseAddress(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseAddress(%q) = %v, want an error containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || n != tc.net || a != tc.addr {
			t.Errorf("ParseAddress(%q) = %v %q %v, want %v %q", tc.in, n, a, err, tc.net, tc.addr)
		}
	}
}
