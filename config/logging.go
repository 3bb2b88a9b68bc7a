package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/tandem-lb/tandem/balancer/accesslog"
)

// Logging is HAProxy's traffic log of a frontend (doc/configuration.txt
// 4.2 "log", "log-format", "option httplog" and section 8), or, in
// Defaults, of the frontends that leave it unset:
//
//	log:
//	  - address: global                  # "log global": global.log's targets
//	  - address: udp@10.0.0.5:514        # "log udp@10.0.0.5:514 local0 info"
//	    facility: local0
//	    level: info
//	log_option: httplog                  # "option httplog"
//	dontlognull: true
//	capture_request_headers: [{name: Host, len: 32}]
//
// Lines go to syslog targets only; the older access_log (a file or the
// agent's standard output, tandem's own text or JSON) works beside it.
type Logging struct {
	// Log lists where lines go, each one a "log" line. An entry whose
	// address is "global" stands for global.log's targets. A frontend logs
	// to the defaults' targets and then to its own, as HAProxy adds a
	// proxy's "log" lines to those it inherits.
	Log []LogTarget `yaml:"log,omitempty" json:"log,omitempty"`
	// NoLog ("no log") drops the targets inherited from defaults.
	NoLog bool `yaml:"no_log,omitempty" json:"no_log,omitempty"`
	// LogOption picks one of HAProxy's line formats: httplog, "httplog clf",
	// httpslog or tcplog. An HTTP option on a TCP frontend logs tcplog, as
	// HAProxy falls back. Neither this nor LogFormat: HAProxy's "Connect
	// from" line, once per connection.
	LogOption LogOption `yaml:"log_option,omitempty" json:"log_option,omitempty"`
	// LogFormat is a custom "log-format" string (section 8.2.6); it
	// replaces LogOption.
	LogFormat string `yaml:"log_format,omitempty" json:"log_format,omitempty"`
	// LogFormatSD is "log-format-sd": the structured data of rfc5424 lines.
	LogFormatSD string `yaml:"log_format_sd,omitempty" json:"log_format_sd,omitempty"`
	// DontLogNull skips connections that sent nothing ("option dontlognull").
	DontLogNull *bool `yaml:"dontlognull,omitempty" json:"dontlognull,omitempty"`
	// LogSeparateErrors logs errors, retries and 5xx at level err instead
	// of info ("option log-separate-errors").
	LogSeparateErrors *bool `yaml:"log_separate_errors,omitempty" json:"log_separate_errors,omitempty"`
}

// LogTarget is one "log ADDRESS [len N] [format F] FACILITY [LEVEL [MINLEVEL]]".
type LogTarget struct {
	// Address: "/dev/log" or "unix@PATH" (a unix datagram socket),
	// "udp@HOST:PORT" or "HOST[:PORT]" (UDP, port 514 by default),
	// "stdout", "stderr", or "global" (the global targets).
	Address string `yaml:"address" json:"address"`
	// Format of the syslog header: local (default: rfc3164 without the
	// hostname), rfc3164, rfc5424, priority, short, timed, iso, raw.
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	// Len is the longest line sent, header included (80..65535; default 1024).
	Len int `yaml:"len,omitempty" json:"len,omitempty"`
	// Facility: kern ... local7 (default local0).
	Facility string `yaml:"facility,omitempty" json:"facility,omitempty"`
	// Level is the least severe level sent (default debug: everything);
	// MinLevel caps more severe levels to itself (default emerg: none).
	Level    string `yaml:"level,omitempty" json:"level,omitempty"`
	MinLevel string `yaml:"minlevel,omitempty" json:"minlevel,omitempty"`
}

// HeaderCapture is "capture request header NAME len N" (or response, or
// "capture cookie NAME len N"): what %hr, %hs, %CC and %CS log.
type HeaderCapture struct {
	Name string `yaml:"name" json:"name"`
	// Len is the most bytes of the value logged.
	Len int `yaml:"len" json:"len"`
}

// Captures are a frontend's header and cookie captures (frontends only,
// as in HAProxy).
type Captures struct {
	CaptureRequestHeaders  []HeaderCapture `yaml:"capture_request_headers,omitempty" json:"capture_request_headers,omitempty"`
	CaptureResponseHeaders []HeaderCapture `yaml:"capture_response_headers,omitempty" json:"capture_response_headers,omitempty"`
	CaptureCookie          *HeaderCapture  `yaml:"capture_cookie,omitempty" json:"capture_cookie,omitempty"`
}

