package main

import (
	"flag"
	"sync"
	"sync/atomic"
	"time"
)

func spawnIdle(fs *flag.FlagSet) func() result {
	var tasks, sleepMs count
	fs.Var(&tasks, "tasks", "number of goroutines N alive at once")
	fs.Var(&sleepMs, "sleep-ms", "how long each goroutine sleeps, in milliseconds")
	return func() result {
		return runSpawnIdle(int(tasks), time.Duration(sleepMs)*time.Millisecond)
	}
}

// runSpawnIdle starts N goroutines that each wait for the gate to close, sleep
// and then count themselves done. The gate closes once all N are started, so
// all N are alive at once. Goroutine stacks are managed by the runtime, so
// stack_bytes is 0.
func runSpawnIdle(tasks int, sleep time.Duration) result {
	var done atomic.Uint64
	var wg sync.WaitGroup
	gate := make(chan struct{})

	start := time.Now()
	wg.Add(tasks)
	for range tasks {
		go func() {
			<-gate
			time.Sleep(sleep)
			done.Add(1)
			wg.Done()
		}()
	}
	close(gate)
	wg.Wait()
	n := done.Load()
	elapsed := time.Since(start)

	return result{elapsed, []field{{"done", n}, {"stack_bytes", 0}}}
}
