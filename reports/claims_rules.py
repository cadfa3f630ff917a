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

**Bounds.** A load-generator bound figure (harness/kinds/server/bound.py) is a lower bound: the server's
true value is at least it. Every true value being at least its figure, each true order
statistic is at least the measured one, so [x(k), +inf) covers the true median with the
interval's coverage; an inverted figure (scale / v) is an upper bound, (0, x(n-k+1)]. The rules
use these half-open intervals as they stand:

- range: consistent only if the whole half-open interval lies within the bounds (a lower bound
  at or above the claim's low end, for a claim with no high end); contradicted only if it lies
  wholly outside (a lower bound already above the claim's high end); inconclusive otherwise, so
  a lower bound below or inside a closed range is inconclusive;
- ratio: a lower-bound numerator (or upper-bound denominator) makes the ratio's interval
  [low, +inf): "at least"; a lower-bound denominator makes it (0, high]; both lower bounds leave
  nothing known;
- order: the test's decision stands only if it cannot be undone by the bound figures moving the
  way they may: the subject observed lower must not be a lower bound (its true value may be
  higher), nor the one observed higher an upper bound; two lower bounds are never ordered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reports.significance import mann_whitney

ALPHA = 0.05
CONFIDENCE = 0.95
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
AT_LEAST, AT_MOST = "≥", "≤"  # a bound figure's sense: the true value is at least / at most it ("" exact)
BOUND_WORDS = {AT_LEAST: "load-generator bound", AT_MOST: "load-generator bound, an upper bound"}
BOTH_BOUND = "inconclusive: both load-generator bound (two lower bounds cannot be ordered)"


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float  # the coverage it actually has

    def within(self, low: float, high: float) -> bool:
        return low <= self.low and self.high <= high

    def apart(self, low: float, high: float) -> bool:
        return self.high < low or self.low > high


def bounded(ci: Interval, sense: str) -> Interval:
    """The interval of the true median when the values are lower (AT_LEAST) or upper (AT_MOST) bounds."""
    if sense == AT_LEAST:
        return Interval(ci.low, math.inf, ci.confidence)
    if sense == AT_MOST:
        return Interval(0.0, ci.high, ci.confidence)
    return ci


def bound_text(value: str, sense: str) -> str:
    """A figure as what it is: "≥ 41.2k req/s, load-generator bound", or the figure alone when exact."""
    return f"{sense} {value}, {BOUND_WORDS[sense]}" if sense else value


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
    sense: str = ""  # the ratio is at least (AT_LEAST) or at most (AT_MOST) `value`


def judge_range(values: Sequence[float], low: float, high: float, fmt, sense: str = "") -> Outcome:
    """Consistent if the median's interval lies within [low, high], contradicted if wholly outside.

    With `sense` the values are bounds, and the interval is half-open (see the module docstring)."""
    raw = median_interval(values)
    ci = bounded(raw, sense)
    if sense == AT_LEAST:
        where = f"{raw.confidence:.0%} interval of the median from {fmt(raw.low)} up (a lower bound)"
    elif sense == AT_MOST:
        where = f"{raw.confidence:.0%} interval of the median up to {fmt(raw.high)} (an upper bound)"
    else:
        where = f"{ci.confidence:.0%} interval of the median {fmt(ci.low)} – {fmt(ci.high)}"
    if ci.within(low, high):
        return Outcome(PASS, f"{where}, inside the bounds")
    if ci.apart(low, high):
        return Outcome(FAIL, f"{where}, outside the bounds")
    if sense:
        return Outcome(INCONCLUSIVE, f"{where}: the true value may lie inside or outside the bounds")
    return Outcome(INCONCLUSIVE, f"{where}, across a bound")


def ratio_interval(num: Sequence[float], den: Sequence[float], senses: tuple[str, str] = ("", "")
                   ) -> Interval | None:
    """The interval of median(num) / median(den), or None when the denominator may be 0 or below.

    A bound side opens the interval: a lower-bound numerator or upper-bound denominator has no
    upper end; a lower-bound denominator or upper-bound numerator reaches down to 0."""
    each = math.sqrt(CONFIDENCE)
    a, b = median_interval(num, each), median_interval(den, each)
    if a.low < 0 or (b.low <= 0 and senses[1] != AT_MOST):
        return None
    a, b = bounded(a, senses[0]), bounded(b, senses[1])
    low = a.low / b.high  # a lower-bound denominator (high = inf) gives 0
    high = math.inf if senses[1] == AT_MOST or a.high == math.inf else a.high / b.low
    return Interval(low, high, a.confidence * b.confidence)


def _ratio_text(ci: Interval, value: float) -> tuple[str, str]:
    """(the ratio's sense, the ratio and its interval in words)."""
    if ci.high == math.inf and ci.low > 0:
        return AT_LEAST, f"ratio ≥ {value:.3g}× (a bound figure), {ci.confidence:.0%} interval from {ci.low:.3g}× up"
    if ci.low == 0 and ci.high < math.inf:
        return AT_MOST, f"ratio ≤ {value:.3g}× (a bound figure), {ci.confidence:.0%} interval up to {ci.high:.3g}×"
    return "", f"ratio {value:.3g}×, {ci.confidence:.0%} interval {ci.low:.3g}× – {ci.high:.3g}×"


def judge_ratio(num: Sequence[float], den: Sequence[float], ratio: float, factor: float,
                senses: tuple[str, str] = ("", "")) -> Outcome | None:
    """Consistent if the ratio's interval lies on the claimed side of 1 and within a factor of the
    claimed ratio; contradicted if it lies wholly outside that band; None if it cannot be formed.
    Bound figures (`senses` of numerator and denominator) open the interval (module docstring)."""
    if senses[0] and senses[0] == senses[1]:
        return Outcome(INCONCLUSIVE, f"a ratio of two bound figures: {BOTH_BOUND}", None)
    ci = ratio_interval(num, den, senses)
    if ci is None:
        return None
    low, high = ratio / factor, ratio * factor
    if ratio > 1:
        low = max(low, 1.0)
    elif ratio < 1:
        high = min(high, 1.0)
    value = _median(num) / _median(den)
    sense, where = _ratio_text(ci, value)
    band = f"{low:.3g}× – {high:.3g}×"
    if ci.within(low, high):
        return Outcome(PASS, f"{where}, inside {band}", value, sense)
    if ci.apart(low, high):
        return Outcome(FAIL, f"{where}, outside {band}", value, sense)
    if sense:
        return Outcome(INCONCLUSIVE, f"{where}: the true ratio may lie inside or outside {band}", value, sense)
    return Outcome(INCONCLUSIVE, f"{where}, across a bound of {band}", value, sense)


def _median(values: Sequence[float]) -> float:
    xs = sorted(values)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def judge_order(a: Sequence[float], b: Sequence[float], below: bool = True,
                senses: tuple[str, str] = ("", "")) -> Outcome:
    """Is `a` below `b` (or above, with below=False)? One-sided Mann-Whitney U at ALPHA.

    `senses` says whether a's and b's values are bounds; a decision the bounds could undo is
    inconclusive (module docstring)."""
    if senses[0] == senses[1] == AT_LEAST:
        return Outcome(INCONCLUSIVE, BOTH_BOUND)
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
        test = f"{word}: one-sided Mann-Whitney U p = {p_claimed:.3g} ≤ α = {ALPHA} ({r.method})"
        return _unless_bound(Outcome(PASS, test), a_lower=below, senses=senses)
    if p_opposite <= ALPHA:
        test = f"not {word}, the reverse: one-sided Mann-Whitney U p = {p_opposite:.3g} ≤ α = {ALPHA} ({r.method})"
        return _unless_bound(Outcome(FAIL, test), a_lower=not below, senses=senses)
    return Outcome(INCONCLUSIVE, f"no difference at α = {ALPHA}: one-sided Mann-Whitney U p = "
                                 f"{min(p_claimed, p_opposite):.3g} either way ({r.method})")


def _unless_bound(o: Outcome, a_lower: bool, senses: tuple[str, str]) -> Outcome:
    """The decision that the lower of the two lies below the higher, unless a bound figure may undo it."""
    lower, higher = senses if a_lower else senses[::-1]
    if lower == AT_LEAST:
        return Outcome(INCONCLUSIVE, f"{o.test}, but the lower figure is load-generator bound (a lower bound: its "
                                     "true value may be higher): inconclusive")
    if higher == AT_MOST:
        return Outcome(INCONCLUSIVE, f"{o.test}, but the higher figure is an upper bound (its true value may be "
                                     "lower): inconclusive")
    return o
