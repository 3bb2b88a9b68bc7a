package services

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// redis is one redis-server on loopback.
type redis struct {
	port int
	proc *Proc
}

func startRedis(t *testing.T, bin string, port int, replicaOf int) *redis {
	t.Helper()
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--daemonize", "no", "--protected-mode", "no", "--logfile", "",
		"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}
	if replicaOf > 0 {
		args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(replicaOf))
	}
	r := &redis{port: port, proc: Start(t, "redis-server:"+strconv.Itoa(port), exec.Command(bin, args...))}
	r.proc.WaitPort(t, Addr(port), 10*time.Second)
	return r
}

// do runs one command on a new connection to addr and returns the reply's
// first line ("+OK", "-READONLY ...", ":1", or a bulk string's content).
func do(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "$") {
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return line, nil
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// info returns one field of INFO section on addr ("" when absent).
func info(t *testing.T, addr, section, field string) string {
	t.Helper()
	out, err := do(addr, "INFO", section)
	if err != nil {
		t.Fatalf("INFO %s on %s: %v", section, addr, err)
	}
	for _, l := range strings.Split(out, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	return ""
}

// rejectedWrites is how many client writes a Redis server refused as a
// replica: its READONLY error replies (INFO errorstats), which is where a
// write sent to a replica lands.
func rejectedWrites(t *testing.T, addr string) int {
	v := info(t, addr, "errorstats", "errorstat_READONLY") // "count=N"
	n, _ := strconv.Atoi(strings.TrimPrefix(v, "count="))
	return n
}

// write is one SET through tandem, with when and how it ended.
type write struct {
	at    time.Time
	key   string
	reply string
	err   error
}

// writer SETs a new key through addr on a new connection every 10ms (a
// client that reconnects for each write, so every write is balanced).
type writer struct {
	mu     sync.Mutex
	writes []write
	stop   chan struct{}
	done   chan struct{}
}

func startWriter(addr string) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			k := "k" + strconv.Itoa(i)
			reply, err := do(addr, "SET", k, strconv.Itoa(i))
			w.mu.Lock()
			w.writes = append(w.writes, write{time.Now(), k, reply, err})
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *writer) halt() []write {
	close(w.stop)
	<-w.done
	return w.writes
}

func (w *writer) count(ok bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, x := range w.writes {
		if (x.reply == "OK" || x.reply == "+OK") == ok {
			n++
		}
	}
	return n
}

// redisPrimaryCheck is the classic haproxy.cfg ruleset that finds the
// primary (configuration.txt, "tcp-check expect" examples).
func redisPrimaryCheck() *config.HealthCheck {
	return &config.HealthCheck{Type: config.CheckTCP, CheckRules: config.CheckRules{Steps: []config.CheckStep{
		{Connect: &config.CheckConnect{}},
		{Send: &config.CheckSend{Text: "PING\r\n"}},
		{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "+PONG"}},
		{Send: &config.CheckSend{Text: "info replication\r\n"}},
		{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "role:master"}},
		{Send: &config.CheckSend{Text: "QUIT\r\n"}},
		{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "+OK"}},
	}}}
}

