"""What a run leaves on disk: the run folder (run.json, results.csv, raw samples), calibrated sizes, durations,
and the builds a nightly keeps to measure again (builds.py)."""
