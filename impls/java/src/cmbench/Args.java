package cmbench;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The {@code --flag value} pairs that follow the workload name. Each workload takes the flags it
 * knows; {@link #finish()} then rejects whatever is left, so an unknown flag is an error.
 */
final class Args {
    private final Map<String, String> values = new LinkedHashMap<>();
    private final Set<String> taken = new HashSet<>();

    private Args() {}

    static Args parse(String[] argv, int from) {
        Args args = new Args();
        for (int i = from; i < argv.length; i += 2) {
            String flag = argv[i];
            if (!flag.startsWith("--") || flag.length() == 2) {
                throw new UsageError("expected a --flag, got '" + flag + "'");
            }
            if (i + 1 == argv.length) {
                throw new UsageError(flag + " needs a value");
            }
            if (args.values.putIfAbsent(flag.substring(2), argv[i + 1]) != null) {
                throw new UsageError(flag + " is given twice");
            }
        }
        return args;
    }

    /** The value of {@code --name} as an int in [min, max]. */
    int integer(String name, int min, int max) {
        String raw = take(name);
        int value;
        try {
            value = Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            throw new UsageError("--" + name + " must be a decimal integer, got '" + raw + "'");
        }
        if (value < min || value > max) {
            throw new UsageError(
                    "--" + name + " must be in " + min + ".." + max + ", got " + value);
        }
        return value;
    }

    int integer(String name, int min) {
        return integer(name, min, Integer.MAX_VALUE);
    }

    /** The value of {@code --name}, which must be one of {@code choices}. */
    String choice(String name, String... choices) {
        String raw = take(name);
        for (String choice : choices) {
            if (choice.equals(raw)) {
                return choice;
            }
        }
        throw new UsageError("--" + name + " must be one of " + String.join(", ", choices)
                + ", got '" + raw + "'");
    }

    /** Fails on any flag that no workload parameter took. */
    void finish() {
        for (String name : values.keySet()) {
            if (!taken.contains(name)) {
                throw new UsageError("unknown flag --" + name);
            }
        }
    }

    private String take(String name) {
        String raw = values.get(name);
        if (raw == null) {
            throw new UsageError("missing --" + name);
        }
        taken.add(name);
        return raw;
    }
}
