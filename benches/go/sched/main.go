// Command sched is the Go twin of benches/whole: one workload per process,
// with the parameters of the Rust harness, printing the same JSON line.
//
//	go build -o sched . && ./sched -workload ping_pong -procs 2
//
// Go has no "outside the runtime": the main goroutine plays the part of
// the Rust harness's main thread (block_on) in every workload, so
// spawn_many_local and spawn_many_remote_idle differ only in how completion
// is awaited (a counter and a channel, or a WaitGroup for every "handle").
// Standard library only.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	numSpawn   = 10000   // tasks per spawn_many_* iteration
	numPings   = 1000    // pairs per ping_pong iteration
	yieldTasks = 200     // goroutines of yield_many
	numYield   = 1000    // yields per goroutine of yield_many
	chain      = 1000    // links of chained_spawn
	longChain  = 10000   // links of chained_spawn_long
	taskChains = 100     // chains of chained_spawn_task per iteration
	leaves     = 1000000 // leaves of skynet
	roundTrips = 100000  // round trips per chan_ping_pong iteration
	parkedN    = 1000000 // goroutines of parked
)

// deadline bounds every wait, as in the Rust harness.
const deadline = 120 * time.Second

type spec struct {
	unit    string
	divisor float64
	iters   int
	run     func()
}

var specs = map[string]spec{
	"spawn_many_local":       {"ns/task", numSpawn, 20, spawnManyLocal},
	"spawn_many_remote_idle": {"ns/task", numSpawn, 20, spawnManyRemoteIdle},
	"yield_many":             {"ns/yield", yieldTasks * numYield, 10, yieldMany},
	"yield_many_timer":       {"ns/yield", yieldTasks * numYield, 10, yieldManyTimer},
	"ping_pong":              {"ns/round", numPings, 50, pingPong},
	"chained_spawn":          {"ns/spawn", chain, 100, chainedSpawn},
	"chained_spawn_long":     {"ns/spawn", longChain, 10, chainedSpawnLong},
	"chained_spawn_task":     {"ns/spawn", chain * taskChains, 10, chainedSpawnTask},
	"skynet":                 {"ms", 1e6, 1, skynetRun},
	"chan_ping_pong":         {"ns/round", roundTrips, 3, chanPingPong},
}

func waitDone(ch <-chan struct{}, what string) {
	select {
	case <-ch:
	case <-time.After(deadline):
		panic(what + ": no completion signal within " + deadline.String())
	}
}

func spawnManyLocal() {
	done := make(chan struct{}, 1)
	var rem int64 = numSpawn
	for i := 0; i < numSpawn; i++ {
		go func() {
			if atomic.AddInt64(&rem, -1) == 0 {
				done <- struct{}{}
			}
		}()
	}
	waitDone(done, "spawn_many_local")
}

func spawnManyRemoteIdle() {
	var wg sync.WaitGroup
	wg.Add(numSpawn)
	for i := 0; i < numSpawn; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
}

func yieldMany() {
	done := make(chan struct{}, yieldTasks)
	for i := 0; i < yieldTasks; i++ {
		go func() {
			for j := 0; j < numYield; j++ {
				runtime.Gosched()
			}
			done <- struct{}{}
		}()
	}
	for i := 0; i < yieldTasks; i++ {
		waitDone(done, "yield_many")
	}
}

// yieldManyTimer is yieldMany while a timer is armed: one more goroutine
// per iteration sleeps for an hour.
func yieldManyTimer() {
	go func() { time.Sleep(time.Hour) }()
	yieldMany()
}

func pingPong() {
	done := make(chan struct{}, 1)
	var rem int64 = numPings
	go func() {
		for i := 0; i < numPings; i++ {
			go func() {
				ping := make(chan struct{}, 1)
				pong := make(chan struct{}, 1)
				go func() {
					<-ping
					pong <- struct{}{}
				}()
				ping <- struct{}{}
				<-pong
				if atomic.AddInt64(&rem, -1) == 0 {
					done <- struct{}{}
				}
			}()
		}
	}()
	waitDone(done, "ping_pong")
}

func link(done chan struct{}, n int) {
	if n == 0 {
		done <- struct{}{}
		return
	}
	go link(done, n-1)
}

func chainedSpawn() {
	done := make(chan struct{}, 1)
	go link(done, chain)
	waitDone(done, "chained_spawn")
}

func chainedSpawnLong() {
	done := make(chan struct{}, 1)
	go link(done, longChain)
	waitDone(done, "chained_spawn_long")
}

// chainedSpawnTask is chained_spawn run by a goroutine rather than a thread
// outside the runtime (the Rust version's task). main is a goroutine
// already, so it is chainedSpawn, taskChains times.
func chainedSpawnTask() {
	for i := 0; i < taskChains; i++ {
		chainedSpawn()
	}
}

// node sends its sum on out, which has room for every sibling (a join
// handle's slot: a child never waits for its parent to read).
func node(num, size int64, out chan<- int64) {
	if size == 1 {
		out <- num
		return
	}
	child := size / 10
	sums := make(chan int64, 10)
	for i := int64(0); i < 10; i++ {
		go node(num+i*child, child, sums)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-sums
	}
	out <- sum
}

func skynetRun() {
	out := make(chan int64, 1)
	go node(0, leaves, out)
	if sum := <-out; sum != leaves*(leaves-1)/2 {
		panic(fmt.Sprintf("go: wrong skynet sum %d", sum))
	}
}

