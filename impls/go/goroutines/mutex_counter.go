package main

import (
	"flag"
	"sync"
	"sync/atomic"
	"time"
)

func mutexCounter(fs *flag.FlagSet) func() result {
	var threads, increments count
	mode := choice{choices: []string{"mutex", "atomic", "racy"}}
	fs.Var(&threads, "threads", "number of goroutines T")
	fs.Var(&increments, "increments", "increments I per goroutine")
	fs.Var(&mode, "mode", "mutex, atomic or racy")
	return func() result {
		switch mode.value {
		case "atomic":
			return counterAtomic(int(threads), int(increments))
		case "racy":
			return counterRacy(int(threads), int(increments))
		}
		return counterMutex(int(threads), int(increments))
	}
}

// onWorkers starts T goroutines that each run work, waits for all of them
// and returns the time from the first start to the last finish.
func onWorkers(threads int, work func()) time.Duration {
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(threads)
	for range threads {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// counterMutex has T goroutines take a sync.Mutex around every increment.
func counterMutex(threads, increments int) result {
	var counter struct {
		sync.Mutex
		n uint64
	}
	elapsed := onWorkers(threads, func() {
		for range increments {
			counter.Lock()
			counter.n++
			counter.Unlock()
		}
	})
	return result{elapsed, []field{{"final", counter.n}}}
}

// counterAtomic has T goroutines do one atomic add per increment.
func counterAtomic(threads, increments int) result {
	var counter atomic.Uint64
	elapsed := onWorkers(threads, func() {
		for range increments {
			counter.Add(1)
		}
	})
	return result{elapsed, []field{{"final", counter.Load()}}}
}

// counterRacy has T goroutines increment a plain shared variable with no
// synchronisation: a deliberate data race, so updates are lost when two
// goroutines interleave between the read and the write. The program is built
// without -race; the race detector would report exactly this.
func counterRacy(threads, increments int) result {
	var counter uint64
	elapsed := onWorkers(threads, func() {
		for range increments {
			counter++
		}
	})
	lost := uint64(threads)*uint64(increments) - counter
	return result{elapsed, []field{{"final", counter}, {"lost_updates", lost}}}
}
