"""The statistics behind a claim's verdict: an interval for a median, and tests of an ordering.

- A **range** claim (the value lies between two bounds) is judged on a distribution-free
  confidence interval of the median: the order statistics [x(k), x(n-k+1)], whose coverage is
  1 - 2 P(Binomial(n, 1/2) < k). The widest interval reaching 95% is used; with fewer than six
  values none does, and [min, max] is used with the coverage it has (75% for n = 3), which the
  verdict states. No library offers this interval without SciPy, and it is a few lines.
- A **ratio** claim is judged on the interval of the ratio of two medians, from the two medians'
  intervals (each at the square root of 95%, so both hold together with at least 95%).
- An **order** claim (A below B) is judged by the Mann-Whitney U test of reports/significance.py,
  one-sided in the claimed direction: its null distribution is symmetric, so the one-sided
  p-value is half the two-sided one on the observed side. A pair is consistent when the claimed
  direction reaches p <= alpha, contradicted when the opposite direction does, and inconclusive
  (a tie) otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .significance import mann_whitney

ALPHA = 0.05
CONFIDENCE = 0.95
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float  # the coverage it actually has

    def within(self, low: float, high: float) -> bool:
        return low <= self.low and self.high <= high

    def apart(self, low: float, high: float) -> bool:
        return self.high < low or self.low > high


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The widest order-statistic interval of the median reaching `confidence` (else [min, max])."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("no values")
    total = 2**n

    def coverage(k: int) -> float:
        return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / total

    best = 1
    for k in range(2, (n + 1) // 2 + 1):
        if coverage(k) < confidence:
            break
        best = k
    return Interval(xs[best - 1], xs[n - best], coverage(best))


@dataclass(frozen=True)
class Outcome:
    result: str  # PASS, FAIL or INCONCLUSIVE
    test: str  # the interval or test that decided it, in words
    value: float | None = None  # the ratio, for ratio claims


def judge_range(values: Sequence[float], low: float, high: float, fmt) -> Outcome:
    """Consistent if the median's interval lies within [low, high], contradicted if wholly outside."""
    ci = median_interval(values)
    where = f"{ci.confidence:.0%} interval of the median {fmt(ci.low)} – {fmt(ci.high)}"
    if ci.within(low, high):
        return Outcome(PASS, f"{where}, inside the bounds")
    if ci.apart(low, high):
        return Outcome(FAIL, f"{where}, outside the bounds")
    return Outcome(INCONCLUSIVE, f"{where}, across a bound")


def ratio_interval(num: Sequence[float], den: Sequence[float]) -> Interval | None:
    """The interval of median(num) / median(den), or None when the denominator may be 0 or below."""
    each = math.sqrt(CONFIDENCE)
    a, b = median_interval(num, each), median_interval(den, each)
    if b.low <= 0 or a.low < 0:
        return None
    return Interval(a.low / b.high, a.high / b.low, a.confidence * b.confidence)


def judge_ratio(num: Sequence[float], den: Sequence[float], ratio: float, factor: float) -> Outcome | None:
    """Consistent if the ratio's interval lies on the claimed side of 1 and within a factor of the
    claimed ratio; contradicted if it lies wholly outside that band; None if it cannot be formed."""
    ci = ratio_interval(num, den)
    if ci is None:
        return None
    low, high = ratio / factor, ratio * factor
    if ratio > 1:
        low = max(low, 1.0)
    elif ratio < 1:
        high = min(high, 1.0)
    value = _median(num) / _median(den)
    where = f"ratio {value:.3g}×, {ci.confidence:.0%} interval {ci.low:.3g}× – {ci.high:.3g}×"
    if ci.within(low, high):
        return Outcome(PASS, f"{where}, inside {low:.3g}× – {high:.3g}×", value)
    if ci.apart(low, high):
        return Outcome(FAIL, f"{where}, outside {low:.3g}× – {high:.3g}×", value)
    return Outcome(INCONCLUSIVE, f"{where}, across a bound of {low:.3g}× – {high:.3g}×", value)


def _median(values: Sequence[float]) -> float:
    xs = sorted(values)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def judge_order(a: Sequence[float], b: Sequence[float], below: bool = True) -> Outcome:
    """Is `a` below `b` (or above, with below=False)? One-sided Mann-Whitney U at ALPHA."""
    r = mann_whitney(a, b)
    a_lower = r.u < len(a) * len(b) / 2
    tie = r.u == len(a) * len(b) / 2
    observed_as_claimed = (a_lower == below) and not tie
    p_claimed = r.p / 2 if observed_as_claimed else 1 - r.p / 2
    p_opposite = r.p / 2 if not observed_as_claimed and not tie else 1 - r.p / 2
    word = "below" if below else "above"
    if r.min_p / 2 > ALPHA:
        return Outcome(INCONCLUSIVE, f"too few values for a one-sided Mann-Whitney U test at α = {ALPHA} "
                                     f"(the smallest p these sizes allow is {r.min_p / 2:.3g})")
    if p_claimed <= ALPHA:
        return Outcome(PASS, f"{word}: one-sided Mann-Whitney U p = {p_claimed:.3g} ≤ α = {ALPHA} ({r.method})")
    if p_opposite <= ALPHA:
        return Outcome(FAIL, f"not {word}, the reverse: one-sided Mann-Whitney U p = {p_opposite:.3g} ≤ α = "
                             f"{ALPHA} ({r.method})")
    return Outcome(INCONCLUSIVE, f"no difference at α = {ALPHA}: one-sided Mann-Whitney U p = "
                                 f"{min(p_claimed, p_opposite):.3g} either way ({r.method})")
