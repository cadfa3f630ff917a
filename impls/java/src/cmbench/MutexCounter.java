package cmbench;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * mutex_counter: T threads add 1 to one shared counter I times each, under a ReentrantLock, with
 * AtomicLong.incrementAndGet, or (racy mode) with {@code value++} on a volatile field, the
 * textbook lost update: volatile makes every read and write go to memory but does not make the
 * read-add-write atomic, so another thread's write between them is overwritten. ReentrantLock rather than synchronized: it is the
 * java.util.concurrent lock the queues here are built on, it never pins a virtual thread on any
 * release, and C2 cannot coarsen it across unrolled loop iterations, which would batch increments.
 */
final class MutexCounter implements Batch {
    /** The shared counter of mutex mode, guarded by the iteration's lock. */
    private static final class Counter {
        long value;
    }

    /** The shared counter of racy mode, deliberately unsynchronised. */
    private static final class RacyCounter {
        volatile long value;
    }

    private final int threadCount;
    private final int increments;
    private final String mode;

    MutexCounter(Args args) {
        threadCount = args.integer("threads", 0);
        increments = args.integer("increments", 0);
        mode = args.choice("mode", "mutex", "atomic", "racy");
    }

    @Override
    public String name() {
        return "mutex_counter";
    }

    @Override
    public Result run(Threads threads) throws InterruptedException {
        return switch (mode) {
            case "atomic" -> runAtomic(threads);
            case "racy" -> runRacy(threads);
            default -> runMutex(threads);
        };
    }

    private Result runMutex(Threads threads) throws InterruptedException {
        ReentrantLock lock = new ReentrantLock();
        Counter counter = new Counter();
        long elapsed = onWorkers(threads, () -> {
            for (int i = 0; i < increments; i++) {
                lock.lock();
                try {
                    counter.value++;
                } finally {
                    lock.unlock();
                }
            }
        });
        return new Result(elapsed, new Fields().u64("final", counter.value));
    }

    private Result runAtomic(Threads threads) throws InterruptedException {
        AtomicLong counter = new AtomicLong();
        long elapsed = onWorkers(threads, () -> {
            for (int i = 0; i < increments; i++) {
                counter.incrementAndGet();
            }
        });
        return new Result(elapsed, new Fields().u64("final", counter.get()));
    }

    /** value++ on a volatile field: a read and a write, not one atomic step. The race is the point. */
    private Result runRacy(Threads threads) throws InterruptedException {
        RacyCounter counter = new RacyCounter();
        long elapsed = onWorkers(threads, () -> {
            for (int i = 0; i < increments; i++) {
                counter.value++;
            }
        });
        long total = counter.value;
        long expected = (long) threadCount * increments;
        return new Result(elapsed,
                new Fields().u64("final", total).u64("lost_updates", expected - total));
    }

    /** Starts T threads of the model running {@code work}, joins them, and returns the nanoseconds taken. */
    private long onWorkers(Threads threads, Threads.Body work) throws InterruptedException {
        Thread[] workers = new Thread[threadCount];
        long start = System.nanoTime();
        for (int t = 0; t < threadCount; t++) {
            workers[t] = threads.start(work);
        }
        for (Thread worker : workers) {
            worker.join();
        }
        return System.nanoTime() - start;
    }
}
