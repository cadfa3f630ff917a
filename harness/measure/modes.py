"""Whether a case's processes fall into groups (modes), and where each group lies.

On a host with few CPUs, two threads handing work to each other share one CPU (fast) or sit on
two (slow), as the scheduler happens to place them when a process starts; a process keeps its
placement, so a case's processes fall into two groups. The median of a few such processes is
whichever group held the middle one, and its interval spans both: the honest figure is the
groups themselves, each with its location and share.

The unit is one value per process, the median of its measured iterations: iterations of one
process share its placement, memory layout and JIT decisions, so they are not independent
samples (stats.py). Values are compared as logarithms, so that a time and its reciprocal (wall
time, throughput) split alike and a gap between groups is a ratio.

The rule, on the sorted logarithms of n per-process values:

1. **The split.** Of the cuts leaving a lower and an upper group of at least `MIN_GROUP` (2)
   processes each, the one that leaves the groups tightest (the least sum of squares within
   them: Fisher's optimal grouping, or k-means with k = 2, in one dimension). One process apart
   is an outlier, not a mode, so modes need at least four processes: **three processes never
   show modes**, whatever their values.
2. **The gap rule** (primary). The split is modes when the empty interval between the groups
   (the lowest upper value less the highest lower one) is at least `SEPARATION` (8) pooled
   within-group standard deviations wide, and the groups' medians differ by at least
   `MIN_RATIO` (x1.10).
3. **Hartigan's dip test** (Hartigan and Hartigan 1985; the PyPI package `diptest`, its p-value
   interpolated from the tabulated critical values, which are those of the uniform
   distribution: the least favourable unimodal one, so the level holds for any unimodal
   shape). From `DIP_FROM` (11) processes the split is also modes when the test rejects
   unimodality at `DIP_ALPHA` (0.05) and the groups' medians differ by at least `MIN_RATIO`.
   Below that the test cannot decide: on two perfectly separated groups its p-value is 0.47 for
   8 + 2 processes, 0.04 for 7 + 3 and 0.05 for 4 + 2, so up to 10 processes (the quick profile's
   most) the gap rule decides alone. The statistic and p-value are recorded from 4 processes on.
4. Each group found is split again by the same rule. A split is judged by the spread of all
   that lies on each side, so a third group counts as spread: three groups at about even
   distances read as none, and such a case stays one figure with its wide interval.

Why these thresholds. `MIN_RATIO` is the 10% at which the tables call a spread unstable
(stats.UNSTABLE_IQR): groups closer than that are ordinary noise to every table, and the
median's interval spans them. `SEPARATION` was set on simulated per-process values (6,000
samples of each size from 3 to 30 per shape): on unimodal noise (normal with 5% and 10% spread,
Student's t with 3 degrees of freedom, exponential, log-normal with sigma 0.3, uniform over 20%)
the rule finds modes in at most 3.1% of samples of 4 processes (uniform; 1.3% for normal noise
of 5%), 2.9% of 5, 1.9% of 6, 0.6% of 8 and 0.4% of 10; from 11 processes the dip test adds its
own level, at most 4.2% (uniform, the shape its table is calibrated on) and 1.7% for the other
shapes. Two groups a factor 2 apart with 3% noise each are found in more than 99% of samples
from 4 processes on (each group holding two). With 8% noise within each group the gap closes:
the rule finds half-and-half groups in 31-58% of samples of 4-10 processes, and the dip test in
93% at 11.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from diptest import diptest

from harness.vocab import fmt_seconds

MIN_GROUP = 2  # processes in the smallest mode
SEPARATION = 8.0  # the gap between groups, in pooled within-group standard deviations (of the logarithms)
MIN_RATIO = 1.10  # the least ratio of two neighbouring modes' locations
DIP_FROM = 11  # processes from which Hartigan's dip test can find modes on its own
DIP_ALPHA = 0.05
MODES_FROM = 2 * MIN_GROUP  # the fewest processes that can show modes
MODES_PREFIX = "modes:"  # the stable start of the flag of a case whose processes fall into modes
METHOD = (f"per-process medians on a log scale, split where the groups are tightest; modes when the gap is "
          f"at least {SEPARATION:g} pooled standard deviations, or (from {DIP_FROM} processes) Hartigan's dip test "
          f"rejects unimodality at {DIP_ALPHA:g}, with neighbouring modes at least {MIN_RATIO:g}x apart")


@dataclass(frozen=True)
class Mode:
    """One group of a case's processes."""

    location: float  # the median of the group's per-process values
    share: float  # the group's fraction of the processes
    n: int  # processes in the group
    processes: tuple[int, ...]  # their indices among the case's processes (results.csv `process`)

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "share": self.share, "n": self.n, "processes": list(self.processes)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Mode:
        return cls(float(d["location"]), float(d["share"]), int(d["n"]), tuple(int(p) for p in d.get("processes", ())))


