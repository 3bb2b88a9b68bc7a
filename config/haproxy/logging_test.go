package haproxy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

func TestLoggingMapped(t *testing.T) {
	cfg := "global\n log /dev/log local0 info\n log udp@10.0.0.5:514 len 2048 format rfc5424 local1 notice err\n log-tag lb\n log-send-hostname lb1\n" +
		"defaults\n mode http\n timeout client 1s\n timeout connect 1s\n timeout server 1s\n log global\n option httplog\n option dontlognull\n" +
		"frontend web\n bind :80\n log 127.0.0.1:5514 local2\n capture request header Host len 32\n capture response header Server len 16\n capture cookie SRV len 8\n default_backend app\n" +
		"frontend custom\n bind :81\n no log\n log stdout format raw daemon\n log-format \"%ci %ST %b\"\n option log-separate-errors\n default_backend app\n" +
		"listen db\n mode tcp\n bind :3306\n option tcplog\n no option dontlognull\n server s 10.0.0.2:3306\n" +
		"backend app\n log global\n server s 10.0.0.1:80\n"
	c, warns, errs := translateCfg(cfg, Options{})
	if errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	want := config.GlobalLogging{
		Log: []config.LogTarget{{Address: "/dev/log", Facility: "local0", Level: "info"},
			{Address: "udp@10.0.0.5:514", Len: 2048, Format: "rfc5424", Facility: "local1", Level: "notice", MinLevel: "err"}},
		LogTag: "lb", LogSendHostname: true, LogHostname: "lb1",
	}
	if d := cmp.Diff(want, c.Global.GlobalLogging); d != "" {
		t.Errorf("global (-want +got):\n%s", d)
	}
	byName := map[string]config.Frontend{}
	for _, f := range c.Frontends {
		byName[f.Name] = f
	}
	yes, no := ptr(true), ptr(false)
	for name, want := range map[string]config.Logging{
		"web": {Log: []config.LogTarget{{Address: "global"}, {Address: "127.0.0.1:5514", Facility: "local2"}},
			LogOption: config.LogOptionHTTP, DontLogNull: yes},
		"custom": {Log: []config.LogTarget{{Address: "stdout", Format: "raw", Facility: "daemon"}},
			LogFormat: "%ci %ST %b", DontLogNull: yes, LogSeparateErrors: yes},
		"db": {Log: []config.LogTarget{{Address: "global"}}, LogOption: config.LogOptionTCP, DontLogNull: no},
	} {
		if d := cmp.Diff(want, byName[name].Logging); d != "" {
			t.Errorf("frontend %s (-want +got):\n%s", name, d)
		}
	}
	wantCap := config.Captures{CaptureRequestHeaders: []config.HeaderCapture{{Name: "Host", Len: 32}},
		CaptureResponseHeaders: []config.HeaderCapture{{Name: "Server", Len: 16}}, CaptureCookie: &config.HeaderCapture{Name: "SRV", Len: 8}}
	if d := cmp.Diff(wantCap, byName["web"].Captures); d != "" {
		t.Errorf("captures (-want +got):\n%s", d)
	}
	checkPrefixes(t, "warnings", warnStrings(warns), []string{"35: 'log global' ignored: tandem writes a request's log line with its frontend's targets"}, true)
	if err := c.Validate(); err != nil {
		t.Errorf("the import does not validate: %v", err)
	}
}

func TestLoggingErrors(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{"global\n log\n", "2: 'log' wants an address"},
		{"global\n log /dev/log\n", "2: 'log /dev/log' wants a facility"},
		{"global\n log /dev/log len x local0\n", "2: 'log ... len x': want a number"},
		{timeoutsHTTP + "frontend f\n bind :80\n capture request header Host\n default_backend b\nbackend b\n server s 10.0.0.1:80\n", "8: 'capture' wants"},
	} {
		_, _, errs := translateCfg(tc.cfg, Options{})
		checkPrefixes(t, tc.cfg, errStrings(errs), []string{tc.want}, false)
	}
	// A format config.Validate refuses comes back at its line.
	_, _, err := Parse("t.cfg", []byte(timeoutsHTTP+"frontend f\n bind :80\n log-format \"%zz\"\n default_backend b\nbackend b\n server s 10.0.0.1:80\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "t.cfg:8: frontends[f].log_format") {
		t.Errorf("unknown log-format variable: %v", err)
	}
}
