// Package accesslog is the traffic log as HAProxy writes it: log-format
// strings compiled once per config version into a Program, a Program
// formatting a plain Record into one line, syslog framing (RFC 3164,
// RFC 5424, short, raw and HAProxy's other header formats) as pure
// functions, and Writers that send framed lines to a target (UDP, a unix
// datagram socket such as /dev/log, stdout or stderr) from a bounded queue.
//
// The reference is HAProxy 2.6: doc/configuration.txt section 8.2 (log
// formats and their variables), 4.2 "log" (targets, formats, facilities and
// levels) and src/log.c (the exact bytes). Comments name the section.
//
// Invariants:
//   - Compile is the only parser: an unknown variable, an unsupported
//     sample fetch or a malformed expression is an *Error naming it and its
//     byte position; a compiled Program never fails at run time.
//   - Program.Append allocates nothing: it appends to the caller's buffer.
//   - Writer.Log never blocks and never allocates: a line that does not fit
//     in the queue is dropped and counted (Writer.Stats), so a log target
//     that is slow, full or unreachable never slows the data plane.
//   - Every goroutine is started by Writer.Run and has exited when it
//     returns.
//
// It imports no tandem package. The balancer core fills Records from its
// exchanges and owns the Writers; config calls Compile and ParseTarget to
// validate a cluster config before it is applied.
package accesslog
