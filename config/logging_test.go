package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tandem-lb/tandem/balancer/accesslog"
)

const loggingYAML = `
global:
  log:
    - address: udp@127.0.0.1:5514
      facility: local1
      level: notice
  log_tag: lb
defaults:
  mode: http
  log:
    - address: global
    - address: stdout
      format: raw
  log_option: httplog
  dontlognull: true
frontends:
  - name: web
    bind: ["127.0.0.1:8080"]
    default_backend: app
    capture_request_headers: [{name: Host, len: 32}]
    capture_cookie: {name: "SESSION=", len: 40}
  - name: quiet
    bind: ["127.0.0.1:8081"]
    default_backend: app
    no_log: true
  - name: own
    bind: ["127.0.0.1:8084"]
    default_backend: app
    no_log: true
    log: [{address: stderr}]
  - name: custom
    bind: ["127.0.0.1:8082"]
    default_backend: app
    log: [{address: /dev/log, format: rfc5424}]
    log_format: "%ci %[capture.req.hdr(0)] %r"
    log_format_sd: '[x@1 st="%ST"]'
    capture_request_headers: [{name: User-Agent, len: 20}]
    log_separate_errors: true
  - name: raw
    bind: ["127.0.0.1:8083"]
    mode: tcp
    default_backend: tcpapp
backends:
  - name: app
    servers: [{name: s1, address: "127.0.0.1:9000"}]
  - name: tcpapp
    mode: tcp
    servers: [{name: s1, address: "127.0.0.1:9001"}]
`

func TestLoggingResolves(t *testing.T) {
	c, err := Decode("cluster.yaml", []byte(loggingYAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r := c.Resolve()
	global := LogTarget{Address: "udp@127.0.0.1:5514", Facility: "local1", Level: "notice"}
	stdout := LogTarget{Address: "stdout", Format: "raw"}
	type got struct {
		Log       []LogTarget
		Option    LogOption
		Format    string
		Null, Sep bool
	}
	want := map[string]got{
		"web":   {[]LogTarget{global, stdout}, LogOptionHTTP, accesslog.HTTPLog, true, false},
		"quiet": {nil, LogOptionHTTP, accesslog.HTTPLog, true, false},
		"own":   {[]LogTarget{{Address: "stderr"}}, LogOptionHTTP, accesslog.HTTPLog, true, false},
		// A frontend's own targets come after the inherited ones, as in HAProxy.
		"custom": {[]LogTarget{global, stdout, {Address: "/dev/log", Format: "rfc5424"}}, LogOptionUnset, "%ci %[capture.req.hdr(0)] %r", true, true},
		// An HTTP option on a TCP frontend logs tcplog, as HAProxy falls back.
		"raw": {[]LogTarget{global, stdout}, LogOptionTCP, accesslog.TCPLog, true, false},
	}
	for i := range r.Frontends {
		f := &r.Frontends[i]
		g := got{f.Log, f.LogOption, f.Logging.Format(), *f.DontLogNull, *f.LogSeparateErrors}
		if d := cmp.Diff(want[f.Name], g); d != "" {
			t.Errorf("frontend %s (-want +got):\n%s", f.Name, d)
		}
	}
	if r.Global.LogTag != "lb" {
		t.Errorf("log tag %q", r.Global.LogTag)
	}
	tg, err := global.Target()
	if err != nil || tg.Network != accesslog.NetUDP || tg.Facility != 17 || tg.MaxLevel != accesslog.LevelNotice || tg.Format != accesslog.FormatLocal {
		t.Errorf("target %+v %v", tg, err)
	}
	// The resolved config survives its own codecs (Raft carries JSON).
	if d := cmp.Diff(r, r.Clone()); d != "" {
		t.Errorf("clone differs:\n%s", d)
	}
}

func TestLoggingValidationNamesPathAndProblem(t *testing.T) {
	tests := []struct {
		name, yaml, path, msg string
	}{
		{"unknown variable", `log_format: "%ci %Xy"`, "frontends[web].log_format", "no such format variable '%Xy'"},
		{"http variable in tcp", "mode: tcp\n    log_format: \"%r\"", "frontends[web].log_format", "reserved for HTTP mode"},
		{"bad sd", `log_format_sd: "%[nosuch]"`, "frontends[web].log_format_sd", "unsupported sample fetch"},
		{"both", "log_option: httplog\n    log_format: \"%ci\"", "frontends[web].log_format", "not both"},
		{"bad option", `log_option: weblog`, "", "log option"},
		{"bad target", `log: [{address: "tcp@127.0.0.1:514"}]`, "frontends[web].log[0]", "not supported"},
		{"bad facility", `log: [{address: stdout, facility: local9}]`, "frontends[web].log[0]", "unknown log facility"},
		{"bad level", `log: [{address: stdout, level: loud}]`, "frontends[web].log[0]", "unknown log level"},
		{"bad format", `log: [{address: stdout, format: json}]`, "frontends[web].log[0]", "unknown log format"},
		{"bad len", `log: [{address: stdout, len: 10}]`, "frontends[web].log[0]", "out of range"},
		{"global with settings", `log: [{address: global, facility: local0}]`, "frontends[web].log[0]", "takes no other setting"},
		{"global twice", `log: [{address: global}, {address: global}]`, "frontends[web].log[1]", "only once"},
		{"capture name", `capture_request_headers: [{name: "a b", len: 3}]`, "frontends[web].capture_request_headers[0].name", "header"},
		{"capture len", `capture_response_headers: [{name: Server, len: 0}]`, "frontends[web].capture_response_headers[0].len", "length"},
		{"capture slot", "capture_request_headers: [{name: Host, len: 3}]\n    log_format: \"%[capture.req.hdr(1)]\"", "frontends[web].log_format", "no such capture slot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := "frontends:\n  - name: web\n    bind: [\"127.0.0.1:8080\"]\n    default_backend: app\n    " + tc.yaml +
				"\nbackends:\n  - name: app\n    servers: [{name: s1, address: \"127.0.0.1:9000\"}]\n"
			if strings.Contains(tc.yaml, "mode: tcp") {
				y = strings.Replace(y, "    servers:", "    mode: tcp\n    servers:", 1)
			}
			_, err := Load("cluster.yaml", []byte(y))
			if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want %q at %q", err, tc.msg, tc.path)
			}
		})
	}
}

// TestInheritedFormatMustCompileInEachFrontend: a defaults log_format with
// an HTTP variable cannot be inherited by a TCP frontend.
func TestInheritedFormatMustCompileInEachFrontend(t *testing.T) {
	y := `
defaults:
  log_format: "%ci %r"
frontends:
  - name: db
    mode: tcp
    bind: ["127.0.0.1:5432"]
    default_backend: pg
backends:
  - name: pg
    mode: tcp
    servers: [{name: s1, address: "127.0.0.1:5433"}]
`
	_, err := Load("cluster.yaml", []byte(y))
	if err == nil || !strings.Contains(err.Error(), "frontends[db].log_format") || !strings.Contains(err.Error(), "reserved for HTTP mode") {
		t.Fatalf("error %v", err)
	}
}

func TestGlobalLogCannotBeGlobal(t *testing.T) {
	c := &Cluster{Global: Global{GlobalLogging: GlobalLogging{Log: []LogTarget{{Address: LogGlobal}}}}}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "global.log[0].address") {
		t.Fatalf("error %v", err)
	}
}