// GlobalLogging are the global section's logging settings.
type GlobalLogging struct {
	// Log are the targets "log global" refers to.
	Log []LogTarget `yaml:"log,omitempty" json:"log,omitempty"`
	// LogTag is the program name in syslog headers (default "tandem").
	LogTag string `yaml:"log_tag,omitempty" json:"log_tag,omitempty"`
	// LogSendHostname puts a hostname in rfc3164 and rfc5424 headers
	// ("log-send-hostname"): the node's, or LogHostname when set.
	LogSendHostname bool   `yaml:"log_send_hostname,omitempty" json:"log_send_hostname,omitempty"`
	LogHostname     string `yaml:"log_hostname,omitempty" json:"log_hostname,omitempty"`
}

// LogOption is one of HAProxy's predefined line formats.
type LogOption int

const (
	LogOptionUnset   LogOption = iota
	LogOptionHTTP              // option httplog
	LogOptionHTTPCLF           // option httplog clf
	LogOptionHTTPS             // option httpslog
	LogOptionTCP               // option tcplog
)

var logOptionNames = []string{"", "httplog", "httplog clf", "httpslog", "tcplog"}

func (o LogOption) String() string { return enumString(logOptionNames, int(o)) }

// MarshalText implements encoding.TextMarshaler.
func (o LogOption) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *LogOption) UnmarshalText(b []byte) error {
	return enumParse(logOptionNames, "log option", b, (*int)(o))
}

// DefaultLogTag is the program name of syslog headers.
const DefaultLogTag = "tandem"

// LogGlobal is the address that stands for the global targets.
const LogGlobal = "global"

// Format returns the log-format string the frontend logs with (resolved
// config): LogFormat, or the option's format, or "" for the Connect line.
func (l *Logging) Format() string {
	if l.LogFormat != "" {
		return l.LogFormat
	}
	switch l.LogOption {
	case LogOptionHTTP:
		return accesslog.HTTPLog
	case LogOptionHTTPCLF:
		return accesslog.HTTPLogCLF
	case LogOptionHTTPS:
		return accesslog.HTTPSLog
	case LogOptionTCP:
		return accesslog.TCPLog
	}
	return ""
}

// CompileOptions are what the frontend's formats are compiled for.
func (f *Frontend) CompileOptions(mode Mode) accesslog.Options {
	o := accesslog.Options{HTTP: mode == ModeHTTP}
	for _, c := range f.CaptureRequestHeaders {
		o.RequestCaptures = append(o.RequestCaptures, accesslog.Capture{Name: c.Name, Len: c.Len})
	}
	for _, c := range f.CaptureResponseHeaders {
		o.ResponseCaptures = append(o.ResponseCaptures, accesslog.Capture{Name: c.Name, Len: c.Len})
	}
	return o
}

// Target converts t (not "global") to the balancer's form, filling the
// defaults.
func (t LogTarget) Target() (accesslog.Target, error) {
	var out accesslog.Target
	var err error
	if out.Network, out.Addr, err = accesslog.ParseAddress(t.Address); err != nil {
		return out, err
	}
	if t.Format != "" {
		if out.Format, err = accesslog.ParseFormat(t.Format); err != nil {
			return out, err
		}
	}
	out.Facility = 16 // local0
	if t.Facility != "" {
		if out.Facility, err = accesslog.ParseFacility(t.Facility); err != nil {
			return out, err
		}
	}
	out.MaxLevel = accesslog.LevelDebug
	if t.Level != "" {
		if out.MaxLevel, err = accesslog.ParseLevel(t.Level); err != nil {
			return out, err
		}
	}
	if t.MinLevel != "" {
		if out.MinLevel, err = accesslog.ParseLevel(t.MinLevel); err != nil {
			return out, err
		}
	}
	if t.Len != 0 && (t.Len < 80 || t.Len > 65535) {
		return out, fmt.Errorf("len %d is out of range (80 to 65535)", t.Len)
	}
	out.MaxLen = t.Len
	return out, nil
}

// logging returns the defaults' logging settings (none: zero).
func (d *Defaults) logging() *Logging {
	if d.Logging == nil {
		return &Logging{}
	}
	return d.Logging
}

// resolveLogging makes a frontend's logging concrete (Resolve): targets
// inherited from defaults and "global" expanded, formats and options
// inherited, an HTTP option on a TCP frontend turned into tcplog.
func resolveLogging(r *Cluster) {
	d := r.Defaults.logging()
	for i := range r.Frontends {
		f := &r.Frontends[i]
		l := &f.Logging
		var own []LogTarget
		if !l.NoLog {
			own = append(own, d.Log...)
		}
		own = append(own, l.Log...)
		var targets []LogTarget
		for _, t := range own {
			if t.Address == LogGlobal {
				targets = append(targets, r.Global.Log...)
				continue
			}
			targets = append(targets, t)
		}
		l.Log, l.NoLog = targets, false
		if l.LogOption == LogOptionUnset && l.LogFormat == "" {
			l.LogOption, l.LogFormat = d.LogOption, d.LogFormat
		}
		if l.LogFormatSD == "" {
			l.LogFormatSD = d.LogFormatSD
		}
		l.DontLogNull = pickPtr(l.DontLogNull, d.DontLogNull != nil && *d.DontLogNull)
		l.LogSeparateErrors = pickPtr(l.LogSeparateErrors, d.LogSeparateErrors != nil && *d.LogSeparateErrors)
		if f.Mode == ModeTCP && l.LogOption != LogOptionUnset && l.LogOption != LogOptionTCP {
			l.LogOption = LogOptionTCP
		}
	}
	if r.Global.LogTag == "" {
		r.Global.LogTag = DefaultLogTag
	}
}

