package cmbench;

import java.io.IOException;
import java.util.Map;
import java.util.function.Function;

/**
 * cmbench's Java implementation, one program for both thread models:
 * {@code cmbench.Main --thread-model platform|virtual <workload> --<param> <value> ...}.
 */
public final class Main {
    private static final String USAGE = "usage: cmbench.Main --thread-model platform|virtual"
            + " <workload> --<param> <value> ... --warmups W --iterations N --cpus P";

    private static final Map<String, Function<Args, Batch>> BATCH = Map.of(
            "worker_pool", WorkerPool::new,
            "pipeline", Pipeline::new,
            "mutex_counter", MutexCounter::new,
            "ping_pong", PingPong::new,
            "spawn_idle", SpawnIdle::new);

    /** What the command line asks for, checked and ready to run. */
    @FunctionalInterface
    private interface Job {
        void run() throws IOException, InterruptedException;
    }

    private Main() {}

    public static void main(String[] argv) throws IOException, InterruptedException {
        Thread.setDefaultUncaughtExceptionHandler((thread, error) -> {
            System.err.print("cmbench-java: thread " + thread.getName() + " failed: ");
            error.printStackTrace();
            Runtime.getRuntime().halt(1);
        });
        Job job;
        try {
            job = parse(argv);
        } catch (UsageError e) {
            System.err.println("cmbench-java: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        job.run();
    }

    private static Job parse(String[] argv) {
        if (argv.length < 3 || !argv[0].equals("--thread-model")) {
            throw new UsageError("expected --thread-model platform|virtual, then the workload");
        }
        String model = argv[1];
        String workload = argv[2];
        Args args = Args.parse(argv, 3);
        if (workload.equals("http_server")) {
            int port = args.integer("port", 0, 65535);
            int cpus = args.integer("cpus", 1);
            args.finish();
            Threads threads = Threads.named(model);
            checkCpus(cpus);
            return () -> PlaintextServer.run(port, threads);
        }
        Function<Args, Batch> parser = BATCH.get(workload);
        if (parser == null) {
            throw new UsageError("unknown workload '" + workload + "'");
        }
        Batch batch = parser.apply(args);
        int warmups = args.integer("warmups", 0);
        int iterations = args.integer("iterations", 0);
        int cpus = args.integer("cpus", 1);
        args.finish();
        Threads threads = Threads.named(model);
        checkCpus(cpus);
        return () -> run(batch, threads, warmups, iterations);
    }

    /** Runs the warm-ups and the measured iterations, one JSON line each. */
    private static void run(Batch batch, Threads threads, int warmups, int iterations)
            throws InterruptedException {
        for (int i = 0; i < warmups + iterations; i++) {
            Result result = batch.run(threads);
            String line = "{\"workload\": \"" + batch.name() + "\""
                    + ", \"iteration\": " + i
                    + ", \"warmup\": " + (i < warmups)
                    + ", \"elapsed_ns\": " + Math.max(1, result.elapsedNs())
                    + ", " + result.fields() + "}";
            System.out.println(line);
            System.out.flush();
        }
    }

    /** Warns when the processor count the JVM sizes its pools from differs from --cpus. */
    private static void checkCpus(int cpus) {
        int seen = Runtime.getRuntime().availableProcessors();
        if (seen != cpus) {
            System.err.println("cmbench-java: --cpus " + cpus + " but the JVM sees " + seen
                    + " processors; start it with -XX:ActiveProcessorCount=" + cpus);
        }
    }
}
