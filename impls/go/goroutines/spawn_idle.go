package main

import (
	"flag"
	"runtime"
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
// stack_bytes is 0; stack_inuse_per_task is the growth of the runtime's stack
// memory in use (MemStats.StackInuse) from before the spawn to when all N are
// alive, divided by N. A collection before the timed region frees the stacks
// that the previous iteration's dead goroutines keep for reuse, so each
// iteration's N stacks are new. Reading the second figure stops the world
// once, inside the timed region, just before the gate opens.
func runSpawnIdle(tasks int, sleep time.Duration) result {
	var done atomic.Uint64
	var wg sync.WaitGroup
	var before, alive runtime.MemStats
	gate := make(chan struct{})
	runtime.GC()
	runtime.ReadMemStats(&before)

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
	runtime.ReadMemStats(&alive)
	close(gate)
	wg.Wait()
	n := done.Load()
	elapsed := time.Since(start)

	var perTask uint64
	if tasks > 0 && alive.StackInuse > before.StackInuse {
		perTask = (alive.StackInuse - before.StackInuse) / uint64(tasks)
	}
	return result{elapsed, []field{{"done", n}, {"stack_bytes", 0}, {"stack_inuse_per_task", perTask}}}
}
