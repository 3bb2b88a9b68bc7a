package health

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// farmEnv makes the test binary a farm of PING/+PONG servers (a child
// process, so that its CPU is not counted as the monitor's).
const farmEnv = "TANDEM_HEALTH_FARM"

func TestMain(m *testing.M) {
	if n, err := strconv.Atoi(os.Getenv(farmEnv)); err == nil {
		runFarm(n)
		return
	}
	os.Exit(m.Run())
}

// runFarm listens on n loopback ports, prints them, and answers "+PONG"
// to every "PING" until stdin closes.
func runFarm(n int) {
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(l.Addr().String())
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					r := bufio.NewReader(c)
					for {
						line, err := r.ReadString('\n')
						if err != nil {
							return
						}
						if strings.HasPrefix(line, "PING") {
							io.WriteString(c, "+PONG\r\n")
						}
					}
				}()
			}
		}()
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
}

// BenchmarkTCPCheck1000Servers runs tcp-check (connect, PING, expect
// +PONG) on 1,000 servers at inter 1s for 30 seconds on this node and
// reports the monitor's CPU (percent of one core), its heap and RSS, and
// how late checks start (p50, p99, max). Run it alone:
//
//	go test -run=NONE -bench=TCPCheck1000Servers -benchtime=1x ./health/
func BenchmarkTCPCheck1000Servers(b *testing.B) {
	const n, window = 1000, 30 * time.Second
	farm := exec.Command(os.Args[0], "-test.run=NONE")
	farm.Env = append(os.Environ(), farmEnv+"="+strconv.Itoa(n))
	stdin, _ := farm.StdinPipe()
	out, _ := farm.StdoutPipe()
	if err := farm.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); farm.Wait() }()
	var addrs []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
		addrs = append(addrs, sc.Text())
	}
	if len(addrs) != n {
		b.Fatalf("farm gave %d addresses", len(addrs))
	}
	hc := &config.HealthCheck{Type: config.CheckTCP, CheckRules: config.CheckRules{Steps: []config.CheckStep{
		{Send: &config.CheckSend{Text: "PING\r\n"}},
		{Expect: &config.CheckExpect{Match: config.MatchString, Pattern: "+PONG"}},
	}}}
	be := config.Backend{Name: "be", Mode: config.ModeTCP, HealthCheck: hc}
	for i, a := range addrs {
		be.Servers = append(be.Servers, config.Server{Name: "s" + strconv.Itoa(i), Address: a, Check: true,
			CheckTiming: config.CheckTiming{Inter: config.Duration(time.Second)}})
	}
	c := (&config.Cluster{Backends: []config.Backend{be}}).Resolve()
	m, _ := New(Config{}, Deps{})
	var mu sync.Mutex
	var lags []time.Duration
	measuring := false
	m.onLag = func(d time.Duration) {
		mu.Lock()
		if measuring {
			lags = append(lags, d)
		}
		mu.Unlock()
	}
	m.Update(c)
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	time.Sleep(3 * time.Second) // warm up: every server checked at least twice
	mu.Lock()
	measuring = true
	mu.Unlock()
	cpu0, wall0 := cpuTime(), time.Now()
	b.ResetTimer()
	time.Sleep(window)
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	b.StopTimer()
	heap, rss := memory()
	mu.Lock()
	measuring = false
	got := slices.Clone(lags)
	mu.Unlock()
	cancel()
	<-done
	up := 0
	for _, st := range m.Status() {
		if st.Health == config.HealthUp {
			up++
		}
	}
	if up != n {
		b.Errorf("%d of %d servers up", up, n)
	}
	slices.Sort(got)
	pct := func(p float64) time.Duration { return got[int(p*float64(len(got)-1))] }
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu%")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
	b.ReportMetric(float64(rss)/(1<<20), "rss-MB")
	b.ReportMetric(float64(len(got))/wall.Seconds(), "checks/s")
	b.ReportMetric(float64(pct(0.5).Microseconds())/1000, "lag-p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "lag-p99-ms")
	b.ReportMetric(float64(got[len(got)-1].Microseconds())/1000, "lag-max-ms")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func memory() (heap, rss uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			rss = kb << 10
		}
	}
	return ms.HeapInuse, rss
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
