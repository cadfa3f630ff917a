package main

import (
	"flag"
	"sync"
	"sync/atomic"
	"time"
)

func mutexCounter(fs *flag.FlagSet) func() result {
	var threads, increments count
	mode := choice{choices: []string{"mutex", "atomic"}}
	fs.Var(&threads, "threads", "number of goroutines T")
	fs.Var(&increments, "increments", "increments I per goroutine")
	fs.Var(&mode, "mode", "mutex or atomic")
	return func() result {
		if mode.value == "atomic" {
			return counterAtomic(int(threads), int(increments))
		}
		return counterMutex(int(threads), int(increments))
	}
}

// counterMutex has T goroutines take a sync.Mutex around every increment.
func counterMutex(threads, increments int) result {
	var counter struct {
		sync.Mutex
		n uint64
	}
	var wg sync.WaitGroup

	start := time.Now()
	wg.Add(threads)
	for range threads {
		go func() {
			defer wg.Done()
			for range increments {
				counter.Lock()
				counter.n++
				counter.Unlock()
			}
		}()
	}
	wg.Wait()
	final := counter.n
	elapsed := time.Since(start)

	return result{elapsed, []field{{"final", final}}}
}

// counterAtomic has T goroutines do one atomic add per increment.
func counterAtomic(threads, increments int) result {
	var counter atomic.Uint64
	var wg sync.WaitGroup

	start := time.Now()
	wg.Add(threads)
	for range threads {
		go func() {
			defer wg.Done()
			for range increments {
				counter.Add(1)
			}
		}()
	}
	wg.Wait()
	final := counter.Load()
	elapsed := time.Since(start)

	return result{elapsed, []field{{"final", final}}}
}
