package cmbench;

/** One iteration's timed region and its result fields, already rendered as JSON members. */
record Result(long elapsedNs, Fields fields) {}
