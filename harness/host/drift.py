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
`ROUNDS` rounds of `HANDOFFS` hand-offs, their median (about 15 ms). Where the run has a second
CPU it also measures the hand-off across the two (`CROSS_HANDOFFS` a round, about 50 ms: a
cross-CPU hand-off costs several times a same-CPU one), which every `spread` case's threads pay
and which moves on a virtual machine with where the host runs its virtual CPUs: four quick runs
on a 2-CPU VM found it at 18.5-23.8 us at their starts (a CV of 11.6%; the same-CPU one 3.8%).
run.json records the series and their spread under `host_drift` (the cross-CPU one under
`cross`), and the run ends with a line saying how much the host moved:
a host whose probes spread by more than `STEADY_CV` was not steady enough for figures to repeat
closer than that (results/README.md). The spread judged is robust (`robust_cv`: the median absolute
deviation as a standard deviation, relative to the median), as the figures are medians: with a
probe before every visit a run takes a hundred, and the few that meet a brief disturbance (five
quick runs on a quiet host: 2 to 18 of 72-117 probes 10-55% slow) make CVs of 4-11% where the
spread of most probes is 0.6-1.2%. `cv` is recorded beside it.

**Slow spells.** A probe is slow when it is `SPELL_RATIO` above the host's calm level, the lower
quartile of the probes before it (from the `SPELL_FROM`th on). One slow probe is a brief
disturbance; two in a row are a spell: another guest or the hypervisor holding the host's CPUs
for a while, which the guest sees as neither steal time nor another process. Processes measured
in one ran slow with it: of four quick runs in a row on a 2-CPU VM, one met a two-minute spell
(its probes 2.5 us calm, 2.9-3.6 us in it), and its processes that started in a visit the spell
held ran 14% slower at the median than the other runs' same cases, those outside it 2%; in the
three calm runs the same rule marked 4-8 processes of 345-368. A batch case sets such processes
aside (harness/kinds/batch/measure.py; `spells` counts the probes that found one), so the spell
costs time, not a figure.
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

# 4: `spells`, the probes that found the host in a slow spell;
SCHEMA = 4  # 3: `cross`, the cross-CPU series; 2: `steady` judged on `robust_cv` (1: on `cv`, no `robust_cv`)
HANDOFFS = 2000  # hand-offs per round
CROSS_HANDOFFS = 500  # hand-offs per round across two CPUs (each several times a same-CPU one)
ROUNDS = 5  # rounds per probe, whose median is the probe's value
STEADY_CV = 0.05  # a host whose probes vary more than this (robust_cv, relative to the median) was not steady
SPELL_RATIO = 1.10  # a probe this far above the calm level (the lower quartile of the probes before it) is slow
SPELL_FROM = 5  # probes before one that can be judged slow


@dataclass
class Series:
    """One probe's values over a run: (seconds since the run's first probe, ns per hand-off)."""

    values: list[tuple[float, float]] = field(default_factory=list)

    @property
    def ns(self) -> list[float]:
        return [v for _, v in self.values]

    @property
    def cv(self) -> float | None:
        """The probes' coefficient of variation (None below two probes)."""
        return coefficient_of_variation(self.ns)

    @property
    def robust_cv(self) -> float | None:
        """What most probes' spread says: robust_sd about their median, relative to it (None below two probes)."""
        ns = self.ns
        if len(ns) < 2:
            return None
        centre = statistics.median(ns)
        return robust_sd([v - centre for v in ns]) / centre

    @property
    def steady(self) -> bool | None:
        return None if self.robust_cv is None else self.robust_cv <= STEADY_CV

    def slow(self, i: int) -> bool:
        """Whether probe `i` is `SPELL_RATIO` above the lower quartile of the probes before it (module docstring)."""
        ns = self.ns
        i = i % len(ns) if ns else 0
        if i < SPELL_FROM:
            return False
        calm = statistics.quantiles(ns[:i], n=4, method="inclusive")[0]
        return ns[i] > SPELL_RATIO * calm

    def in_spell(self) -> bool:
        """Whether the two latest probes are both slow: the host is in a slow spell."""
        return len(self.ns) > SPELL_FROM and self.slow(-1) and self.slow(-2)

    def as_dict(self) -> dict[str, Any]:
        ns = self.ns
        out: dict[str, Any] = {"values": [[t, v] for t, v in self.values], "n": len(ns)}
        if ns:
            out.update(median=statistics.median(ns), min=min(ns), max=max(ns), cv=self.cv, robust_cv=self.robust_cv,
                       steady=self.steady)
        return out

    def spread(self) -> str:
        """`1.2 us median, spread 1.0% (robust; CV 2.1%, 1.2 us-1.3 us)` (two probes at least)."""
        ns, cv, robust = self.ns, self.cv or 0.0, self.robust_cv or 0.0
        return (f"{fmt_seconds(statistics.median(ns) / 1e9)} median, spread {robust:.1%} (robust; CV {cv:.1%}, "
                f"{fmt_seconds(min(ns) / 1e9)}-{fmt_seconds(max(ns) / 1e9)})")


