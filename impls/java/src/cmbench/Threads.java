package cmbench;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
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

    /**
     * The stack a platform thread gets when it asks for none: HotSpot's {@code ThreadStackSize}
     * option (in KiB, set by {@code -Xss}), read from the running JVM. 0 for virtual threads,
     * whose stacks live on the heap, or when the JVM does not have the option.
     */
    long defaultStackBytes() {
        if (stackBytes == 0) {
            return 0;
        }
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            return Long.parseLong(vm.getVMOption("ThreadStackSize").getValue()) * 1024;
        } catch (IllegalArgumentException e) {
            return 0;
        }
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
