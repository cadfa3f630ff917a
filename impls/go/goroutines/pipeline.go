package main

import (
	"flag"
	"sync"
	"time"
)

const (
	pipelineMul = 6364136223846793005
	fnvOffset   = 14695981039346656037
	fnvPrime    = 1099511628211
)

func pipeline(fs *flag.FlagSet) func() result {
	var items, stages, capacity count
	fs.Var(&items, "items", "number of items M (the values 1..M)")
	fs.Var(&stages, "stages", "number of stages k between producer and sink")
	fs.Var(&capacity, "capacity", "capacity C of every channel")
	return func() result {
		return runPipeline(uint64(items), int(stages), int(capacity))
	}
}

// runPipeline connects a producer, k stage goroutines and the sink (this
// goroutine) with buffered channels; each sender closes its output when done.
func runPipeline(items uint64, stages, capacity int) result {
	chans := make([]chan uint64, stages+1)
	for i := range chans {
		chans[i] = make(chan uint64, capacity)
	}
	var wg sync.WaitGroup

	start := time.Now()
	wg.Add(stages + 1)
	go func(out chan<- uint64) {
		defer wg.Done()
		for x := uint64(1); x <= items; x++ {
			out <- x
		}
		close(out)
	}(chans[0])
	for j := 1; j <= stages; j++ {
		go func(in <-chan uint64, out chan<- uint64, add uint64) {
			defer wg.Done()
			for x := range in {
				out <- x*pipelineMul + add
			}
			close(out)
		}(chans[j-1], chans[j], uint64(j))
	}
	var n, sum uint64
	var ord uint64 = fnvOffset
	for x := range chans[stages] {
		n++
		sum += x
		ord = (ord ^ x) * fnvPrime
	}
	wg.Wait()
	elapsed := time.Since(start)

	return result{elapsed, []field{{"count", n}, {"sum", sum}, {"ord", ord}}}
}
