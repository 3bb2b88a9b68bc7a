package haproxy

import "strconv"

// environ is the environment "${VAR}" expands from: the caller's (Options.Env)
// changed by the global section's setenv, presetenv, unsetenv and resetenv
// lines, which HAProxy applies while it reads the file, so that the lines
// after them see the change.
type environ struct {
	base    func(string) (string, bool)
	set     map[string]string // setenv, presetenv
	unset   map[string]bool   // unsetenv, resetenv
	reset   bool              // resetenv: only the names in keep survive
	keep    map[string]bool
	file    string
	line    int
	section string
}

func newEnviron(base func(string) (string, bool), file string) *environ {
	return &environ{base: base, set: map[string]string{}, unset: map[string]bool{}, file: file}
}

// lookup finds name, pseudo-variables (.FILE, .LINE, .SECTION) included.
func (e *environ) lookup(name string) (string, bool) {
	switch name {
	case ".FILE":
		return e.file, true
	case ".LINE":
		return strconv.Itoa(e.line), true
	case ".SECTION":
		return e.section, true
	}
	if v, ok := e.set[name]; ok {
		return v, true
	}
	if e.unset[name] || e.reset && !e.keep[name] || e.base == nil {
		return "", false
	}
	return e.base(name)
}

// setenv is "setenv NAME VALUE" (overwrite) or "presetenv NAME VALUE"
// (only if unset).
func (e *environ) setenv(name, value string, overwrite bool) {
	if _, ok := e.lookup(name); ok && !overwrite {
		return
	}
	e.set[name] = value
	delete(e.unset, name)
}

// unsetenv is "unsetenv NAME...".
func (e *environ) unsetenv(names ...string) {
	for _, n := range names {
		delete(e.set, n)
		e.unset[n] = true
	}
}

// resetenv is "resetenv [NAME...]": every variable but the names given is removed.
func (e *environ) resetenv(keep ...string) {
	e.reset = true
	e.keep = map[string]bool{}
	for _, n := range keep {
		e.keep[n] = true
	}
	for n := range e.set {
		if !e.keep[n] {
			delete(e.set, n)
		}
	}
}
