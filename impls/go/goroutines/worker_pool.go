package main

import (
	"flag"
	"runtime"
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
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var res result
		if workers == 0 {
			res = workerPoolSpawn(int(tasks), int(rounds))
		} else {
			res = workerPoolQueue(int(tasks), int(queue), int(workers), int(rounds))
		}
		runtime.ReadMemStats(&after)
		return withGC(res, &before, &after)
	}
}

// withGC adds the garbage collections that ended and the heap bytes allocated
// between two runtime.MemStats readings, taken just outside the timed region.
func withGC(res result, before, after *runtime.MemStats) result {
	res.fields = append(res.fields,
		field{"gc_cycles", uint64(after.NumGC - before.NumGC)},
		field{"alloc_bytes", after.TotalAlloc - before.TotalAlloc})
	return res
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
