"""Summaries of samples: median with an interquartile spread, the instability flag, and how precise a
median is: its confidence interval over processes and iterations, and how to split repetitions
between them.

Iterations of one process are not independent samples: a process draws its own memory layout,
JIT decisions and CPU placement, and its iterations share them. The confidence interval therefore
comes from a two-level bootstrap (Kalibera and Jones, "Rigorous benchmarking in reasonable time",
ISMM 2013; Davison and Hinkley 1997, section 3.8): resample processes with replacement, then
iterations with replacement within each chosen process, and take the median of the pooled values.
No maintained library resamples two levels (scipy's and arch's bootstraps resample one), so the
few lines are written here, vectorised with numpy.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A case whose interquartile range exceeds this fraction of its median is flagged unstable.
UNSTABLE_IQR = 0.10
# The median's confidence interval: its level and how many bootstrap resamples estimate it.
CI_LEVEL = 0.95
RESAMPLES = 2000
CI_METHOD = "two-level bootstrap (processes, then iterations within each), percentile interval of the median"


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    q1: float
    q3: float
    low: float
    high: float

    @property
    def spread(self) -> float:
        """Half the interquartile range, relative to the median (the ± shown in tables)."""
        return (self.q3 - self.q1) / 2 / abs(self.median) if self.median else 0.0

    @property
    def unstable(self) -> bool:
        return self.n >= 3 and self.spread * 2 > UNSTABLE_IQR


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        raise ValueError("no samples")
    vals = sorted(values)
    if len(vals) == 1:
        q1 = q3 = vals[0]
    else:
        q1, _, q3 = statistics.quantiles(vals, n=4, method="inclusive")
    return Summary(len(vals), statistics.median(vals), q1, q3, vals[0], vals[-1])


@dataclass(frozen=True)
class Interval:
    """A confidence interval of the median of all values."""

    median: float
    low: float
    high: float
    level: float = CI_LEVEL

    @property
    def half_width(self) -> float:
        """Half the interval's width relative to the median (the ± a table shows)."""
        return (self.high - self.low) / 2 / abs(self.median) if self.median else math.inf


# 1.4826 x the median absolute deviation estimates the standard deviation of a normal spread.
MAD_TO_SD = 1.4826


def robust_sd(deviations: Sequence[float]) -> float:
    """A standard deviation from deviations around a centre (their median absolute value x `MAD_TO_SD`): what
    the spread of most values says, a few far ones apart."""
    return MAD_TO_SD * float(np.median(np.abs(np.asarray(deviations, dtype=float)))) if len(deviations) else 0.0


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    """The coefficient of variation: the sample standard deviation over the mean's magnitude (None for fewer than
    two values or a mean of 0)."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    return statistics.stdev(values) / abs(mean) if mean else None


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two intervals (low, high) share a point. Two figures whose 95% intervals overlap are
    not ranked against each other: neither is shown as the best, nor as a factor of the other."""
    return a[0] <= b[1] and b[0] <= a[1]


def median_ci(groups: Sequence[Sequence[float]], *, level: float = CI_LEVEL, resamples: int = RESAMPLES,
              seed: int = 0) -> Interval:
    """The `level` confidence interval of the median of every value in `groups` (one group per process).

    Two-level bootstrap: each resample draws as many processes as there are, with replacement, and
    from each drawn process as many of its values as it has, with replacement; the interval is the
    percentile interval of the resamples' medians. Deterministic for a given `seed`.
    """
    data = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not data:
        raise ValueError("no samples")
    pooled = np.concatenate(data)
    median = float(np.median(pooled))
    counts = np.array([len(g) for g in data])
    table = np.full((len(data), counts.max()), np.nan)
    for i, g in enumerate(data):
        table[i, :len(g)] = g
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(data), size=(resamples, len(data)))  # processes of each resample
    n = counts[drawn]
    within = (rng.random((resamples, len(data), table.shape[1])) * n[..., None]).astype(np.intp)
    values = table[drawn[..., None], within]
    values[np.arange(table.shape[1]) >= n[..., None]] = np.inf  # a process gives as many values as it has
    ordered = np.sort(values.reshape(resamples, -1), axis=1)  # the padding sorts last
    m = n.sum(axis=1)
    rows = np.arange(resamples)
    medians = (ordered[rows, (m - 1) // 2] + ordered[rows, m // 2]) / 2
    tail = (1 - level) / 2
    low, high = np.quantile(medians, [tail, 1 - tail])
    return Interval(median, float(low), float(high), level)


@dataclass(frozen=True)
class Components:
    """Variance of one measurement split by level: between processes and within a process."""

    between: float  # S1^2: variance of process means beyond what within-process noise explains
    within: float  # S2^2: the mean of the processes' own variances


def variance_components(groups: Sequence[Sequence[float]]) -> Components:
    """Method-of-moments estimates (Kalibera and Jones 2013, section 4) from processes of >= 2 values."""
    usable = [list(g) for g in groups if len(g) >= 2]
    if not usable:
        return Components(0.0, 0.0)
    within = statistics.fmean(statistics.variance(g) for g in usable)
    if len(usable) < 2:
        return Components(0.0, within)
    n = statistics.harmonic_mean([len(g) for g in usable])
    means = statistics.variance([statistics.fmean(g) for g in usable])
    return Components(max(0.0, means - within / n), within)


def optimal_iterations(process_cost: float, iteration_cost: float, parts: Components, low: int, high: int) -> int:
    """Iterations per process that minimise the variance of the mean for a given time (Kalibera and Jones).

    n = sqrt(c1 S2^2 / (c2 S1^2)), with c1 the fixed cost of a process (start, warm-ups, exit) and
    c2 the cost of one iteration; clamped to [low, high]. No between-process variance: as many as
    allowed; no within-process variance: as few.
    """
    if parts.within <= 0 or iteration_cost <= 0:
        return low
    if parts.between <= 0:
        return high
    n = math.sqrt(max(process_cost, 0.0) * parts.within / (iteration_cost * parts.between))
    return max(low, min(high, math.ceil(n)))
