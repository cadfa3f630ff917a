package main

import (
	"flag"
	"sync"
	"time"
)

func pingPong(fs *flag.FlagSet) func() result {
	var roundtrips count
	fs.Var(&roundtrips, "roundtrips", "number of round trips R (2R hops)")
	return func() result {
		return runPingPong(int(roundtrips))
	}
}

// runPingPong passes a token between this goroutine (A) and one other (B)
// over two unbuffered channels; each side adds 1 per hop.
func runPingPong(roundtrips int) result {
	ping := make(chan uint64)
	pong := make(chan uint64)
	var wg sync.WaitGroup

	start := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range roundtrips {
			pong <- <-ping + 1
		}
	}()
	var token uint64
	for range roundtrips {
		ping <- token
		token = <-pong + 1
	}
	wg.Wait()
	elapsed := time.Since(start)

	return result{elapsed, []field{{"roundtrips", uint64(roundtrips)}, {"token", token}}}
}
