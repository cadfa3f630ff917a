package cmbench;

/** A mistake in the command line: reported as one line on stderr with exit status 2. */
final class UsageError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageError(String message) {
        super(message);
    }
}
