package health

import (
	"strconv"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// Observe is live traffic's verdict on one exchange with a server whose
// config has observe (HAProxy's "observe layer4|layer7"): ok resets the
// count of consecutive errors; at error-limit errors the on-error action
// runs and the count starts again. what names the error for the result
// ("connection refused", "HTTP 502"). Servers without observe are ignored.
// Safe to call from any goroutine; it does not block on checks.
func (m *Monitor) Observe(key config.ServerKey, ok bool, what string) {
	m.mu.Lock()
	s := m.servers[key]
	m.mu.Unlock()
	if s == nil || s.spec.observe == nil {
		return
	}
	if s.observe(ok, what, time.Now(), m.emit) {
		s.wakeUp()
	}
}

// observe counts one observation and reports whether on-error fired (the
// next check is then due at fastinter).
func (s *server) observe(ok bool, what string, at time.Time, emit func(Transition)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired {
		return false
	}
	if ok {
		s.obsErrs = 0
		return false
	}
	o := s.spec.observe
	s.obsErrs++
	if s.obsErrs < o.ErrorLimit {
		return false
	}
	s.obsErrs = 0
	s.fast = true
	desc := "observe " + o.Layer.String() + ": " + strconv.Itoa(o.ErrorLimit) + " consecutive errors (" + what + "), " + o.OnError.String()
	switch o.OnError {
	case config.OnErrorFailCheck:
		_, changed, why := s.m.observe(fail)
		if changed {
			desc += ", " + why
		}
	case config.OnErrorSuddenDeath:
		s.m.suddenDeath()
	case config.OnErrorMarkDown:
		s.m.markDown()
	default: // fastinter only
		return true
	}
	s.st.LastResult, s.st.LastStatus, s.st.LastCode, s.st.LastStep, s.st.LastRead = desc, "", 0, 0, ""
	s.st.LastCheck = at
	s.settle(desc, at, emit)
	return true
}
