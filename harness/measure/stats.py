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

**Every process counts once.** A case's processes need not run as many iterations each (the first
run the spec's count, later ones what `optimal_iterations` asks), and a plain median of all their
iterations would then weight a process by its iteration count: one process of 20 iterations on its
own level outvotes three of 6 on another, and the case's figure is that one process's luck. The
median (and the quartiles) of a case are therefore weighted: each iteration weighs one over its
process's count, so each process weighs 1, as the mean of process means does in Kalibera and
Jones's balanced design. Where every process ran as many iterations, this is the plain median.
A weighted quantile q is the value where the running weight of the sorted values reaches q
of the total, and halfway to the next value where it reaches it exactly (two processes of any
counts: halfway between them, as their median is), which with equal weights is the plain median
(the plain quartiles keep `statistics.quantiles(method="inclusive")`, numpy's default). numpy's
weighted quantile (`method="inverted_cdf"`) takes the lower value at an exact crossing; hence
these lines.
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
CI_METHOD = ("two-level bootstrap (processes, then iterations within each), percentile interval of the median "
             "(each process weighted 1)")


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


def process_weights(processes: Sequence[object] | None) -> np.ndarray | None:
    """Each value's weight, one over the number of values of its process (`processes`: each value's process; a
    missing one, None or NaN, weighs 1), so that every process weighs 1 (the module docstring). None where every
    weight is the same: the plain quantiles apply."""
    if processes is None or len(processes) < 2:
        return None
    keys = ["" if p is None or (isinstance(p, float) and math.isnan(p)) else p for p in processes]
    counts: dict[object, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    weights = np.array([1.0 if k == "" else 1.0 / counts[k] for k in keys])
    return None if np.all(weights == weights[0]) else weights


# A running weight within this fraction of the total of a quantile's share reaches it exactly (sums of 1/n).
EXACT = 1e-9


def weighted_quantiles(values: Sequence[float], weights: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Quantiles `qs` of `values` weighted by `weights` (positive): where the running weight of the sorted values
    reaches each q of the total, halfway to the next value where it reaches it exactly (the module docstring)."""
    x = np.asarray(values, dtype=float)
    order = np.argsort(x, kind="stable")
    x, c = x[order], np.cumsum(np.asarray(weights, dtype=float)[order])
    out = []
    for q in qs:
        target, tol = q * c[-1], EXACT * c[-1]
        k = min(int(np.searchsorted(c, target - tol)), len(x) - 1)
        exact = abs(c[k] - target) <= tol and k + 1 < len(x)
        out.append(float((x[k] + x[k + 1]) / 2 if exact else x[k]))
    return out


def summarize(values: Sequence[float], processes: Sequence[object] | None = None) -> Summary:
    """n, median, quartiles and range of `values`; with `processes` (each value's process) each process weighs 1
    in the median and quartiles (`process_weights`)."""
    if not len(values):
        raise ValueError("no samples")
    weights = process_weights(processes)
    vals = sorted(values)
    if weights is not None:
        q1, median, q3 = weighted_quantiles(values, weights, (0.25, 0.5, 0.75))
        return Summary(len(vals), median, q1, q3, vals[0], vals[-1])
    if len(vals) == 1:
        q1 = q3 = vals[0]
    else:
        q1, _, q3 = statistics.quantiles(vals, n=4, method="inclusive")
    return Summary(len(vals), statistics.median(vals), q1, q3, vals[0], vals[-1])


def process_median(groups: Sequence[Sequence[float]]) -> float:
    """The median of every value in `groups` (one group per process), each process weighing 1."""
    data = [list(g) for g in groups if len(g)]
    if not data:
        raise ValueError("no samples")
    return summarize([v for g in data for v in g], [i for i, g in enumerate(data) for _ in g]).median


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
    """The `level` confidence interval of the median of every value in `groups` (one group per process), each
    process weighing 1 (`process_median`).

    Two-level bootstrap: each resample draws as many processes as there are, with replacement, and
    from each drawn process as many of its values as it has, with replacement; the interval is the
    percentile interval of the resamples' medians, weighted the same way. Deterministic for a given `seed`.
    """
    data = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not data:
        raise ValueError("no samples")
    median = process_median(data)
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
    medians = _medians(values, n) if np.all(counts == counts[0]) else _weighted_medians(values, n)
    tail = (1 - level) / 2
    low, high = np.quantile(medians, [tail, 1 - tail])
    return Interval(median, float(low), float(high), level)


def _medians(values: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Each resample's median (`values`: resamples x processes x iterations, padded with inf; `n`: each drawn
    process's count), where every process has as many values: the plain median."""
    ordered = np.sort(values.reshape(len(values), -1), axis=1)  # the padding sorts last
    m = n.sum(axis=1)
    rows = np.arange(len(values))
    return (ordered[rows, (m - 1) // 2] + ordered[rows, m // 2]) / 2


def _weighted_medians(values: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Each resample's median with every drawn process weighing 1 (`weighted_quantiles` at 0.5, vectorised over
    the resamples: `values` resamples x processes x iterations, padded with inf; `n` each drawn process's count)."""
    resamples, _, most = values.shape
    flat = values.reshape(resamples, -1)
    order = np.argsort(flat, axis=1)  # the padding (inf) sorts last
    x = np.take_along_axis(flat, order, axis=1)
    rows = np.arange(resamples)
    w = (1.0 / n)[rows[:, None], order // most]
    w[np.isinf(x)] = 0.0
    c = np.cumsum(w, axis=1)
    total = c[:, -1]
    half, tol = total / 2, EXACT * total
    k = np.minimum((c < (half - tol)[:, None]).sum(axis=1), n.sum(axis=1) - 1)  # where the weight reaches half
    after = np.minimum(k + 1, flat.shape[1] - 1)
    exact = (np.abs(c[rows, k] - half) <= tol) & (after > k) & np.isfinite(x[rows, after])
    return np.where(exact, (x[rows, k] + x[rows, after]) / 2, x[rows, k])


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