@dataclass(frozen=True)
class Modes:
    """What `find_modes` found: the groups, lowest first (one group: no modes), and the tests' figures."""

    modes: tuple[Mode, ...]
    dip: float | None = None  # Hartigan's dip statistic over every process (None below MODES_FROM processes)
    p_value: float | None = None  # its p-value
    separation: float | None = None  # the first split's gap in pooled standard deviations (None: no split, or
    # groups without any spread)

    @property
    def multimodal(self) -> bool:
        return len(self.modes) > 1

    @property
    def n(self) -> int:
        return sum(m.n for m in self.modes)

    def text(self, fmt: Callable[[float], str] = fmt_seconds) -> str:
        """`2 (61% at 1.2 ms, 39% at 3.4 ms)`: how many modes, each's share and location."""
        return f"{len(self.modes)} (" + ", ".join(f"{m.share:.0%} at {fmt(m.location)}" for m in self.modes) + ")"

    def flag(self, fmt: Callable[[float], str] = fmt_seconds) -> str:
        return f"{MODES_PREFIX} {self.text(fmt)}"

    def to_dict(self) -> dict[str, Any]:
        return {"method": METHOD, "modes": [m.to_dict() for m in self.modes], "dip": _finite(self.dip),
                "p_value": _finite(self.p_value), "separation": _finite(self.separation)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Modes:
        def number(key: str) -> float | None:
            v = d.get(key)
            return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
        return cls(tuple(Mode.from_dict(m) for m in d.get("modes", ())), number("dip"), number("p_value"),
                   number("separation"))


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def has_modes(flags: str | Sequence[str]) -> bool:
    """Whether a case's flags (a list, or run.json's text joined with '; ') say its processes fall into modes."""
    items = [f.strip() for f in flags.split(";")] if isinstance(flags, str) else [str(f) for f in flags]
    return any(f.startswith(MODES_PREFIX) for f in items)


def _split(y: np.ndarray) -> tuple[int, float, float]:
    """(the cut k: y[:k] | y[k:], the pooled within-group standard deviation, the gap) of sorted `y`."""
    n = len(y)
    cuts = np.arange(MIN_GROUP, n - MIN_GROUP + 1)
    total, squares = np.cumsum(y), np.cumsum(y * y)

    def within(lo_sum, lo_sq, count):  # sum of squares about the mean
        return lo_sq - lo_sum * lo_sum / count
    lower = within(total[cuts - 1], squares[cuts - 1], cuts)
    upper = within(total[-1] - total[cuts - 1], squares[-1] - squares[cuts - 1], n - cuts)
    ss = np.maximum(lower + upper, 0.0)
    k = int(cuts[int(np.argmin(ss))])
    return k, math.sqrt(float(ss.min()) / (n - 2)), float(y[k] - y[k - 1])


def _dip(y: np.ndarray) -> tuple[float, float]:
    dip, p = diptest(y, sort_x=False)
    return float(dip), float(p)


def _cut(y: np.ndarray) -> tuple[int | None, float | None]:
    """Where sorted logarithms `y` split into modes (None: they do not), and the split's separation."""
    if len(y) < MODES_FROM:
        return None, None
    k, spread, gap = _split(y)
    separation = gap / spread if spread > 0 else (math.inf if gap > 0 else 0.0)
    if math.exp(float(np.median(y[k:]) - np.median(y[:k]))) < MIN_RATIO:
        return None, separation
    if separation >= SEPARATION or (len(y) >= DIP_FROM and _dip(y)[1] < DIP_ALPHA):
        return k, separation
    return None, separation


def _groups(order: np.ndarray, logs: np.ndarray) -> list[np.ndarray]:
    k, _ = _cut(logs[order])
    if k is None:
        return [order]
    return _groups(order[:k], logs) + _groups(order[k:], logs)


def find_modes(values: Sequence[float]) -> Modes:
    """The modes of a case's per-process values (each process's median of its measured iterations).

    Values must be above 0 (they are compared as logarithms); with any that is not, the case is
    left as one group."""
    if not len(values):
        raise ValueError("no values")
    x = np.asarray(values, dtype=float)
    n = len(x)
    if not np.all(np.isfinite(x) & (x > 0)):
        return Modes((Mode(statistics.median(x.tolist()), 1.0, n, tuple(range(n))),))
    logs = np.log(x)
    order = np.argsort(logs, kind="stable")
    dip = p = None
    if n >= MODES_FROM:
        dip, p = _dip(logs[order])
    _, separation = _cut(logs[order])
    modes = tuple(Mode(float(np.median(x[g])), len(g) / n, len(g), tuple(sorted(int(i) for i in g)))
                  for g in _groups(order, logs))
    return Modes(modes, dip, p, separation)
