package cmbench;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * spawn_idle: N threads alive at once. Each waits at a gate the main thread opens once all N are
 * started, then blocks in Thread.sleep, then is counted and joined.
 */
final class SpawnIdle implements Batch {
    private final int tasks;
    private final int sleepMs;

    SpawnIdle(Args args) {
        tasks = args.integer("tasks", 0);
        sleepMs = args.integer("sleep-ms", 0);
    }

    @Override
    public String name() {
        return "spawn_idle";
    }

    @Override
    public Result run(Threads threads) throws InterruptedException {
        long defaultStack = threads.defaultStackBytes();
        AtomicLong done = new AtomicLong();
        Thread[] sleepers = new Thread[tasks];
        CountDownLatch gate = new CountDownLatch(1);

        long start = System.nanoTime();
        for (int i = 0; i < tasks; i++) {
            sleepers[i] = threads.start(() -> {
                gate.await();
                Thread.sleep(sleepMs);
                done.incrementAndGet();
            });
        }
        gate.countDown();
        for (Thread sleeper : sleepers) {
            sleeper.join();
        }
        long finished = done.get();
        long elapsed = System.nanoTime() - start;
        Fields fields = new Fields().u64("done", finished).u64("stack_bytes", threads.stackBytes());
        if (defaultStack > 0) {
            fields.u64("default_stack_bytes", defaultStack);
        }
        return new Result(elapsed, fields);
    }
}
