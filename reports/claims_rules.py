"""The statistics behind a claim's verdict, all at one confidence level, CONFIDENCE (95%).

Every decision is taken at that one level: an interval covers the median with at least 95%, a
one-sided test decides at alpha = 1 - 95% = 0.05. The page states the level once (LEVEL_TEXT).

- A **range** claim (the value lies between two bounds) is judged as two one-sided statements,
  each at 95% like every test here: the median lies above the low end, and below the high end.
  Each rests on a one-sided 95% confidence bound of the median, and the two bounds together are
  the two-sided 90% interval (`range_bounds`): the distribution-free order statistics
  [x(k), x(n-k+1)], whose coverage is 1 - 2 P(Binomial(n, 1/2) < k), the narrowest that still
  reaches it. With fewer than five values no order-statistic interval does, and Student's t
  bounds of the mean at the same level stand in (a stated assumption of roughly normal values);
  values that are all equal, a setting read from the runtime such as a default stack size, are
  that value. (A claim with both ends holds only if both statements do, so the pair is an
  intersection-union test at alpha = 0.05.) No library offers the order-statistic interval, and
  it is a few lines. `median_interval` gives the two-sided interval at any level.
- A **ratio** claim (A is r times B, within a factor) is judged by two one-sided Mann-Whitney U
  tests at alpha: A above low x B and A below high x B, the band's ends. Both shown: consistent;
  either reverse shown: contradicted; otherwise inconclusive. A rank test needs no interval of
  each median (three values a side are enough to decide, as for an order), and the ratio of the
  medians is reported beside it.
- An **order** claim (A below B) is judged by the Mann-Whitney U test of reports/significance.py,
  one-sided in the claimed direction: its null distribution is symmetric, so the one-sided
  p-value is half the two-sided one on the observed side. A pair is consistent when the claimed
  direction reaches p <= alpha, contradicted when the opposite direction does, and inconclusive
  (a tie) otherwise. Where the claim states the size of the gap (`gap`), the gap is judged as a
  ratio claim too, so "4% apart" is not consistent with "5 times apart".

**Bounds.** A load-generator bound figure (harness/kinds/server/bound.py) is a lower bound: the server's
true value is at least it. Every true value being at least its figure, each true order
statistic is at least the measured one, so [x(k), +inf) covers the true median with the
interval's coverage; an inverted figure (scale / v) is an upper bound, (0, x(n-k+1)]. The rules
use these half-open intervals as they stand:

- range: consistent only if the whole half-open interval lies within the bounds (a lower bound
  at or above the claim's low end, for a claim with no high end); contradicted only if it lies
  wholly outside (a lower bound already above the claim's high end); inconclusive otherwise, so
  a lower bound below or inside a closed range is inconclusive;
- ratio and order: a test's decision stands only if it cannot be undone by the bound figures
  moving the way they may: the subject observed lower must not be a lower bound (its true value
  may be higher), nor the one observed higher an upper bound; two lower bounds are never ordered
  and have no ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reports.significance import mann_whitney

CONFIDENCE = 0.95  # the one level of every interval and test of the ledger
ALPHA = round(1 - CONFIDENCE, 10)  # 0.05: a one-sided test decides at this p-value
LEVEL_TEXT = f"{CONFIDENCE:.0%}"
MIN_ORDER_STATISTICS = 5  # below this no order-statistic pair of one-sided 95% bounds of the median exists
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
AT_LEAST, AT_MOST = "≥", "≤"  # a bound figure's sense: the true value is at least / at most it ("" exact)
BOUND_WORDS = {AT_LEAST: "load-generator bound", AT_MOST: "load-generator bound, an upper bound"}
BOTH_BOUND = "inconclusive: both load-generator bound (two lower bounds cannot be ordered)"


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float  # the coverage it has (at least CONFIDENCE, unless fewer values allow less)
    method: str = "order statistics"  # or "t" (Student's t of the mean, too few values), "exact"

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
    """The median's interval at `confidence`: order statistics where they reach it, else Student's t.

    Values that are all equal are that value (method "exact"). One value has no interval: its
    interval is unbounded, so it never decides a check."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("no values")
    if xs[0] == xs[-1]:
        return Interval(xs[0], xs[0], 1.0, "exact")
    total = 2**n

    def coverage(k: int) -> float:
        return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / total

    if coverage(1) >= confidence:
        best = 1
        for k in range(2, (n + 1) // 2 + 1):
            if coverage(k) < confidence:
                break
            best = k
        return Interval(xs[best - 1], xs[n - best], coverage(best))
    if n < 2:
        return Interval(-math.inf, math.inf, confidence, "t")
    from scipy import stats  # the reporting side's; imported here only when it is needed

    mean = sum(xs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(stats.t.ppf(1 - (1 - confidence) / 2, n - 1)) * sd / math.sqrt(n)
    return Interval(mean - half, mean + half, confidence, "t")


def range_bounds(values: Sequence[float]) -> Interval:
    """The median's one-sided 95% lower and upper bounds, together the two-sided 90% interval."""
    return median_interval(values, 1 - 2 * ALPHA)


def interval_words(ci: Interval) -> str:
    """How a range's bounds were found, in words: "one-sided 95% bounds of the median" and the method."""
    if ci.method == "exact":
        return "every value equal (a setting, not a sample)"
    if ci.method == "t":
        return f"one-sided {LEVEL_TEXT} t bounds of the mean (fewer than {MIN_ORDER_STATISTICS} values)"
    return f"one-sided {LEVEL_TEXT} bounds of the median"


@dataclass(frozen=True)
class Outcome:
    result: str  # PASS, FAIL or INCONCLUSIVE
    test: str  # the interval or test that decided it, in words
    value: float | None = None  # the ratio, for ratio claims
    sense: str = ""  # the ratio is at least (AT_LEAST) or at most (AT_MOST) `value`


def judge_range(values: Sequence[float], low: float, high: float, fmt, sense: str = "") -> Outcome:
    """Consistent if the median's interval lies within [low, high], contradicted if wholly outside.

    With `sense` the values are bounds, and the interval is half-open (see the module docstring)."""
    raw = range_bounds(values)
    ci = bounded(raw, sense)
    words = interval_words(raw)
    if raw.method == "exact":
        where = f"{words}: {fmt(raw.low)}" + {AT_LEAST: " or more (a lower bound)",
                                               AT_MOST: " or less (an upper bound)"}.get(sense, "")
    elif sense == AT_LEAST:
        where = f"{words} from {fmt(raw.low)} up (a lower bound)"
    elif sense == AT_MOST:
        where = f"{words} up to {fmt(raw.high)} (an upper bound)"
    else:
        where = f"{words} {fmt(ci.low)} – {fmt(ci.high)}"
    if ci.within(low, high):
        return Outcome(PASS, f"{where}, inside the bounds")
    if ci.apart(low, high):
        return Outcome(FAIL, f"{where}, outside the bounds")
    if sense:
        return Outcome(INCONCLUSIVE, f"{where}: the true value may lie inside or outside the bounds")
    return Outcome(INCONCLUSIVE, f"{where}, across a bound")


def _ratio_sense(senses: tuple[str, str]) -> str:
    """Whether the ratio num / den is itself a lower (AT_LEAST) or upper (AT_MOST) bound, or exact ("")."""
    if AT_LEAST in (senses[0],) or AT_MOST in (senses[1],):
        return AT_LEAST
    if AT_MOST in (senses[0],) or AT_LEAST in (senses[1],):
        return AT_MOST
    return ""


def judge_ratio(num: Sequence[float], den: Sequence[float], ratio: float, factor: float,
                senses: tuple[str, str] = ("", "")) -> Outcome | None:
    """Consistent if num lies above low x den and below high x den, each by a one-sided Mann-Whitney U
    test at ALPHA, where [low, high] is the claimed ratio widened by `factor` (and kept on the claimed
    side of 1); contradicted if either reverse is shown; None if no ratio can be formed (the
    denominator's median is 0 or below). Bound figures (`senses`) may undo a decision (module docstring)."""
    if senses[0] and senses[0] == senses[1]:
        return Outcome(INCONCLUSIVE, f"a ratio of two bound figures: {BOTH_BOUND}", None)
    mn, md = _median(num), _median(den)
    if md <= 0 or mn < 0:
        return None
    low, high = ratio / factor, ratio * factor
    if ratio > 1:
        low = max(low, 1.0)
    elif ratio < 1:
        high = min(high, 1.0)
    value = mn / md
    sense = _ratio_sense(senses)
    band = f"{low:.3g}× – {high:.3g}×"
    above = judge_order(num, [low * d for d in den], below=False, senses=senses)
    below = judge_order(num, [high * d for d in den], below=True, senses=senses)
    shown = f"ratio of medians {sense + ' ' if sense else ''}{value:.3g}×"
    tests = f"above {low:.3g}×: {above.test}; below {high:.3g}×: {below.test}"
    if FAIL in (above.result, below.result):
        return Outcome(FAIL, f"{shown}, outside {band} ({tests})", value, sense)
    if above.result == below.result == PASS:
        return Outcome(PASS, f"{shown}, inside {band} ({tests})", value, sense)
    return Outcome(INCONCLUSIVE, f"{shown}, not shown inside or outside {band} ({tests})", value, sense)


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
