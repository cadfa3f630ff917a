package cmbench;

/** The result fields of one iteration, rendered as compact JSON members in insertion order. */
final class Fields {
    private final StringBuilder json = new StringBuilder(96);

    /** Adds a 64-bit result, printed as an unsigned decimal. */
    Fields u64(String name, long value) {
        if (json.length() > 0) {
            json.append(", ");
        }
        json.append('"').append(name).append("\": ").append(Long.toUnsignedString(value));
        return this;
    }

    @Override
    public String toString() {
        return json.toString();
    }
}