// TestRedisWritesReachOnlyThePrimary: with the role:master tcp-check,
// writes through tandem reach the primary only; after the primary dies
// and the replica is promoted, writes reach the new primary within the
// checks' rise and fall, and the old primary, back as a replica, never
// gets one. No write ever lands on a replica (their READONLY counts stay 0).
func TestRedisWritesReachOnlyThePrimary(t *testing.T) {
	bin := Need(t, "redis-server", "redis-server")
	pa, pb, fe := FreePort(t), FreePort(t), FreePort(t)
	a := startRedis(t, bin, pa, 0)
	startRedis(t, bin, pb, pa)
	WaitFor(t, "the replica in sync", 10*time.Second, func() bool { return info(t, Addr(pb), "replication", "master_link_status") == "up" })

	inter, rise, fall := 250*time.Millisecond, 2, 2
	timing := config.CheckTiming{Inter: config.Duration(inter), Rise: rise, Fall: fall}
	c := &config.Cluster{
		Frontends: []config.Frontend{{Name: "redis", Mode: config.ModeTCP, Bind: []string{Addr(fe)}, DefaultBackend: "redis"}},
		Backends: []config.Backend{{Name: "redis", Mode: config.ModeTCP, HealthCheck: redisPrimaryCheck(), Servers: []config.Server{
			{Name: "r1", Address: Addr(pa), Check: true, CheckTiming: timing},
			{Name: "r2", Address: Addr(pb), Check: true, CheckTiming: timing},
		}}},
	}
	tn := StartTandem(t, c)
	WaitFor(t, "r1 routed and r2 down", 10*time.Second, func() bool {
		r1, r2 := tn.Server(t, "redis", "r1"), tn.Server(t, "redis", "r2")
		return r1.Routed && r1.Own == config.HealthUp && !r2.Routed && r2.Own == config.HealthDown
	})
	r2 := tn.Server(t, "redis", "r2")
	t.Logf("tandem status, r2: %s", r2.LastCheck)
	if !strings.Contains(r2.LastCheck, `tcp-check step 5 expect string "role:master"`) || !strings.Contains(r2.LastCheck, "role:slave") {
		t.Errorf("r2's check result %q should name the step and show role:slave", r2.LastCheck)
	}
	if !strings.Contains(tn.Log.String(), `role:slave`) {
		t.Errorf("the log does not say why r2 is down:\n%s", tn.Log.String())
	}

	w := startWriter(Addr(fe))
	WaitFor(t, "100 writes", 10*time.Second, func() bool { return w.count(true) >= 100 })
	if n := w.count(false); n != 0 {
		t.Errorf("%d writes failed while r1 was the primary", n)
	}

	// The primary dies; the replica is promoted.
	a.proc.Kill()
	promoted := time.Now()
	if r, err := do(Addr(pb), "REPLICAOF", "NO", "ONE"); err != nil || r != "+OK" {
		t.Fatalf("promote r2: %q %v", r, err)
	}
	took := WaitFor(t, "r2 routed, r1 not", 10*time.Second, func() bool {
		return tn.Server(t, "redis", "r2").Routed && !tn.Server(t, "redis", "r1").Routed
	})
	t.Logf("r2 promoted: tandem routes to it after %v (rise %d × inter %v)", took.Round(time.Millisecond), rise, inter)
	if limit := time.Duration(rise+fall+1) * inter; took > limit+500*time.Millisecond {
		t.Errorf("tandem took %v to follow the promotion, want within (rise+fall+1) × inter = %v", took, limit)
	}
	settled := time.Now()

	// The old primary comes back as a replica of the new one.
	startRedis(t, bin, pa, pb)
	WaitFor(t, "r1 in sync as a replica", 10*time.Second, func() bool { return info(t, Addr(pa), "replication", "master_link_status") == "up" })
	before := w.count(true)
	WaitFor(t, "200 more writes", 20*time.Second, func() bool { return w.count(true) >= before+200 })
	writes := w.halt()

	var failedAfter, readonly int
	for _, x := range writes {
		if strings.HasPrefix(x.reply, "-READONLY") {
			readonly++
		}
		if x.at.After(settled) && x.reply != "+OK" {
			failedAfter++
		}
	}
	t.Logf("%d writes: failed ones fell between the kill at %v and %v after it", len(writes), promoted.Format("15:04:05.000"), settled.Sub(promoted).Round(time.Millisecond))
	if readonly != 0 || failedAfter != 0 {
		t.Errorf("%d writes answered READONLY (sent to a replica), %d failed after tandem followed the promotion", readonly, failedAfter)
	}
	ra, rb := rejectedWrites(t, Addr(pa)), rejectedWrites(t, Addr(pb))
	t.Logf("writes that landed on a replica: r1 (replica since its restart) %d, r2 (replica until promoted) %d", ra, rb)
	if ra != 0 || rb != 0 {
		t.Errorf("writes landed on replicas: r1 %d, r2 %d; want 0", ra, rb)
	}
	// Every write acknowledged after the promotion is on the new primary.
	for _, x := range writes {
		if x.at.After(settled) && x.reply == "+OK" {
			if v, _ := do(Addr(pb), "GET", x.key); v == "" {
				t.Fatalf("write %s acknowledged but not on the new primary", x.key)
			}
		}
	}
	if s := tn.Server(t, "redis", "r1"); s.Own != config.HealthDown || !strings.Contains(s.LastCheck, "role:slave") {
		t.Errorf("r1 as a replica: %v %q", s.Own, s.LastCheck)
	}
}

