"""How steady the host itself was while a run measured: a pinned thread hand-off, taken between visits of units.

A figure cannot repeat from one run to the next more closely than the host it is measured on.
On a virtual machine the CPUs are shared with other guests, and the same pinned work can change
speed by a factor of three within seconds while the guest sees no steal time (on a 2-CPU
development VM: a pinned loop of 30 million additions took 19 to 66 ms within twelve seconds;
`perf bench sched pipe` pinned to one CPU, eight times back to back, varied with a CV of 19%).
Interleaving the implementations of a case (harness/kinds/batch/measure.py) keeps such changes
out of the comparison within a run; taking the rounds of every unit in turn (HostRun.execute_units)
spreads each case's processes over the whole run, so that a spell touches a few processes of many
cases; neither can make a run's host the next run's.

So a quick or full run (those that take the reference measurements, harness/host/oscosts.py)
measures the host's own same-CPU thread hand-off before every visit of a unit and at its end:
reference-spawn `handoff` (harness/host/spawn_cost.c) with both threads on the run's first CPU,
`ROUNDS` rounds of `HANDOFFS` hand-offs, their median (about 15 ms). run.json records the series
and its spread under `host_drift`, and the run ends with one line saying how much the host moved:
a host whose probes spread by more than `STEADY_CV` was not steady enough for figures to repeat
closer than that (results/README.md). The spread judged is robust (`robust_cv`: the median absolute
deviation as a standard deviation, relative to the median), as the figures are medians: with a
probe before every visit a run takes a hundred, and the few that meet a brief disturbance (five
quick runs on a quiet host: 2 to 18 of 72-117 probes 10-55% slow) make CVs of 4-11% where the
spread of most probes is 0.6-1.2%. `cv` is recorded beside it. The probe measures; it changes no
figure and flags no case.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.host.oscosts import Runner, Skipped, run_pinned, spawn_program, spawn_values
from harness.measure.stats import coefficient_of_variation, robust_sd
from harness.vocab import fmt_seconds

SCHEMA = 2  # 2: `steady` judged on `robust_cv` (1: on `cv`, and no `robust_cv`)
HANDOFFS = 2000  # hand-offs per round
ROUNDS = 5  # rounds per probe, whose median is the probe's value
STEADY_CV = 0.05  # a host whose probes vary more than this (robust_cv, relative to the median) was not steady


@dataclass
class HostDrift:
    """The probes of one run on one host: (seconds since the first, ns per same-CPU thread hand-off)."""

    cpu: int
    run: Runner = run_pinned
    program: Callable[[], Path] = spawn_program
    clock: Callable[[], float] = time.monotonic
    values: list[tuple[float, float]] = field(default_factory=list)
    skipped: str = ""  # why no probe could be taken (no C compiler, say)
    _began: float | None = None

    @property
    def method(self) -> str:
        return (f"reference-spawn handoff {HANDOFFS} {ROUNDS} {self.cpu} {self.cpu} (two threads pinned to CPU "
                f"{self.cpu} pass a byte over pipes; the median of {ROUNDS} rounds, ns per hand-off; "
                "harness/host/spawn_cost.c), before every visit of a unit and at the end of the run")

    def probe(self) -> None:
        """Take one probe (nothing once a probe could not be taken)."""
        if self.skipped:
            return
        now = self.clock()
        if self._began is None:
            self._began = now
        args = ("handoff", str(HANDOFFS), str(ROUNDS), str(self.cpu), str(self.cpu))
        got = spawn_values("host_drift", args, self.cpu, ROUNDS, self.run, self.program)
        if isinstance(got, Skipped):
            self.skipped = got.reason
            return
        self.values.append((round(now - self._began, 1), statistics.median(got)))

    @property
    def cv(self) -> float | None:
        """The probes' coefficient of variation (None below two probes)."""
        ns = [v for _, v in self.values]
        return coefficient_of_variation(ns)

    @property
    def robust_cv(self) -> float | None:
        """What most probes' spread says: robust_sd about their median, relative to it (None below two probes)."""
        ns = [v for _, v in self.values]
        if len(ns) < 2:
            return None
        centre = statistics.median(ns)
        return robust_sd([v - centre for v in ns]) / centre

    @property
    def steady(self) -> bool | None:
        return None if self.robust_cv is None else self.robust_cv <= STEADY_CV

    def as_dict(self) -> dict[str, Any]:
        ns = [v for _, v in self.values]
        out: dict[str, Any] = {"schema": SCHEMA, "cpu": self.cpu, "method": self.method, "unit": "ns",
                               "values": [[t, v] for t, v in self.values], "n": len(ns)}
        if ns:
            out.update(median=statistics.median(ns), min=min(ns), max=max(ns), cv=self.cv, robust_cv=self.robust_cv,
                       steady=self.steady)
        if self.skipped:
            out["skipped"] = self.skipped
        return out

    def text(self) -> str:
        """One line for the end of the run: how much the host moved, and what that means for the figures."""
        if self.skipped and not self.values:
            return f"host drift: not measured ({self.skipped})"
        ns = [v for _, v in self.values]
        if len(ns) < 2:
            return ""
        cv, robust = self.cv or 0.0, self.robust_cv or 0.0
        line = (f"host drift: the host's own thread hand-off on CPU {self.cpu}, measured {len(ns)} times between "
                f"visits of units, {fmt_seconds(statistics.median(ns) / 1e9)} median, spread {robust:.1%} "
                f"(robust; CV {cv:.1%}, {fmt_seconds(min(ns) / 1e9)}-{fmt_seconds(max(ns) / 1e9)})")
        if robust > STEADY_CV:
            line += (f"; above {STEADY_CV:.0%}, the host was not steady: figures of this run may not repeat in "
                     "another more closely than that")
        elif cv > STEADY_CV:
            line += "; most probes held still, a few met brief disturbances"
        return line
