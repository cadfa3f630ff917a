"""The fault-injection suite: broken implementations and bad input, each with a fixture of its own.

Every fault below must end as a named case status or one `cmbench: error:` line (exit 1; argparse's
refusals exit 2), with every finished case kept, every other case still run, and no process or
container left behind. The fixture implementations are in `root/impls/fault/<name>/` (behaviour
in `root/faulty.py`, which reuses the correct server of tests/fixtures/root/fake_impl.py), bad
manifests in `manifests/`. Tests that run real processes are marked `integration`. Each test
names the kinds it covers with `@fault(...)`; test_catalogue.py keeps this list and those marks
equal, and the count true. Every process a test starts is marked (conftest.py) and the suite
fails if one is still running after its test, or after the suite.

71 fault kinds:

Batch programs (test_batch.py, one run in which every other case still runs):
- crash-exit-status: exits 3 -> crashed, with its stderr
- crash-signal: killed by SIGSEGV -> crashed, "killed by signal 11"
- hang: sleeps forever -> timeout
- hang-with-stray-children: hangs with a child ignoring SIGTERM and a setsid grandchild -> timeout, all killed
- half-line-then-hang: half a JSON line, then silence with the pipe open -> timeout
- wrong-answer: a wrong result field -> verify_failed
- not-json: lines that are not JSON -> verify_failed
- extra-line: one line too many -> verify_failed
- cut-short-line: the last line cut in half -> verify_failed
- integer-past-digit-limit: a 5000-digit integer (CPython's parse limit) -> verify_failed
- deep-nesting: a line nested 100000 arrays deep -> verify_failed
- elapsed-beyond-wall-time: elapsed_ns 10^30 -> verify_failed, "more than the process ran"
- warmup-as-integer: warmup 0/1 instead of false/true -> verify_failed
- iteration-as-float: iteration 1.0 -> verify_failed
- iteration-as-boolean: iteration true (== 1 in Python) -> verify_failed
- result-as-float: a result field 100.0 -> verify_failed
- line-separator-in-string: a raw U+2028 inside a string is no line break -> ok
- setsid-orphan: a setsid() child still running after exit -> verify_failed, the child killed
- double-fork-daemon: a double-forked daemon still running -> verify_failed, the daemon killed
- stdout-flood: 200 MB on stdout -> verify_failed "printed more than 16777216 bytes", harness stays small
- endless-stream-without-newline: endless stdout, no newline -> verify_failed, stopped at the limit
- stderr-flood: endless stderr -> verify_failed
- stray-holds-stdout-open: a stray keeps the pipe open after exit -> the harness does not wait on it
Toolchains, builds, run commands (test_build.py):
- toolchain-missing: the check command does not exist -> skipped, with the hint
- toolchain-not-executable: the check script lacks +x -> skipped
- toolchain-check-hangs: the check never answers -> timeout "toolchain check ... timed out"
- build-fails: the build exits 1 -> build_failed
- build-command-missing: no such build command -> build_failed "No such file or directory"
- build-not-executable: the build script lacks +x -> build_failed "Permission denied"
- build-not-a-program: a text file without #! -> build_failed "Exec format error"
- build-crlf-shebang: `#!/bin/sh\\r` -> build_failed "ends with a carriage return"
- build-floods-output: the build prints without bound -> build_failed "printed more than"
- build-hangs: the build never ends -> build_failed "timed out after" its `[build] timeout`
- run-command-missing: the program was never built -> crashed, exit 127 "cannot run"
- run-crlf-shebang: the run script has CRLF line ends -> crashed, "carriage return"
- server-not-built: `verify --no-build` of a server never built -> crashed, named
HTTP servers (test_server.py, test_process.py):
- server-crashes-at-start: exits 1 before its ready line -> crashed
- server-daemonises: forks and the parent exits -> crashed, the daemon killed
- server-never-ready: no ready line -> timeout
- server-floods-stderr: logs without bound as it starts -> crashed, "printed more than"
- server-dies-under-load: exits after 200 requests -> crashed during the load phase
- server-exits-on-its-own: exits 0 by itself -> alive() is False (no exception)
- server-ignores-sigterm: SIGTERM ignored -> killed after the grace
Stopping the harness (test_signals.py):
- ctrl-c: SIGINT -> interrupted, exit 130, finished cases kept, cases under way stored as they stand, nothing left
- sigterm: SIGTERM -> the same
- sighup: SIGHUP (a closed terminal) -> the same
- repeated-ctrl-c: 40 SIGINTs -> no traceback, run.json interrupted
- harness-killed: SIGKILL -> every child dies with it; the next run marks the run abandoned
- docker-harness-killed: SIGKILL with a container running -> removed by the next session (test_docker.py)
The run folder (test_store.py):
- out-read-only: --out on a read-only file system -> one line
- out-proc-self: --out /proc/self -> one line
- out-is-a-file: --out names a file -> one line
- disk-full-mid-run: the disk fills after a good case -> one line, run.json failed, the files agree, report renders
- disk-full-write: a write fails with ENOSPC -> nothing replaced, the case rolled back
- signal-during-write: Ctrl-C in the middle of a write -> the file is whole, then the interrupt
Damaged run folders for `cmbench report` (test_report.py):
- results-csv-truncated: cut in its last line -> a warning naming it; the rest rendered
- results-csv-not-utf8: bytes that are not UTF-8 -> a warning naming it
- results-csv-extra-cell: a row with a cell too many -> a warning, not shifted values
- run-json-truncated: run.json cut in half -> a warning; that run left out, the others rendered
- rows-without-a-case: rows of a case run.json does not list -> dropped with a warning
- every-run-damaged: nothing readable -> one line
- run-json-not-utf8: run.json not UTF-8 (compare) -> one line
Input (test_input.py):
- impl-blank: --impl "" or "," -> one line, not "all"
- workload-blank: --workload "" or "," -> one line, not "all"
- timeout-not-positive: --timeout -1/0/nan/inf/soon -> refused by argparse
- cpus-out-of-range: --cpus 0/-1/100000 (run, verify, plan, loadgen-headroom) -> one line
- headroom-duration-not-positive: loadgen-headroom --duration 0/-5/nan/inf -> refused by argparse
- headroom-connections-bad: --connections 0/-5/"64,0"/","/""/many -> one line
- manifest-unknown-table: [[variant]] for [[variants]] -> one line naming the file
- manifest-misspelt-key: reduced_size for reduced_sizes -> one line naming the file
- manifest-unsupported-unknown-parameter: a misspelt parameter in [[unsupported]] -> one line
"""
