package cmbench;

/** A batch workload: one call runs one iteration and measures its timed region. */
interface Batch {
    String name();

    /** Builds the iteration's queues, locks and threads from scratch, runs it and joins it. */
    Result run(Threads threads) throws InterruptedException;
}
