package cmbench;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * worker_pool: a producer feeds task ids through an ArrayBlockingQueue to a fixed pool of
 * workers closed with one poison pill each, or (workers = 0) one thread per task.
 */
final class WorkerPool implements Batch {
    /** The poison pill: task ids are never negative. */
    private static final long STOP = -1;

    private final int tasks;
    private final int queue;
    private final int workers;
    private final int rounds;

    WorkerPool(Args args) {
        tasks = args.integer("tasks", 0);
        queue = args.integer("queue", 1);
        workers = args.integer("workers", 0);
        rounds = args.integer("rounds", 0);
    }

    @Override
    public String name() {
        return "worker_pool";
    }

    @Override
    public Result run(Threads threads) throws InterruptedException {
        return workers == 0 ? spawn(threads) : pool(threads);
    }

    private Result pool(Threads threads) throws InterruptedException {
        BlockingQueue<Long> ids = new ArrayBlockingQueue<>(queue);
        long[] sums = new long[workers];
        long[] counts = new long[workers];
        Thread[] pool = new Thread[workers];

        long start = System.nanoTime();
        for (int w = 0; w < workers; w++) {
            int slot = w;
            pool[w] = threads.start(() -> {
                long sum = 0;
                long count = 0;
                for (long id; (id = ids.take()) != STOP; ) {
                    sum += SplitMix64.iterate(id, rounds);
                    count++;
                }
                sums[slot] = sum;
                counts[slot] = count;
            });
        }
        Thread producer = threads.start(() -> {
            for (long id = 0; id < tasks; id++) {
                ids.put(id);
            }
            for (int w = 0; w < workers; w++) {
                ids.put(STOP);
            }
        });
        producer.join();
        long checksum = 0;
        long count = 0;
        for (int w = 0; w < workers; w++) {
            pool[w].join();
            checksum += sums[w];
            count += counts[w];
        }
        long elapsed = System.nanoTime() - start;
        return new Result(elapsed, new Fields().u64("count", count).u64("checksum", checksum));
    }

    private Result spawn(Threads threads) throws InterruptedException {
        long[] values = new long[tasks];
        Thread[] spawned = new Thread[tasks];

        long start = System.nanoTime();
        for (int i = 0; i < tasks; i++) {
            int id = i;
            spawned[i] = threads.start(() -> values[id] = SplitMix64.iterate(id, rounds));
        }
        long checksum = 0;
        long count = 0;
        for (int i = 0; i < tasks; i++) {
            spawned[i].join();
            checksum += values[i];
            count++;
        }
        long elapsed = System.nanoTime() - start;
        return new Result(elapsed, new Fields().u64("count", count).u64("checksum", checksum));
    }
}
