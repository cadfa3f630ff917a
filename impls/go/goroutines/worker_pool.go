package main

import (
	"flag"
	"sync"
	"sync/atomic"
	"time"
)

func workerPool(fs *flag.FlagSet) func() result {
	var tasks, queue, workers, rounds count
	fs.Var(&tasks, "tasks", "number of tasks M (ids 0..M-1)")
	fs.Var(&queue, "queue", "capacity Q of the bounded task queue")
	fs.Var(&workers, "workers", "pool size N; 0 selects spawn mode")
	fs.Var(&rounds, "rounds", "splitmix64 applications R per task")
	return func() result {
		if workers == 0 {
			return workerPoolSpawn(int(tasks), int(rounds))
		}
		return workerPoolQueue(int(tasks), int(queue), int(workers), int(rounds))
	}
}

// workerPoolQueue feeds the ids through a buffered channel to a fixed pool of
// goroutines; each keeps its own count and sum and reports them when the
// channel is closed and drained.
func workerPoolQueue(tasks, queue, workers, rounds int) result {
	type partial struct{ count, sum uint64 }
	parts := make([]partial, workers)
	ids := make(chan uint64, queue)
	var wg sync.WaitGroup

	start := time.Now()
	wg.Add(workers)
	for w := range parts {
		go func(out *partial) {
			defer wg.Done()
			var n, sum uint64
			for id := range ids {
				sum += task(id, rounds)
				n++
			}
			*out = partial{n, sum}
		}(&parts[w])
	}
	for id := range uint64(tasks) {
		ids <- id
	}
	close(ids)
	wg.Wait()
	var n, sum uint64
	for _, p := range parts {
		n += p.count
		sum += p.sum
	}
	elapsed := time.Since(start)

	return result{elapsed, []field{{"count", n}, {"checksum", sum}}}
}

// workerPoolSpawn starts one goroutine per task; each adds its value to a
// shared atomic sum.
func workerPoolSpawn(tasks, rounds int) result {
	var n, sum atomic.Uint64
	var wg sync.WaitGroup

	start := time.Now()
	wg.Add(tasks)
	for id := range uint64(tasks) {
		go func() {
			sum.Add(task(id, rounds))
			n.Add(1)
			wg.Done()
		}()
	}
	wg.Wait()
	count, checksum := n.Load(), sum.Load()
	elapsed := time.Since(start)

	return result{elapsed, []field{{"count", count}, {"checksum", checksum}}}
}
