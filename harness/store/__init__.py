"""What a run leaves on disk: the run folder (run.json, results.csv, raw samples), calibrated sizes, durations."""
