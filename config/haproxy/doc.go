// Package haproxy imports a haproxy.cfg into tandem's cluster config
// (config.Cluster), so a site that runs HAProxy today moves to tandem with
// the file it has.
//
// Invariants:
//   - Nothing is dropped silently: every directive either maps to the
//     config or yields a Warning naming its file:line.
//   - Every error is reported, not only the first, each as a
//     config.FieldError with File and Line.
//   - The result is not resolved: the defaults section becomes
//     Cluster.Defaults and the other sections keep inheriting from it.
//   - A listen section becomes a frontend and a backend of the same name;
//     each of its directives goes to the side HAProxy's docs give it
//     (timeout client, bind, maxconn: frontend; timeout server/connect,
//     balance, server, option httpchk: backend).
//
// It does no I/O (the caller reads the file) and imports only config.
package haproxy
