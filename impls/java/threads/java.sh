#!/bin/sh
# Starts the JVM named by CMBENCH_JAVA (default: `java`, the system JDK 17) with the arguments
# given. The jdk25 variant in impl.toml sets CMBENCH_JAVA=java25. exec keeps one process, so
# the harness measures the JVM itself.
exec "${CMBENCH_JAVA:-java}" "$@"
