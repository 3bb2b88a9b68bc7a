package health

import (
	"fmt"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// verdict is what one check (or one passive report) says about a server.
type verdict int

const (
	pass verdict = iota // healthy: connect ok, or an expected HTTP status
	fail                // unhealthy
	stop                // alive but asks for no new traffic: 404 with disable-on-404 (HAProxy "L7OKC")
)

// machine is the rise/fall state machine of one server. It does no I/O and
// reads no clock, so tests step it directly. The owning server's mutex
// guards it.
//
// Rules (HAProxy's, with streaks of consecutive results):
//   - Unknown is "up, at the edge", as HAProxy starts servers: the first
//     failed check takes it Down, the first good check makes it Up, and a
//     first 404 with disable-on-404 makes it NoLB.
//   - Up: Fall consecutive failures take it Down; a 404 with disable-on-404
//     makes it NoLB at once.
//   - NoLB: a good check makes it Up at once; Fall consecutive failures take
//     it Down; further 404s keep it NoLB.
//   - Down: Rise consecutive good checks bring it Up. A 404 with
//     disable-on-404 counts as a failure there: a down server stays down.
//   - A result of another kind than the previous one restarts the streak.
type machine struct {
	rise, fall int
	health     config.Health
	last       verdict // kind of the latest result; meaningful when streak > 0
	streak     int     // consecutive results of kind last; 0 before the first
}

// observe feeds one check verdict. When the health changes it returns the
// previous health, changed=true and why it changed ("2 consecutive
// failures"), for the transition's reason.
func (m *machine) observe(v verdict) (from config.Health, changed bool, why string) {
	if v == stop && m.health == config.HealthDown {
		v = fail
	}
	m.count(v)
	from = m.health
	switch m.health {
	case config.HealthUnknown:
		m.health, why = firstHealth(v), "first check"
	case config.HealthUp, config.HealthNoLB:
		switch {
		case v == fail && m.streak >= m.fall:
			m.health, why = config.HealthDown, consecutive(m.streak, "failure", "failures")
		case v == stop && m.health == config.HealthUp:
			m.health, why = config.HealthNoLB, "disable-on-404"
		case v == pass && m.health == config.HealthNoLB:
			m.health, why = config.HealthUp, "no longer 404"
		}
	case config.HealthDown:
		if v == pass && m.streak >= m.rise {
			m.health, why = config.HealthUp, consecutive(m.streak, "success", "successes")
		}
	}
	return from, m.health != from, why
}

// markDown applies a passive failure: a server that is not down goes down at
// once (it counts as one more failure); a down server is left alone. It
// reports whether the health changed.
func (m *machine) markDown() (from config.Health, changed bool) {
	if m.health == config.HealthDown {
		return m.health, false
	}
	m.count(fail)
	from, m.health = m.health, config.HealthDown
	return from, true
}

func (m *machine) count(v verdict) {
	if m.streak > 0 && v == m.last {
		m.streak++
		return
	}
	m.last, m.streak = v, 1
}

// interval is the wait before the next check, as HAProxy's srv_getinter:
// DownInter while down, FastInter while a streak toward the other state is
// in progress, Inter while stable.
func (m *machine) interval(t config.CheckTiming) time.Duration {
	switch {
	case m.health == config.HealthDown && m.last == pass && m.streak > 0:
		return t.FastInter.D()
	case m.health == config.HealthDown:
		return t.DownInter.D()
	case m.last == fail && m.streak > 0:
		return t.FastInter.D()
	default:
		return t.Inter.D()
	}
}

// firstHealth is the health after the first check of a server in Unknown.
func firstHealth(v verdict) config.Health {
	switch v {
	case pass:
		return config.HealthUp
	case stop:
		return config.HealthNoLB
	default:
		return config.HealthDown
	}
}

func consecutive(n int, one, many string) string {
	if n == 1 {
		return "1 consecutive " + one
	}
	return fmt.Sprintf("%d consecutive %s", n, many)
}

// suddenDeath leaves a server that is not down one failed check away from
// down (HAProxy's on-error sudden-death).
func (m *machine) suddenDeath() {
	if m.health == config.HealthDown || m.fall <= 1 {
		return
	}
	if m.last != fail || m.streak < m.fall-1 {
		m.last, m.streak = fail, m.fall-1
	}
}