// A planned switchover: the primary hands over to its replica (Redis's
// FAILOVER), no process dies. Until r1's next failed check
// tandem still sends writes to it: Redis refuses them (READONLY: nothing
// lands on a replica), HAProxy has the same window. Within fall × inter
// (and a check's round trip) every write reaches the new primary.
func TestRedisPlannedSwitchover(t *testing.T) {
	bin := Need(t, "redis-server", "redis-server")
	pa, pb, fe := FreePort(t), FreePort(t), FreePort(t)
	startRedis(t, bin, pa, 0)
	startRedis(t, bin, pb, pa)
	WaitFor(t, "the replica in sync", 10*time.Second, func() bool { return info(t, Addr(pb), "replication", "master_link_status") == "up" })
	inter, rise, fall := 250*time.Millisecond, 2, 2
	timing := config.CheckTiming{Inter: config.Duration(inter), Rise: rise, Fall: fall}
	c := &config.Cluster{
		Frontends: []config.Frontend{{Name: "redis", Mode: config.ModeTCP, Bind: []string{Addr(fe)}, DefaultBackend: "redis"}},
		Backends: []config.Backend{{Name: "redis", Mode: config.ModeTCP, HealthCheck: redisPrimaryCheck(), Servers: []config.Server{
			{Name: "r1", Address: Addr(pa), Check: true, CheckTiming: timing},
			{Name: "r2", Address: Addr(pb), Check: true, CheckTiming: timing},
		}}},
	}
	tn := StartTandem(t, c)
	WaitFor(t, "r1 routed and r2 down", 10*time.Second, func() bool {
		return tn.Server(t, "redis", "r1").Routed && !tn.Server(t, "redis", "r2").Routed
	})
	w := startWriter(Addr(fe))
	WaitFor(t, "100 writes", 10*time.Second, func() bool { return w.count(true) >= 100 })

	// FAILOVER (Redis 6.2+) swaps the roles once the replica has every
	// write: a switchover that loses nothing, as an operator runs it.
	switched := time.Now()
	if r, err := do(Addr(pa), "FAILOVER"); err != nil || r != "+OK" {
		t.Fatalf("FAILOVER on r1: %q %v", r, err)
	}
	WaitFor(t, "r2 routed, r1 not", 10*time.Second, func() bool {
		return tn.Server(t, "redis", "r2").Routed && !tn.Server(t, "redis", "r1").Routed
	})
	settled := time.Now()
	WaitFor(t, "r1 in sync as a replica", 10*time.Second, func() bool { return info(t, Addr(pa), "replication", "master_link_status") == "up" })
	before := w.count(true)
	WaitFor(t, "200 more writes", 20*time.Second, func() bool { return w.count(true) >= before+200 })
	writes := w.halt()

	var refused, failedAfter int
	var firstRefused, lastRefused time.Time
	for _, x := range writes {
		if strings.HasPrefix(x.reply, "-READONLY") {
			refused++
			if firstRefused.IsZero() {
				firstRefused = x.at // r1 a replica: FAILOVER swapped the roles
			}
			lastRefused = x.at
		}
		if x.at.After(settled) && x.reply != "+OK" {
			failedAfter++
		}
	}
	window := lastRefused.Sub(firstRefused)
	t.Logf("switchover (FAILOVER at %v): %d writes refused (READONLY) in the %v between the swap and tandem following (fall %d × inter %v); none after",
		switched.Format("15:04:05.000"), refused, window.Round(time.Millisecond), fall, inter)
	if limit := time.Duration(fall+1)*inter + time.Second; refused > 0 && window > limit { // a second for a busy machine
		t.Errorf("writes were refused %v after the switchover, want within (fall+1) × inter = %v", window, limit)
	}
	if failedAfter != 0 {
		t.Errorf("%d writes failed after tandem followed the switchover", failedAfter)
	}
	// Every acknowledged write is on the new primary (from r1's time by
	// replication, after the switchover directly): none was lost.
	for _, x := range writes {
		if x.reply == "+OK" {
			if v, _ := do(Addr(pb), "GET", x.key); v == "" {
				t.Fatalf("write %s at %v acknowledged but not on the new primary", x.key, x.at.Format("15:04:05.000"))
			}
		}
	}
}
