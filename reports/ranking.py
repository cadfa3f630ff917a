"""Which figure of a row is the best, and how every other stands to it: only where the data supports it.

- A best is named only when its 95% interval of the median (reports/figures.py; widened to the
  figure's run-to-run spread where the stored runs give one) shares no point with any other
  figure's of the row (harness/measure/stats.py `overlap`). Figures whose interval overlaps the
  top figure's tie with it: each shows "≈ best", the top one too, and the row has no best. A
  figure apart from the top one is shown as a factor of it ("2.00× slower").
- A figure whose case's processes fell into modes is never ranked on its median: it shows its
  modes. Where it may lie (its interval widened to its modes' locations) still counts, so a top
  figure that lies within another's modes is no best.
- A load-generator bound figure (reports/bound.py) is a lower bound: its interval has no upper
  end, two or more such figures leave no best, nor does one that is not the highest.
- A load-generator bound figure is never named best nor shown as a factor: its standing says it
  is a lower bound.
- A figure measured once (n = 1, reports/figures.py) has no interval: it is never named best nor
  shown as a factor ("n = 1: not ranked"), and a best whose interval does not clear its value is
  no best either.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from harness.kinds.server.bound import rank_bounds
from harness.measure.stats import overlap
from reports.bound import BOUND_NOTE
from reports.figures import SINGLE, Figure

TIED = "≈ best"
MODES_STANDING = "modes: not ranked"
TIE_NOTE = ("≈ best: the figure's 95% interval of the median (widened to its run-to-run spread where the stored runs "
            "give one) overlaps the top figure's, so which is better is not "
            "known; a row with such a tie names no best, and factors are to its top figure.")
MODES_NOTE = ("modes: the case's processes fell into groups (harness/measure/modes.py); the figure shows each group "
              "at its median with its share of the processes and is not ranked.")
ONCE_STANDING = "n = 1: not ranked"
SINGLE_NOTE = ("n = 1: a figure measured once (a server phase's requests/s) has no interval: it is listed by its value "
               "but never named best nor shown as a factor of another.")


def factor_to_best(value: float, best: float, direction: str) -> float:
    """How many times worse than the best (1.0 for the best itself)."""
    if value == 0 or best == 0:
        return float("inf") if value != best else 1.0
    return best / value if direction == "higher" else value / best


def factor_text(factor: float, metric: str) -> str:
    if factor <= 1.0 + 1e-12:
        return "best"
    word = "slower" if metric in ("throughput", "qps", "wall_time") else "worse"
    return f"{factor:.2f}× {word}" if np.isfinite(factor) else word


def factor_below(factor: float, metric: str) -> str:
    """How far from the top figure of a row that has no best (its top is a lower bound or tied with one)."""
    if factor <= 1.0 + 1e-12:
        return "top figure, no best"
    return f"{factor:.2f}× below the top" if np.isfinite(factor) else "below the top"


@dataclass(frozen=True)
class Ranking:
    best: str | None  # the figure that is best, or None when the bounds or the intervals leave it unknown
    top: float  # what factors are taken against: the best's median, else the top median of the ranked figures
    note: str  # why the bounds leave no best ("" otherwise)
    tied: frozenset[str] = field(default_factory=frozenset)  # figures tied with the top (the top among them)
    modal: frozenset[str] = field(default_factory=frozenset)  # figures shown as their modes, not ranked
    unranked: frozenset[str] = field(default_factory=frozenset)  # bound or n = 1: listed, never best nor a factor

    def standing(self, name: str, value: float, direction: str, metric: str, *, bound: bool = False) -> str:
        """The cell under a figure: modes, best, ≈ best, a factor of the top figure, or load-generator bound."""
        if name in self.modal:
            return MODES_STANDING
        if bound and name != self.best:
            return BOUND_NOTE
        if name in self.unranked:
            return ONCE_STANDING
        if name == self.best:
            return "best"
        if name in self.tied:
            return TIED
        if not (self.best or self.tied):
            return "row has no best"  # a factor to a top that is a bound or n = 1 would mislead
        return factor_text(factor_to_best(value, self.top, direction), metric)

    def factor(self, value: float, direction: str, name: str = "") -> float:
        """The factor to the top figure where one is shown (NaN where the row has no best and no tie, and for a
        figure that is not ranked)."""
        if name and name in self.unranked | self.modal:
            return math.nan
        return factor_to_best(value, self.top, direction) if self.best or self.tied else math.nan


def _reach(f: Figure, bound: bool) -> tuple[float, float]:
    low, high = f.span if f.modal else (f.low, f.high)
    return low, math.inf if bound else high  # a lower bound may be anything above its figure


def rank(figures: Mapping[str, Figure], bound: set[str], direction: str) -> Ranking:
    """The best of `figures` (name -> Figure) by their medians, where intervals, modes, bounds and n = 1 allow one."""
    modal = frozenset(n for n, f in figures.items() if f.modal)
    once = frozenset(n for n, f in figures.items() if f.source == SINGLE and n not in modal and n not in bound)
    unranked = frozenset((set(bound) & set(figures)) | once) - modal
    names = [n for n in figures if n not in modal]
    if not names:
        return Ranking(None, math.nan, "", modal=modal)
    top = (max if direction == "higher" else min)(figures[n].median for n in names)
    pick = rank_bounds([(figures[n].median, n in bound) for n in names], direction)
    if pick is None:
        count = sum(1 for n in names if n in bound)
        why = (f"no best: {count} figures are load-generator bound (lower bounds whose order is unknown)" if count > 1
               else "no best: a load-generator bound figure (a lower bound) may exceed the highest one")
        return Ranking(None, top, why, modal=modal, unranked=unranked)
    best = names[pick]
    reach = _reach(figures[best], best in bound)
    close = {n for n in figures if n != best and overlap(_reach(figures[n], n in bound), reach)}
    if best in unranked:
        why = ("no best: the top figure is a lower bound" if best in bound
               else "no best: the top figure was measured once (n = 1, no interval)")
        return Ranking(None, figures[best].median, why, modal=modal, unranked=unranked)
    if close:
        tied = frozenset({best} | (close - modal - unranked))
        return Ranking(None, figures[best].median, "", tied, modal, unranked)
    return Ranking(best, figures[best].median, "", modal=modal, unranked=unranked)
