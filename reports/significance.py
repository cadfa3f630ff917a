"""The Mann-Whitney U test, two-sided (scipy's `mannwhitneyu`), and a direction-aware verdict.

p-values: the exact null distribution of U when there are no ties and both samples are small
(and whenever one sample is a single value, which no permutation can split; ties then go
uncorrected); with ties, an exact permutation test over midranks when the number of splits is small, else a
seeded Monte-Carlo permutation test (both scipy's `PermutationMethod`; two-sided as scipy
defines it, twice the smaller one-sided p-value); for large samples the normal approximation
with tie and continuity corrections. The test is on ranks, so it does not care whether higher
or lower is better; `verdict` adds the direction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
EXACT_MAX = 30  # exact U distribution up to this many samples per side
ENUMERATE_MAX = 20_000  # exact permutation enumeration up to this many splits
PERMUTATIONS = 20_000
SEED = 20240229


@dataclass(frozen=True)
class TestResult:
    u: float  # U of the first sample
    p: float  # two-sided p-value
    method: str  # "exact", "permutation (exact)", "permutation (monte carlo)", "normal"
    min_p: float  # the smallest p-value these sample sizes can give


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Two-sided Mann-Whitney U test of samples `a` and `b` (no assumption about their shape)."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        raise ValueError("both samples need at least one value")
    splits = math.comb(m + n, m)
    min_p = min(1.0, 2 / splits)
    ties = len(np.unique(np.concatenate([x, y]))) < m + n
    if min(m, n) == 1 or (not ties and m <= EXACT_MAX and n <= EXACT_MAX):  # one value: no split to permute
        method, how = "exact", "exact"
    elif ties and splits <= ENUMERATE_MAX:
        method, how = "permutation (exact)", stats.PermutationMethod(n_resamples=ENUMERATE_MAX)
    elif min(m, n) < 10:
        method = "permutation (monte carlo)"
        how = stats.PermutationMethod(n_resamples=PERMUTATIONS, rng=np.random.default_rng(SEED))
    else:
        method, how = "normal", "asymptotic"
    r = stats.mannwhitneyu(x, y, alternative="two-sided", use_continuity=True, method=how)
    return TestResult(float(r.statistic), min(1.0, float(r.pvalue)), method, min_p)


# Verdict words: for time-like metrics a change is faster/slower, for others better/worse.
_SPEED_UNITS = ("s", "ops/s", "req/s", "qps")
# How p-values of many tests at once are adjusted (`adjust`).
CORRECTION = "Benjamini-Hochberg"


def adjust(p_values: Sequence[float]) -> np.ndarray:
    """The p-values of a family of tests adjusted for their number: Benjamini-Hochberg's procedure
    (scipy's false_discovery_control), so that, of the tests whose adjusted p-value is below alpha,
    at most a fraction alpha are expected to be false discoveries."""
    ps = np.asarray(p_values, dtype=float)
    return stats.false_discovery_control(ps, method="bh") if len(ps) else ps


def direction_word(result: TestResult, m: int, n: int, direction: str, unit: str = "") -> str:
    """faster/slower (better/worse): which way B's `n` values lie from A's `m`, for the metric's direction."""
    b_higher = result.u < m * n / 2  # A's U below its mean: B's values rank higher
    better = b_higher == (direction == "higher")
    speed = unit in _SPEED_UNITS or unit.startswith("s/")
    return ("faster" if better else "slower") if speed else ("better" if better else "worse")


def verdict(a: Sequence[float], b: Sequence[float], direction: str, unit: str = "",
            alpha: float = ALPHA) -> tuple[str, TestResult | None]:
    """What B is compared with A: faster/slower (better/worse), not significant, or why not tested.

    `direction` is the metric's: "lower" or "higher" is better; "info" is never judged.
    """
    if direction not in ("lower", "higher"):
        return "not compared", None
    result = mann_whitney(a, b)
    if result.min_p > alpha:
        return "too few samples", result
    if result.p >= alpha:
        return "not significant", result
    return direction_word(result, len(a), len(b), direction, unit), result
