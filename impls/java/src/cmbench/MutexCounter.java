package cmbench;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * mutex_counter: T threads add 1 to one shared counter I times each, under a ReentrantLock or
 * with AtomicLong.incrementAndGet. ReentrantLock rather than synchronized: it is the
 * java.util.concurrent lock the queues here are built on, it never pins a virtual thread on any
 * release, and C2 cannot coarsen it across unrolled loop iterations, which would batch increments.
 */
final class MutexCounter implements Batch {
    /** The shared counter of mutex mode, guarded by the iteration's lock. */
    private static final class Counter {
        long value;
    }

    private final int threadCount;
    private final int increments;
    private final boolean atomic;

    MutexCounter(Args args) {
        threadCount = args.integer("threads", 0);
        increments = args.integer("increments", 0);
        atomic = args.choice("mode", "mutex", "atomic").equals("atomic");
    }

    @Override
    public String name() {
        return "mutex_counter";
    }

    @Override
    public Result run(Threads threads) throws InterruptedException {
        return atomic ? runAtomic(threads) : runMutex(threads);
    }

    private Result runMutex(Threads threads) throws InterruptedException {
        ReentrantLock lock = new ReentrantLock();
        Counter counter = new Counter();
        Thread[] workers = new Thread[threadCount];

        long start = System.nanoTime();
        for (int t = 0; t < threadCount; t++) {
            workers[t] = threads.start(() -> {
                for (int i = 0; i < increments; i++) {
                    lock.lock();
                    try {
                        counter.value++;
                    } finally {
                        lock.unlock();
                    }
                }
            });
        }
        joinAll(workers);
        long total = counter.value;
        long elapsed = System.nanoTime() - start;
        return new Result(elapsed, new Fields().u64("final", total));
    }

    private Result runAtomic(Threads threads) throws InterruptedException {
        AtomicLong counter = new AtomicLong();
        Thread[] workers = new Thread[threadCount];

        long start = System.nanoTime();
        for (int t = 0; t < threadCount; t++) {
            workers[t] = threads.start(() -> {
                for (int i = 0; i < increments; i++) {
                    counter.incrementAndGet();
                }
            });
        }
        joinAll(workers);
        long total = counter.get();
        long elapsed = System.nanoTime() - start;
        return new Result(elapsed, new Fields().u64("final", total));
    }

    private static void joinAll(Thread[] workers) throws InterruptedException {
        for (Thread worker : workers) {
            worker.join();
        }
    }
}
