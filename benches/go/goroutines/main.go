// The Go side of benches/chan_common: the same workloads, standard library
// only, one per process, printing the same key=value line.
//
//	go build -o ../../../target/go-goroutines . && ../../../target/go-goroutines pingpong 1000000
//
// Workloads: pingpong (two goroutines over two unbuffered channels),
// park (n goroutines blocked on one unbuffered receive; VmHWM growth per
// goroutine), spawn (create n goroutines that return at once, join them
// with a WaitGroup; time per goroutine).
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: goroutines <pingpong|park|spawn> <n>")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "n must be a positive integer, got %q\n", os.Args[2])
		os.Exit(2)
	}
	var line string
	switch os.Args[1] {
	case "pingpong":
		line = pingpong(n)
	case "park":
		line = park(n)
	case "spawn":
		line = spawn(n)
	default:
		fmt.Fprintf(os.Stderr, "unknown workload %q\n", os.Args[1])
		os.Exit(2)
	}
	fmt.Printf("workload=go-%s n=%d allocator=go %s\n", os.Args[1], n, line)
}

func perOp(d time.Duration, n int) string {
	return fmt.Sprintf("ns_per_op=%.1f", float64(d.Nanoseconds())/float64(n))
}

func pingpong(rounds int) string {
	ping, pong := make(chan int), make(chan int)
	done := make(chan int)
	start := time.Now()
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	go func() {
		v := 0
		for i := 0; i < rounds; i++ {
			ping <- v
			v = <-pong
		}
		done <- v
	}()
	v := <-done
	elapsed := time.Since(start)
	close(ping)
	if v != rounds {
		panic("a round trip was lost")
	}
	return perOp(elapsed, rounds)
}

func vmHWMKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		panic(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(strings.TrimPrefix(l, "VmHWM:"))
			v, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				panic(err)
			}
			return v
		}
	}
	panic("no VmHWM line in /proc/self/status")
}

func park(n int) string {
	ch := make(chan struct{})
	var parked int64
	var wg sync.WaitGroup
	before := vmHWMKiB()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			atomic.AddInt64(&parked, 1)
			<-ch
			wg.Done()
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for atomic.LoadInt64(&parked) != int64(n) {
		if time.Now().After(deadline) {
			panic("waited 60 s for goroutines to park")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	after := vmHWMKiB()
	close(ch)
	wg.Wait()
	return fmt.Sprintf("bytes_per_unit=%.0f hwm_before_kib=%d hwm_after_kib=%d",
		float64((after-before)*1024)/float64(n), before, after)
}

func spawn(n int) string {
	var wg sync.WaitGroup
	var sum int64
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			atomic.AddInt64(&sum, int64(i))
			wg.Done()
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if sum != int64(n)*int64(n-1)/2 {
		panic("a goroutine did not run")
	}
	return perOp(elapsed, n)
}
