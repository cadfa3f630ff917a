package cmbench;

import java.util.concurrent.SynchronousQueue;

/**
 * ping_pong: two threads hand one token back and forth over two SynchronousQueues. Both sides are
 * threads of the model under test (the main thread only starts and joins them), so with virtual
 * threads every hop is a virtual-thread hand-off.
 */
final class PingPong implements Batch {
    private final int roundtrips;

    PingPong(Args args) {
        roundtrips = args.integer("roundtrips", 0);
    }

    @Override
    public String name() {
        return "ping_pong";
    }

    @Override
    public Result run(Threads threads) throws InterruptedException {
        SynchronousQueue<Long> ping = new SynchronousQueue<>();
        SynchronousQueue<Long> pong = new SynchronousQueue<>();
        long[] token = new long[1];

        long start = System.nanoTime();
        Thread b = threads.start(() -> {
            for (int r = 0; r < roundtrips; r++) {
                pong.put(ping.take() + 1);
            }
        });
        Thread a = threads.start(() -> {
            long t = 0;
            for (int r = 0; r < roundtrips; r++) {
                ping.put(t);
                t = pong.take() + 1;
            }
            token[0] = t;
        });
        a.join();
        b.join();
        long elapsed = System.nanoTime() - start;
        return new Result(elapsed,
                new Fields().u64("roundtrips", roundtrips).u64("token", token[0]));
    }
}