var headerNameRE = regexp.MustCompile(`^[!#$%&'*+.^_` + "`" + `|~0-9A-Za-z-]+$`)

// validateLogging checks the logging settings of global, defaults and
// every frontend.
func (c *Cluster) validateLogging(es *Errors) {
	for i, t := range c.Global.Log {
		p := fmt.Sprintf("global.log[%d]", i)
		if t.Address == LogGlobal {
			es.add(p+".address", `"global" is only for defaults and frontends: it names these targets`)
			continue
		}
		t.validate(es, p)
	}
	c.Defaults.logging().validate(es, "defaults", accesslog.Options{HTTP: pick(c.Defaults.Mode, DefaultMode) == ModeHTTP})
	for i := range c.Frontends {
		f := &c.Frontends[i]
		path := itemPath("frontends", f.Name, i)
		mode := pick(f.Mode, pick(c.Defaults.Mode, DefaultMode))
		for j, h := range f.CaptureRequestHeaders {
			validateCapture(es, fmt.Sprintf("%s.capture_request_headers[%d]", path, j), h)
		}
		for j, h := range f.CaptureResponseHeaders {
			validateCapture(es, fmt.Sprintf("%s.capture_response_headers[%d]", path, j), h)
		}
		if f.CaptureCookie != nil {
			c := *f.CaptureCookie
			c.Name = strings.TrimSuffix(c.Name, "=") // "NAME=" matches the exact name
			validateCapture(es, path+".capture_cookie", c)
		}
		f.Logging.validate(es, path, f.CompileOptions(mode))
		// Formats inherited from defaults must compile for this frontend's
		// mode and captures too.
		df := c.Defaults.logging()
		if f.LogFormat == "" && f.LogOption == LogOptionUnset && df.LogFormat != "" {
			if _, err := accesslog.Compile(df.LogFormat, f.CompileOptions(mode)); err != nil {
				es.add(path+".log_format", "the log_format inherited from defaults does not compile here: %v", err)
			}
		}
		if f.LogFormatSD == "" && df.LogFormatSD != "" {
			if _, err := accesslog.Compile(df.LogFormatSD, f.CompileOptions(mode)); err != nil {
				es.add(path+".log_format_sd", "the log_format_sd inherited from defaults does not compile here: %v", err)
			}
		}
	}
}

// validate checks l; o says what its formats are compiled for. An HTTP
// log option in TCP mode is not an error: HAProxy falls back to tcplog
// with a warning, and so does Resolve.
func (l *Logging) validate(es *Errors, path string, o accesslog.Options) {
	globals := 0
	for i, t := range l.Log {
		p := fmt.Sprintf("%s.log[%d]", path, i)
		if t.Address == LogGlobal {
			globals++
			if t != (LogTarget{Address: LogGlobal}) {
				es.add(p, `"global" takes no other setting (they are global.log's)`)
			}
			if globals == 2 {
				es.add(p, `"global" may appear only once`)
			}
			continue
		}
		t.validate(es, p)
	}
	if l.LogFormat != "" && l.LogOption != LogOptionUnset {
		es.add(path+".log_format", "set log_format or log_option (%s), not both", l.LogOption)
	}
	if l.LogFormat != "" {
		if _, err := accesslog.Compile(l.LogFormat, o); err != nil {
			es.add(path+".log_format", "%v", err)
		}
	}
	if l.LogFormatSD != "" {
		if _, err := accesslog.Compile(l.LogFormatSD, o); err != nil {
			es.add(path+".log_format_sd", "%v", err)
		}
	}
}

func (t LogTarget) validate(es *Errors, path string) {
	if _, err := t.Target(); err != nil {
		es.add(path, "%v", err)
	}
}

func validateCapture(es *Errors, path string, h HeaderCapture) {
	if !headerNameRE.MatchString(h.Name) {
		es.add(path+".name", "want a header or cookie name (got %q)", h.Name)
	}
	if h.Len <= 0 || h.Len > 65535 {
		es.add(path+".len", "want a length from 1 to 65535 (got %d)", h.Len)
	}
}
