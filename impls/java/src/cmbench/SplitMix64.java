package cmbench;

/** The workloads' shared mixing function, on Java's wrapping 64-bit longs. */
final class SplitMix64 {
    private SplitMix64() {}

    static long mix(long x) {
        x += 0x9E3779B97F4A7C15L;
        long z = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** {@code mix} applied {@code rounds} times to {@code x}. */
    static long iterate(long x, int rounds) {
        for (int r = 0; r < rounds; r++) {
            x = mix(x);
        }
        return x;
    }
}