@dataclass
class HostDrift:
    """The probes of one run on one host: ns per thread hand-off on `cpu`, and between `cpu` and `other` (if any)."""

    cpu: int
    other: int | None = None
    run: Runner = run_pinned
    program: Callable[[], Path] = spawn_program
    clock: Callable[[], float] = time.monotonic
    same: Series = field(default_factory=Series)
    cross: Series = field(default_factory=Series)
    skipped: str = ""  # why no probe could be taken (no C compiler, say)
    cross_skipped: str = ""  # why no cross-CPU probe could be taken
    spells: int = 0  # probes that found the host in a slow spell
    _spell: bool = False  # whether the latest probe did
    _began: float | None = None

    @property
    def method(self) -> str:
        return (f"reference-spawn handoff {HANDOFFS} {ROUNDS} {self.cpu} {self.cpu} (two threads pinned to CPU "
                f"{self.cpu} pass a byte over pipes; the median of {ROUNDS} rounds, ns per hand-off; "
                "harness/host/spawn_cost.c), before every visit of a unit and at the end of the run")

    @property
    def cross_method(self) -> str:
        return (f"reference-spawn handoff {CROSS_HANDOFFS} {ROUNDS} {self.cpu} {self.other} (the threads pinned to "
                f"CPU {self.cpu} and CPU {self.other}), with every same-CPU probe")

    def probe(self) -> None:
        """Take one probe of each series (nothing once a probe could not be taken)."""
        if self.skipped:
            return
        now = self.clock()
        if self._began is None:
            self._began = now
        at = round(now - self._began, 1)
        got = spawn_values("host_drift", ("handoff", str(HANDOFFS), str(ROUNDS), str(self.cpu), str(self.cpu)),
                           self.cpu, ROUNDS, self.run, self.program)
        if isinstance(got, Skipped):
            self.skipped = got.reason
            return
        self.same.values.append((at, statistics.median(got)))
        self._spell = self.same.in_spell()
        self.spells += self._spell
        if self.other is None or self.cross_skipped:
            return
        got = spawn_values("host_drift", ("handoff", str(CROSS_HANDOFFS), str(ROUNDS), str(self.cpu),
                                          str(self.other)), self.cpu, ROUNDS, self.run, self.program)
        if isinstance(got, Skipped):
            self.cross_skipped = got.reason
        else:
            self.cross.values.append((at, statistics.median(got)))

    @property
    def values(self) -> list[tuple[float, float]]:
        """The same-CPU probes."""
        return self.same.values

    @property
    def cv(self) -> float | None:
        return self.same.cv

    @property
    def robust_cv(self) -> float | None:
        return self.same.robust_cv

    @property
    def steady(self) -> bool | None:
        return self.same.steady

    def in_spell(self) -> bool:
        """Whether the latest same-CPU probe found the host in a slow spell (the module docstring)."""
        return self._spell

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": SCHEMA, "cpu": self.cpu, "method": self.method, "unit": "ns",
                               **self.same.as_dict(), "spells": self.spells}
        if self.skipped:
            out["skipped"] = self.skipped
        if self.other is not None:
            out["cross"] = {"cpus": [self.cpu, self.other], "method": self.cross_method, **self.cross.as_dict()}
            if self.cross_skipped:
                out["cross"]["skipped"] = self.cross_skipped
        return out

    def text(self) -> str:
        """The end of the run: how much the host moved, and what that means for the figures (a line per series)."""
        if self.skipped and not self.values:
            return f"host drift: not measured ({self.skipped})"
        if len(self.values) < 2:
            return ""
        same = self.same
        line = (f"host drift: the host's own thread hand-off on CPU {self.cpu}, measured {len(same.ns)} times between "
                f"visits of units, {same.spread()}")
        if (same.robust_cv or 0.0) > STEADY_CV:
            line += (f"; above {STEADY_CV:.0%}, the host was not steady: figures of this run may not repeat in "
                     "another more closely than that")
        elif (same.cv or 0.0) > STEADY_CV:
            line += "; most probes held still, a few met brief disturbances"
        if self.spells:
            line += (f"; {self.spells} found it in a slow spell (two probes in a row {SPELL_RATIO - 1:.0%} above its "
                     "calm level), whose processes batch cases set aside")
        if len(self.cross.ns) < 2:
            return line
        line += (f"\nhost drift across CPUs {self.cpu} and {self.other}: the hand-off between them, "
                 f"{self.cross.spread()}")
        if (self.cross.robust_cv or 0.0) > STEADY_CV:
            line += (f"; above {STEADY_CV:.0%}: `spread` figures of this run, whose threads hand off across CPUs, may "
                     "not repeat in another more closely than that")
        return line
