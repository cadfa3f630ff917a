package cmbench;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The thread model under test. Every thread a workload or the server starts comes from the one
 * {@link ThreadFactory} chosen by {@code --thread-model}, so both models run the same code.
 */
final class Threads {
    /**
     * Stack size requested for every platform thread. HotSpot on Linux x64 refuses less than
     * 136 KiB (guard zones plus the 80 KiB shadow zone it bangs on method entry); 256 KiB leaves
     * room above that. Only the pages a thread touches count towards resident memory.
     */
    static final long PLATFORM_STACK_BYTES = 256 * 1024;

    /** A thread's work; the workloads block in queues, locks and sleeps. */
    @FunctionalInterface
    interface Body {
        void run() throws InterruptedException;
    }

    private final ThreadFactory factory;
    private final long stackBytes;

    private Threads(ThreadFactory factory, long stackBytes) {
        this.factory = factory;
        this.stackBytes = stackBytes;
    }

    /** The model named on the command line: {@code platform} or {@code virtual}. */
    static Threads named(String model) {
        return switch (model) {
            case "platform" -> platform();
            case "virtual" -> new Threads(VirtualThreads.factory(), 0);
            default -> throw new UsageError(
                    "--thread-model must be platform or virtual, got '" + model + "'");
        };
    }

    private static Threads platform() {
        AtomicLong sequence = new AtomicLong();
        ThreadFactory factory = task -> new Thread(
                null, task, "cmbench-" + sequence.incrementAndGet(), PLATFORM_STACK_BYTES);
        return new Threads(factory, PLATFORM_STACK_BYTES);
    }

    /** The stack size each thread gets: the requested size, 0 where the runtime manages stacks. */
    long stackBytes() {
        return stackBytes;
    }

    /** Creates a thread from the model's factory and starts it. */
    Thread start(Body body) {
        Thread thread = factory.newThread(() -> {
            try {
                body.run();
            } catch (InterruptedException e) {
                throw new IllegalStateException("interrupted", e);
            }
        });
        thread.start();
        return thread;
    }
}
