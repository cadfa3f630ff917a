"""Load-generator bound figures in the reports: shown as lower bounds, never ranked above one another.

A server case whose run.json `flags` carry the harness's stable prefix (harness/kinds/server/bound.py)
measured the load generator's ceiling, not the server's: its figure X means "at least X". Every
page shows it as "≥ X (load-generator bound)"; a best is named only when the bounds allow it
(reports/ranking.py); plots draw it hatched or hollow. The claims ledger asks `bound_in(results, ...)`
whether a subject's figure in a run is such a lower bound.
"""

from __future__ import annotations

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
