package cmbench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * pipeline: producer, k stages and a sink, one thread each, joined by k + 1 ArrayBlockingQueues.
 * Items are boxed longs; the end of the stream is one marker object forwarded down the chain,
 * since every 64-bit value is a possible item.
 */
final class Pipeline implements Batch {
    private static final long MULTIPLIER = 6364136223846793005L;
    private static final long FNV_OFFSET = 0xCBF29CE484222325L;
    private static final long FNV_PRIME = 1099511628211L;
    private static final Object END = new Object();

    private final int items;
    private final int stages;
    private final int capacity;

    Pipeline(Args args) {
        items = args.integer("items", 0);
        stages = args.integer("stages", 0);
        capacity = args.integer("capacity", 1);
    }

    @Override
    public String name() {
        return "pipeline";
    }

    @Override
    public Result run(Threads threads) throws InterruptedException {
        List<BlockingQueue<Object>> channels = new ArrayList<>(stages + 1);
        for (int c = 0; c <= stages; c++) {
            channels.add(new ArrayBlockingQueue<>(capacity));
        }
        Thread[] workers = new Thread[stages + 2];
        long[] folded = new long[3];

        long start = System.nanoTime();
        BlockingQueue<Object> first = channels.get(0);
        workers[0] = threads.start(() -> {
            for (long x = 1; x <= items; x++) {
                first.put(x);
            }
            first.put(END);
        });
        for (int j = 1; j <= stages; j++) {
            long increment = j;
            BlockingQueue<Object> in = channels.get(j - 1);
            BlockingQueue<Object> out = channels.get(j);
            workers[j] = threads.start(() -> {
                for (Object item; (item = in.take()) != END; ) {
                    long x = (Long) item;
                    out.put(x * MULTIPLIER + increment);
                }
                out.put(END);
            });
        }
        BlockingQueue<Object> last = channels.get(stages);
        workers[stages + 1] = threads.start(() -> {
            long count = 0;
            long sum = 0;
            long ord = FNV_OFFSET;
            for (Object item; (item = last.take()) != END; ) {
                long x = (Long) item;
                count++;
                sum += x;
                ord = (ord ^ x) * FNV_PRIME;
            }
            folded[0] = count;
            folded[1] = sum;
            folded[2] = ord;
        });
        for (Thread worker : workers) {
            worker.join();
        }
        long elapsed = System.nanoTime() - start;
        return new Result(elapsed,
                new Fields().u64("count", folded[0]).u64("sum", folded[1]).u64("ord", folded[2]));
    }
}
