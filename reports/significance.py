"""The Mann-Whitney U test, two-sided, with numpy only, and a direction-aware verdict.

p-values: the exact null distribution of U when there are no ties and both samples are small
(the usual recursion over sample sizes); with ties, an exact permutation test over midranks
when the number of splits is small, else a seeded Monte-Carlo permutation test; for large
samples the normal approximation with tie and continuity corrections. The test is on ranks,
so it does not care whether higher or lower is better; `verdict` adds the direction.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

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


def _midranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=float)
    sorted_vals = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


@lru_cache(maxsize=256)
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many of the C(m+n, m) arrangements give each U = 0..m*n (no ties)."""
    # f[i][j] = distribution for sizes i, j; built up with f(i, j) = f(i-1, j) shifted by j + f(i, j-1).
    prev_row = [[1] for _ in range(n + 1)]  # i = 0: U is always 0
    for i in range(1, m + 1):
        row = [[1]]  # j = 0
        for j in range(1, n + 1):
            a = prev_row[j]  # f(i-1, j), shifted by j
            b = row[j - 1]  # f(i, j-1)
            out = [0] * (i * j + 1)
            for u, c in enumerate(a):
                out[u + j] += c
            for u, c in enumerate(b):
                out[u] += c
            row.append(out)
        prev_row = row
    return tuple(prev_row[n])


def _two_sided(counts: Sequence[int], u: float, total: int) -> float:
    mean = (len(counts) - 1) / 2
    d = abs(u - mean)
    tail = sum(c for k, c in enumerate(counts) if abs(k - mean) >= d - 1e-9)
    return min(1.0, tail / total)


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Two-sided Mann-Whitney U test of samples `a` and `b` (no assumption about their shape)."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        raise ValueError("both samples need at least one value")
    pooled = np.concatenate([x, y])
    ranks = _midranks(pooled)
    u = float(ranks[:m].sum() - m * (m + 1) / 2)
    splits = math.comb(m + n, m)
    min_p = min(1.0, 2 / splits)
    ties = len(np.unique(pooled)) < m + n
    mean = m * n / 2
    if not ties and m <= EXACT_MAX and n <= EXACT_MAX:
        return TestResult(u, _two_sided(_u_counts(m, n), u, splits), "exact", min_p)
    if ties and splits <= ENUMERATE_MAX:
        us = np.array([ranks[list(c)].sum() for c in itertools.combinations(range(m + n), m)]) - m * (m + 1) / 2
        p = float(np.mean(np.abs(us - mean) >= abs(u - mean) - 1e-9))
        return TestResult(u, min(1.0, p), "permutation (exact)", min_p)
    if min(m, n) < 10:
        rng = np.random.default_rng(SEED)
        perms = np.argsort(rng.random((PERMUTATIONS, m + n)), axis=1)[:, :m]
        us = ranks[perms].sum(axis=1) - m * (m + 1) / 2
        hits = int(np.sum(np.abs(us - mean) >= abs(u - mean) - 1e-9))
        return TestResult(u, min(1.0, (hits + 1) / (PERMUTATIONS + 1)), "permutation (monte carlo)", min_p)
    _, tie_counts = np.unique(pooled, return_counts=True)
    tie_term = float(np.sum(tie_counts**3 - tie_counts)) / ((m + n) * (m + n - 1))
    var = m * n / 12 * ((m + n + 1) - tie_term)
    if var <= 0:
        return TestResult(u, 1.0, "normal", min_p)
    z = (abs(u - mean) - 0.5) / math.sqrt(var)
    p = math.erfc(max(z, 0.0) / math.sqrt(2))
    return TestResult(u, min(1.0, p), "normal", min_p)


# Verdict words: for time-like metrics a change is faster/slower, for others better/worse.
_SPEED_UNITS = ("s", "ops/s", "req/s", "qps")


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
    b_higher = result.u < len(a) * len(b) / 2  # A's U below its mean: B's values rank higher
    better = b_higher == (direction == "higher")
    speed = unit in _SPEED_UNITS or unit.startswith("s/")
    return ("faster" if better else "slower") if speed else ("better" if better else "worse"), result
