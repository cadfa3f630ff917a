package main

import (
	"flag"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func preemption(fs *flag.FlagSet) func() result {
	var sleeps, sleepUs, spinners, spinLimitMs count
	fs.Var(&sleeps, "sleeps", "number of sleeps S")
	fs.Var(&sleepUs, "sleep-us", "length of each sleep, in microseconds")
	fs.Var(&spinners, "spinners", "number of spinning goroutines K")
	fs.Var(&spinLimitMs, "spin-limit-ms", "a spinner stops after this long")
	return func() result {
		return runPreemption(int(sleeps), time.Duration(sleepUs)*time.Microsecond,
			int(spinners), time.Duration(spinLimitMs)*time.Millisecond)
	}
}

// runPreemption sets GOMAXPROCS to 1 for the iteration, at run time, so the
// sleeper (this goroutine) and K spinning goroutines share one P; it records
// how late each of the S sleeps ends and restores GOMAXPROCS afterwards. A
// spinner holds the P until sysmon preempts it (asynchronously, by signal) or
// until it gives up at the spin limit.
func runPreemption(sleeps int, nap time.Duration, spinners int, limit time.Duration) result {
	previous := runtime.GOMAXPROCS(1)
	during := runtime.GOMAXPROCS(0)
	late := make([]uint64, 0, sleeps)
	var done atomic.Bool
	var wg sync.WaitGroup

	start := time.Now()
	wg.Add(spinners)
	for range spinners {
		go func() {
			defer wg.Done()
			spin(&done, limit)
		}()
	}
	for range sleeps {
		before := time.Now()
		time.Sleep(nap)
		late = append(late, uint64(max(time.Since(before)-nap, 0)))
	}
	done.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	runtime.GOMAXPROCS(previous)

	slices.Sort(late)
	var p50, worst uint64
	if len(late) > 0 {
		p50, worst = late[(len(late)-1)/2], late[len(late)-1]
	}
	return result{elapsed, []field{
		{"sleeps", uint64(sleeps)},
		{"timer_late_p50", p50},
		{"timer_late_max", worst},
		{"gomaxprocs_default", uint64(defaultProcs)},
		{"gomaxprocs_during", uint64(during)},
	}}
}

// spin loops until done is set or limit has passed, reading the clock once
// every 4096 checks of the flag. The loop makes no call that blocks or yields.
func spin(done *atomic.Bool, limit time.Duration) {
	start := time.Now()
	for {
		for range 4096 {
			if done.Load() {
				return
			}
		}
		if time.Since(start) >= limit {
			return
		}
	}
}
