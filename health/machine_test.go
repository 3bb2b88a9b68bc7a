package health

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

// steps: P = pass, F = fail, S = 404 with disable-on-404.
// want:  U = up, D = down, N = nolb, ? = unknown (health after each step).
func TestMachineRiseFall(t *testing.T) {
	tests := []struct {
		name       string
		rise, fall int
		steps      string
		want       string
	}{
		{"first good check makes unknown up", 2, 2, "P", "U"},
		{"first failed check makes unknown down", 2, 2, "F", "D"},
		{"first 404 with disable-on-404 makes unknown nolb", 2, 2, "S", "N"},
		{"fall consecutive failures take up down", 2, 2, "PFF", "UUD"},
		{"fall 3", 2, 3, "PFFF", "UUUD"},
		{"a success resets the fall streak", 2, 2, "PFPF", "UUUU"},
		{"fall streak after reset", 2, 2, "PFPFF", "UUUUD"},
		{"rise consecutive successes bring down up", 2, 2, "FPP", "DDU"},
		{"a failure resets the rise streak", 2, 2, "FPFP", "DDDD"},
		{"rise streak after reset", 2, 2, "FPFPP", "DDDDU"},
		{"rise 1 fall 1", 1, 1, "PFPF", "UDUD"},
		{"stable up stays up", 2, 2, "PPPP", "UUUU"},
		{"stable down stays down", 2, 2, "FFFF", "DDDD"},
		{"404 takes up to nolb at once", 2, 2, "PS", "UN"},
		{"nolb stays nolb on 404", 2, 2, "PSS", "UNN"},
		{"good check makes nolb up at once", 2, 2, "PSP", "UNU"},
		{"fall failures take nolb down", 2, 2, "PSFF", "UNND"},
		{"404 resets the fall streak", 2, 2, "PFSF", "UUNN"},
		{"down stays down on 404", 2, 2, "FSS", "DDD"},
		{"404 on down resets the rise streak", 2, 2, "FPSPP", "DDDDU"},
		{"the article: 2 s inter, rise 2 fall 2, rename and restore", 2, 2, "PPFFFPP", "UUUDDDU"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := machine{rise: tt.rise, fall: tt.fall}
			var got []byte
			for _, c := range tt.steps {
				m.observe(verdictOf(t, c))
				got = append(got, healthLetter(m.health))
			}
			if string(got) != tt.want {
				t.Errorf("steps %s: health %s, want %s", tt.steps, got, tt.want)
			}
		})
	}
}

func TestMachineReasons(t *testing.T) {
	type edge struct {
		From, To config.Health
		Why      string
	}
	m := machine{rise: 3, fall: 2}
	var got []edge
	for _, c := range "PFFPPPSPF" {
		if from, changed, why := m.observe(verdictOf(t, c)); changed {
			got = append(got, edge{from, m.health, why})
		}
	}
	want := []edge{
		{config.HealthUnknown, config.HealthUp, "first check"},
		{config.HealthUp, config.HealthDown, "2 consecutive failures"},
		{config.HealthDown, config.HealthUp, "3 consecutive successes"},
		{config.HealthUp, config.HealthNoLB, "disable-on-404"},
		{config.HealthNoLB, config.HealthUp, "no longer 404"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}

	one := machine{rise: 1, fall: 1}
	one.observe(pass)
	if _, _, why := one.observe(fail); why != "1 consecutive failure" {
		t.Errorf("fall 1 reason = %q", why)
	}
}

func TestMachineMarkDown(t *testing.T) {
	tests := []struct {
		name        string
		steps       string
		wantChanged bool
		wantStreak  int
	}{
		{"unknown goes down", "", true, 1},
		{"up goes down", "PP", true, 1},
		{"up with failures in progress goes down", "PF", true, 2},
		{"nolb goes down", "PS", true, 1},
		{"down is left alone", "F", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := machine{rise: 2, fall: 3}
			for _, c := range tt.steps {
				m.observe(verdictOf(t, c))
			}
			_, changed := m.markDown()
			if changed != tt.wantChanged || m.health != config.HealthDown || m.streak != tt.wantStreak {
				t.Errorf("markDown: changed %v health %v streak %d, want %v down %d",
					changed, m.health, m.streak, tt.wantChanged, tt.wantStreak)
			}
			// Active checks bring it back after rise successes.
			m.observe(pass)
			m.observe(pass)
			if m.health != config.HealthUp {
				t.Errorf("after rise successes: %v, want up", m.health)
			}
		})
	}
}

func TestMachineInterval(t *testing.T) {
	timing := config.CheckTiming{
		Inter:     config.Duration(2 * time.Second),
		FastInter: config.Duration(500 * time.Millisecond),
		DownInter: config.Duration(5 * time.Second),
		Rise:      2, Fall: 3,
	}
	tests := []struct {
		steps string
		want  time.Duration
	}{
		{"", 2 * time.Second},                   // unknown
		{"P", 2 * time.Second},                  // stable up
		{"PF", 500 * time.Millisecond},          // going down
		{"PFF", 500 * time.Millisecond},         // still going down
		{"PFFF", 5 * time.Second},               // down
		{"PFFFP", 500 * time.Millisecond},       // coming back
		{"PFFFPP", 2 * time.Second},             // up again
		{"PS", 2 * time.Second},                 // stable nolb
		{"PSF", 500 * time.Millisecond},         // nolb going down
		{"F", 5 * time.Second},                  // down after the first check
		{"FPF", 5 * time.Second},                // rise streak reset
		{"FPFP", 500 * time.Millisecond},        // rising again
		{"FS", 5 * time.Second},                 // 404 on down is a failure
		{"PFFFPPF", 500 * time.Millisecond},     // going down again
		{"PFFFPPFP", 2 * time.Second},           // back to stable
		{"PFFFPPFPS", 2 * time.Second},          // nolb
		{"PFFFPPFPSP", 2 * time.Second},         // up
		{"PFFFPPFPSPF", 500 * time.Millisecond}, // going down
	}
	for _, tt := range tests {
		t.Run("steps="+tt.steps, func(t *testing.T) {
			m := machine{rise: timing.Rise, fall: timing.Fall}
			for _, c := range tt.steps {
				m.observe(verdictOf(t, c))
			}
			if got := m.interval(timing); got != tt.want {
				t.Errorf("interval = %v, want %v", got, tt.want)
			}
		})
	}
}

func verdictOf(t *testing.T, c rune) verdict {
	t.Helper()
	switch c {
	case 'P':
		return pass
	case 'F':
		return fail
	case 'S':
		return stop
	}
	t.Fatalf("bad step %q", c)
	return 0
}

func healthLetter(h config.Health) byte {
	return map[config.Health]byte{
		config.HealthUnknown: '?', config.HealthUp: 'U', config.HealthDown: 'D', config.HealthNoLB: 'N',
	}[h]
}