func chanPingPong() {
	ping := make(chan int, 1)
	pong := make(chan int, 1)
	done := make(chan struct{}, 2)
	go func() {
		for n := range ping {
			pong <- n
		}
		done <- struct{}{}
	}()
	go func() {
		for n := 0; n < roundTrips; n++ {
			ping <- n
			if back := <-pong; back != n {
				panic("go: pong out of order")
			}
		}
		close(ping)
		done <- struct{}{}
	}()
	waitDone(done, "chan_ping_pong")
	waitDone(done, "chan_ping_pong")
}

// tids lists the threads of this process.
func tids() []string {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// cpuNs sums the CPU time of the live threads (schedstat's first field).
func cpuNs() float64 {
	var sum float64
	for _, tid := range tids() {
		b, err := os.ReadFile("/proc/self/task/" + tid + "/schedstat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			v, _ := strconv.ParseFloat(f[0], 64)
			sum += v
		}
	}
	return sum
}

// statusField reads a numeric field of a /proc status file ("kB" dropped).
func statusField(path, field string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			v := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line[len(field):]), "kB"))
			n, _ := strconv.ParseFloat(v, 64)
			return n
		}
	}
	return 0
}

// switches sums the context switches of every thread.
func switches() float64 {
	var sum float64
	for _, tid := range tids() {
		p := "/proc/self/task/" + tid + "/status"
		sum += statusField(p, "voluntary_ctxt_switches:") + statusField(p, "nonvoluntary_ctxt_switches:")
	}
	return sum
}

func median(v []float64) float64 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func timed(s spec, iters int) string {
	sw0 := switches()
	cpu0 := cpuNs()
	times := make([]float64, iters)
	for i := range times {
		start := time.Now()
		s.run()
		times[i] = float64(time.Since(start).Nanoseconds()) / s.divisor
	}
	cpu := (cpuNs() - cpu0) / s.divisor / float64(iters)
	sw := (switches() - sw0) / float64(iters)
	first := times[0]
	var mean float64
	for _, t := range times {
		mean += t
	}
	mean /= float64(iters)
	sort.Float64s(times)
	return fmt.Sprintf(`,"value":%.2f,"iters":%d,"first":%.2f,"mean":%.2f,"p99":%.2f,"min":%.2f,"max":%.2f,"cpu":%.2f,"switches":%.2f`,
		median(times), iters, first, mean, times[(len(times)-1)*99/100], times[0], times[len(times)-1], cpu, sw)
}

func parked() string {
	hwm0 := statusField("/proc/self/status", "VmHWM:") * 1024
	rss0 := statusField("/proc/self/status", "VmRSS:") * 1024
	release := make(chan struct{})
	var count int64
	var wg sync.WaitGroup
	wg.Add(parkedN)
	start := time.Now()
	for i := 0; i < parkedN; i++ {
		go func() {
			atomic.AddInt64(&count, 1)
			<-release
			wg.Done()
		}()
	}
	for atomic.LoadInt64(&count) < parkedN {
		if time.Since(start) > deadline {
			panic("parked: goroutines did not start within " + deadline.String())
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	hwm := statusField("/proc/self/status", "VmHWM:") * 1024
	rss := statusField("/proc/self/status", "VmRSS:") * 1024
	close(release)
	wg.Wait()
	return fmt.Sprintf(`,"value":%.1f,"rss":%.1f,"tasks":%d,"park_ms":%.1f`,
		(hwm-hwm0)/parkedN, (rss-rss0)/parkedN, parkedN, float64(took.Microseconds())/1e3)
}

func wakeups(procs int, busy bool) string {
	var stop, running int64
	var wg sync.WaitGroup
	n := 0
	if busy {
		n = 2 * procs
	}
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			atomic.AddInt64(&running, 1)
			for atomic.LoadInt64(&stop) == 0 {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	for atomic.LoadInt64(&running) < int64(n) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	s0 := switches()
	start := time.Now()
	time.Sleep(time.Second)
	s1 := switches()
	secs := time.Since(start).Seconds()
	atomic.StoreInt64(&stop, 1)
	wg.Wait()
	return fmt.Sprintf(`,"value":%.1f,"monitor":null,"monitor_voluntary":null,"handoffs":null`, (s1-s0)/secs)
}

func main() {
	workload := flag.String("workload", "", "workload name")
	procs := flag.Int("procs", 2, "GOMAXPROCS")
	iters := flag.Int("iters", 0, "iterations (0: the workload's default)")
	flag.Parse()
	if *procs <= 0 {
		fmt.Fprintf(os.Stderr, "sched: -procs must be positive, not %d\n", *procs)
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*procs)
	var unit, body string
	switch *workload {
	case "parked":
		unit, body = "bytes/task", parked()
	case "idle_wakeups", "busy_wakeups":
		unit, body = "wakeups/s", wakeups(*procs, *workload == "busy_wakeups")
	default:
		s, ok := specs[*workload]
		if !ok {
			fmt.Fprintf(os.Stderr, "sched: unknown -workload %q\n", *workload)
			os.Exit(2)
		}
		n := s.iters
		if *iters > 0 {
			n = *iters
		}
		unit, body = s.unit, timed(s, n)
	}
	fmt.Printf(`{"runtime":"go","alloc":"go","workload":"%s","unit":"%s"%s,"procs":%d,"startup_ms":0}`+"\n",
		*workload, unit, body, *procs)
}
