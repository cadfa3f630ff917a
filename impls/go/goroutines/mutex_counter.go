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

// counterRacy has T goroutines increment a plain shared variable with no
// synchronisation: a deliberate data race, so updates are lost when two
// goroutines interleave between the read and the write. The program is built
// without -race; the race detector would report exactly this.
func counterRacy(threads, increments int) result {
	var counter uint64
	var wg sync.WaitGroup

	start := time.Now()
	wg.Add(threads)
	for range threads {
		go func() {
			defer wg.Done()
			for range increments {
				counter++
			}
		}()
	}
	wg.Wait()
	final := counter
	elapsed := time.Since(start)

	lost := uint64(threads)*uint64(increments) - final
	return result{elapsed, []field{{"final", final}, {"lost_updates", lost}}}
}
