"""Start-up time: from process start to the first sign of useful work (metric `time_to_ready`).

- A server: from the harness's spawn call to the first successful (200) response to
  GET /plaintext, polled on a fresh connection every millisecond (harness/kinds/server/startup.py).
- A batch program: from the spawn call to the start of its first iteration, i.e. the arrival
  of the first iteration's line on stdout less that iteration's own `elapsed_ns`
  (`time_to_first_iteration`); where lines are not timestamped as they arrive, the wall time of
  the start-up baseline process (zero iterations: start, parse, exit) is the figure.

These are pure functions of timestamps (seconds on one monotonic clock) so that every kind
computes the figure the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.measure.stats import Summary, summarize

MIN_STARTS = 5  # cold starts (fresh processes) per implementation, at least


def time_to_ready(spawned: float, ready: float) -> float:
    """Seconds from the spawn call to readiness; ValueError when the timestamps are out of order."""
    if ready < spawned:
        raise ValueError(f"ready at {ready} before spawned at {spawned}")
    return ready - spawned


def time_to_first_iteration(spawned: float, first_line: float, first_elapsed_ns: int) -> float:
    """Seconds from the spawn call to the start of the first iteration's timed region.

    The first iteration's line arrives when that iteration has ended, `first_elapsed_ns` after
    it began (the implementation's own clock); printing it costs microseconds more.
    """
    if first_elapsed_ns < 0:
        raise ValueError(f"elapsed_ns {first_elapsed_ns} < 0")
    return max(0.0, time_to_ready(spawned, first_line) - first_elapsed_ns / 1e9)


def summarize_starts(seconds: Sequence[float]) -> Summary:
    """Median and quartiles of the start-up times; ValueError with fewer than MIN_STARTS."""
    if len(seconds) < MIN_STARTS:
        raise ValueError(f"{len(seconds)} start(s); time_to_ready needs at least {MIN_STARTS}")
    return summarize(seconds)
