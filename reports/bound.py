"""Load-generator bound figures in the reports: shown as lower bounds, never ranked above one another.

A server case whose run.json `flags` carry the harness's stable prefix (harness/kinds/server/bound.py)
measured the load generator's ceiling, not the server's: its figure X means "at least X". Every
page shows it as "≥ X (load-generator bound)"; a best is named only when the bounds allow it
(`rank`); plots draw it hatched or hollow. The claims ledger asks `bound_in(results, ...)`
whether a subject's figure in a run is such a lower bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.kinds.server.bound import rank_bounds
from reports.data import Results, Run
from reports.fmt import fmt_value

BOUND_NOTE = "load-generator bound"
HATCH = "////"


def bound_text(value: float, unit: str) -> str:
    """A figure as the lower bound it is."""
    return f"≥ {fmt_value(value, unit)}"


def bound_set(run: Run) -> set[tuple[str, str, str]]:
    """(workload, case, implementation) of every case of `run` flagged load-generator bound."""
    c = run.cases
    if c.empty or "bound" not in c:
        return set()
    rows = c[c["bound"]]
    return set(zip(rows["workload"], rows["case"], rows["implementation"]))


def bound_in(results: Results, run_id: str, workload: str, case: str, implementation: str) -> bool:
    """Whether that case of that run is load-generator bound (for the claims ledger: a lower bound, not a figure)."""
    return (workload, case, implementation) in bound_set(results.run(run_id))


@dataclass(frozen=True)
class Ranking:
    best: str | None  # the implementation that is best, or None when the bounds leave it unknown
    top: float  # what factors are taken against: the best's median, else the highest (lowest) median
    note: str  # why there is no best ("" when there is one, or nothing is bound)


def rank(medians: Mapping[str, float], bound: set[str], direction: str) -> Ranking:
    """The best of `medians` (implementation -> median), respecting lower bounds (`bound` implementations).

    A bound figure may be anything above its value, so the best is known only when one figure
    beats every other's best case: two or more bound figures, or one bound figure that is not
    the highest, leave no best.
    """
    names = list(medians)
    if not names:
        return Ranking(None, float("nan"), "")
    pick = rank_bounds([(medians[n], n in bound) for n in names], direction)
    top = (max if direction == "higher" else min)(medians.values())
    if pick is not None:
        return Ranking(names[pick], medians[names[pick]], "")
    count = sum(1 for n in names if n in bound)
    why = (f"no best: {count} figures are load-generator bound (lower bounds whose order is unknown)" if count > 1
           else "no best: a load-generator bound figure (a lower bound) may exceed the highest one")
    return Ranking(None, top, why)
