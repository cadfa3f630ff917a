package cmbench;

import java.lang.reflect.Method;
import java.util.concurrent.ThreadFactory;

/**
 * Virtual threads (Java 21+) from code compiled for Java 17: {@code Thread.ofVirtual().factory()}
 * is looked up by reflection once, at start-up; everything after that is plain ThreadFactory code.
 */
final class VirtualThreads {
    private static final int FIRST_RELEASE = 21;

    private VirtualThreads() {}

    /** A factory of unstarted virtual threads, checked with {@code Thread.isVirtual()}. */
    static ThreadFactory factory() {
        Runtime.Version version = Runtime.version();
        if (version.feature() < FIRST_RELEASE) {
            throw new UsageError("virtual threads need Java " + FIRST_RELEASE
                    + " or newer, this runtime is Java " + version
                    + " (run on java25: `make install` provides .venv/bin/java25)");
        }
        try {
            Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
            Method factory = Class.forName("java.lang.Thread$Builder").getMethod("factory");
            ThreadFactory threads = (ThreadFactory) factory.invoke(builder);
            Method isVirtual = Thread.class.getMethod("isVirtual");
            if (!(Boolean) isVirtual.invoke(threads.newThread(() -> {}))) {
                throw new IllegalStateException("Thread.ofVirtual() made a platform thread");
            }
            return threads;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(
                    "virtual threads are not available on Java " + version, e);
        }
    }
}
