"""Calibrated sizes: how much work one iteration of an implementation does, where the size is not the point.

A workload whose figure is per operation and does not depend on the size names the parameter that
scales an iteration (`[calibrate]` in its workload.toml). Each implementation then runs the size
at which one of its iterations lasts about the profile's `iteration_seconds`: C pthreads hands a
token back and forth across two CPUs 100 times slower than Go does on one, and the same 200,000
round trips cost one 8 s and the other 50 ms per iteration, for no more information.

The search is cheap: one process per attempt, starting from the workload's verify size. It grows
the size by the ratio still missing (at least x2, at most x64), one measured iteration after the
profile's warm-ups, until an iteration lasts `FRACTION` of the target; scales it to the target,
rounded to two significant digits and kept within [verify size, `CAP` x the profile's size]; then
confirms it over `CONFIRM_PROCESSES` processes of `CONFIRM_ITERATIONS` iterations at that size (the
case's own iterations in a run, harness/kinds/batch/measure.py): the median process's median must
lie within `TOLERANCE` of the target, else the size is scaled again by it (at most `MAX_CONFIRMS`
times; where the processes still disagree then, the search keeps the last size they ran, never
one scaled from it that nothing measured). The confirmation matters for JIT runtimes (a small
size's first iterations run interpreted and can be ten times slower than the same work compiled)
and for a case whose processes fall into modes (threads that land on one CPU or on two): one
process may show the slow mode, and a size scaled from it alone gives the fast mode's iterations a
thirtieth of the target, so the median process sizes the case. No mode's iterations may last more
than `LONGEST` times the target, though: a slow process's median longer than that scales the size
down instead. Modes can lie a thousand times apart (Java's platform-thread ping_pong across two
CPUs on a virtual machine: a spinning hand-off of 25 ns a round trip in some processes, a sleeping
one of 30 us in others), and a size fit for the fast one gave the slow one 0.7 s iterations
against a 0.05 s target: with its warm-ups, a hundred times the case's time budget. Too short an
iteration costs precision the repetition policy buys back with more iterations; too long a one
costs time nothing gives back.
Every answer of every attempt is checked like any other.

The confirming processes run the case's warm-ups and measured iterations at the size the case
then runs, so a run keeps the last round of them as the case's first processes instead of
starting three more: on a first run calibration then costs the growing attempts only.

The size found is stored with the environment's fingerprint (harness/store/calibration.py) and
reused by later runs in the same environment.

A search that reaches the cap with iterations still far below the target, and whose iterations took
less than `FLAT_TIME` times as long at `FLAT_WORK` times the work or more, fails the case
(`verify_failed`): the calibrated parameter scales an iteration's work by definition, so an
`elapsed_ns` that does not grow with it does not time the iteration (a timer stopped before the
work, a constant printed, a loop the compiler removed).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from harness.measure.outcome import CaseFailure
from harness.store.calibration import Calibration
from harness.vocab import fmt_seconds

FRACTION = 0.3  # an attempt whose iteration lasts this fraction of the target is scaled, not grown
GROWTH = (2.0, 64.0)  # bounds of the factor from one attempt's size to the next
MAX_ATTEMPTS = 12
CONFIRM_ITERATIONS = 3  # iterations whose median confirms a size, in each of ...
CONFIRM_PROCESSES = 3  # ... this many processes, the median of which must last the target
TOLERANCE = 0.3  # a confirmed size's iterations last the target within this fraction
MAX_CONFIRMS = 3
LONGEST = 10  # no confirming process's iterations may last more than this many times the target
CAP = 10  # at most this many times the profile's size
CALIBRATION_GUESS = 3.0  # seconds a search is expected to take (five to ten short processes), for estimates
FLAT_WORK = 16  # at the cap: this many times the work in less than FLAT_TIME times the time is a timer that misses it
FLAT_TIME = 1.5


def nice(value: float) -> int:
    """`value` rounded to two significant digits (123456 -> 120000), so sizes read well in tables."""
    return int(float(f"{max(value, 1.0):.2g}"))


def search(measure: Callable[[int, int], float], *, param: str, start: int, cap: int, target: float,
           clock: Callable[[], float], confirm_iterations: int = CONFIRM_ITERATIONS) -> Calibration:
    """The size at which one iteration lasts about `target` seconds.

    `measure(size, iterations)` runs one attempt (one process: warm-ups, then `iterations`
    measured iterations) and returns the median seconds of its measured iterations; it raises (a
    CaseFailure) when the implementation fails, which ends the search. `steps` records every
    attempt, the confirming processes each on its own; they run `confirm_iterations` measured iterations.
    """
    began = clock()
    size, steps = max(1, start), []

    def attempt(n: int, iterations: int) -> float:
        seconds = measure(n, iterations)
        steps.append((n, seconds))
        return seconds

    for _ in range(MAX_ATTEMPTS):  # grow until an iteration is long enough to scale from
        seconds = attempt(size, 1)
        if seconds >= FRACTION * target or size >= cap:
            break
        factor = min(GROWTH[1], max(GROWTH[0], target / 2 / max(seconds, 1e-9)))
        size = min(cap, int(size * factor))
    if size >= cap and seconds < FRACTION * target:
        _check_grows(steps, param)

    def scaled(n: int, seconds: float) -> int:
        return min(cap, max(start, nice(n * target / max(seconds, 1e-9))))

    value = scaled(size, seconds)
    for confirms in range(1, MAX_CONFIRMS + 1):  # confirm at the size chosen, warmed up, over several processes
        ran = sorted(attempt(value, confirm_iterations) for _ in range(CONFIRM_PROCESSES))
        seconds = max(statistics.median(ran), ran[-1] / LONGEST)
        again = scaled(value, seconds)
        if abs(seconds / target - 1) <= TOLERANCE or again == value or confirms == MAX_CONFIRMS:
            break
        value = again
    return Calibration(param, value, target, seconds, tuple(steps), round(clock() - began, 3))


def _check_grows(steps: list[tuple[int, float]], param: str) -> None:
    """Fail the case when the last attempt did `FLAT_WORK` times the work of an earlier one or more in less
    than `FLAT_TIME` times its time."""
    size, seconds = steps[-1]
    for n, earlier in steps[:-1]:
        if size >= FLAT_WORK * n and seconds < FLAT_TIME * earlier:
            raise CaseFailure("verify_failed", f"an iteration does not take longer with more work: {param}={n} "
                              f"took {fmt_seconds(earlier)}, {param}={size} ({size / n:.0f}x) "
                              f"{fmt_seconds(seconds)}; elapsed_ns must time the iteration's work "
                              f"(workloads/README.md, Iterations)")
