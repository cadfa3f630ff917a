"""Comparing two runs: per case and metric, B against A, with a direction-aware significance
test (Mann-Whitney U on the per-iteration or per-process samples, see significance.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports.data import KEY, Results, implementation_order
from reports.fmt import fmt_change, fmt_p, fmt_value
from reports.metric_names import MAIN_METRICS, label, main_metrics
from reports.significance import ALPHA, verdict
from reports.table import Cell, Table

COMPARE_COLUMNS = ["workload", "case", "implementation", "metric", "unit", "direction", "n_a", "median_a",
                   "n_b", "median_b", "ratio", "p_value", "method", "verdict"]
GOOD = ("faster", "better")
BAD = ("slower", "worse")


@dataclass(frozen=True, eq=False)
class Comparison:
    run_a: str
    run_b: str
    frame: pd.DataFrame  # one row per (workload, case, implementation, metric) in both runs
    only_a: tuple[str, ...]  # "workload [case] implementation" measured in A only
    only_b: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        return self.frame["verdict"].value_counts().to_dict()


def compare_runs(results: Results, run_a: str, run_b: str, alpha: float = ALPHA) -> Comparison:
    a = results.samples_of(run_a)
    b = results.samples_of(run_b)
    key = [k for k in KEY if k != "run_id"]
    groups_a = {k: g for k, g in a.groupby(key, sort=False)}
    groups_b = {k: g for k, g in b.groupby(key, sort=False)}
    rows = []
    for k, ga in groups_a.items():
        gb = groups_b.get(k)
        if gb is None:
            continue
        workload, case, impl, variant, metric = k
        head = ga.iloc[0]
        va, vb = ga["value"].to_numpy(), gb["value"].to_numpy()
        word, result = verdict(va, vb, head["direction"], head["unit"], alpha)
        med_a, med_b = float(np.median(va)), float(np.median(vb))
        rows.append({"workload": workload, "case": case, "implementation": head["implementation"],
                     "metric": metric, "unit": head["unit"], "direction": head["direction"],
                     "n_a": len(va), "median_a": med_a, "n_b": len(vb), "median_b": med_b,
                     "ratio": med_b / med_a if med_a else np.nan,
                     "p_value": result.p if result else np.nan, "method": result.method if result else "",
                     "verdict": word})
    frame = pd.DataFrame(rows, columns=COMPARE_COLUMNS)

    def cases(s: pd.DataFrame) -> set[str]:
        return {f"{w} [{c}] {i}" for w, c, i in zip(s["workload"], s["case"], s["implementation"])}
    ca, cb = cases(a), cases(b)
    return Comparison(run_a, run_b, _sorted(frame), tuple(sorted(ca - cb)), tuple(sorted(cb - ca)))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    rank = {m: i for i, m in enumerate(MAIN_METRICS)}
    impl_rank = {x: i for i, x in enumerate(implementation_order(frame["implementation"]))}
    return (frame.assign(_m=frame["metric"].map(lambda m: rank.get(m, len(rank))),
                         _i=frame["implementation"].map(impl_rank))
            .sort_values(["workload", "case", "_i", "_m", "metric"]).drop(columns=["_m", "_i"])
            .reset_index(drop=True))


def main_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the main metrics (wall time dropped where throughput says the same)."""
    keep = set(main_metrics(set(frame["metric"]))) - {"wall_time"}
    return frame[frame["metric"].isin(keep)]


def verdict_class(word: str) -> str:
    return "good" if word in GOOD else "bad" if word in BAD else "neutral"


def comparison_table(c: Comparison, *, main_only: bool = False, testable_only: bool = False) -> Table:
    frame = main_rows(c.frame) if main_only else c.frame
    if testable_only:
        frame = frame[frame["verdict"].isin((*GOOD, *BAD, "not significant"))]
    rows = []
    for r in frame.itertuples():
        rows.append([Cell(f"{r.workload} [{r.case}]", cls="case"), Cell(r.implementation, cls="rowhead"),
                     label(r.metric),
                     Cell(fmt_value(r.median_a, r.unit), cls="num", title=f"n={r.n_a}"),
                     Cell(fmt_value(r.median_b, r.unit), cls="num", title=f"n={r.n_b}"),
                     Cell(fmt_change(r.ratio), cls="num"),
                     Cell(fmt_p(r.p_value), cls="num", title=r.method),
                     Cell(r.verdict, cls=f"verdict {verdict_class(r.verdict)}")])
    slug = "compare-main" if main_only else "compare-all"
    notes = [
        f"B = {c.run_b} against A = {c.run_a}. Medians of each run's samples; change = B / A.",
        f"Two-sided Mann-Whitney U test on the samples (per iteration, or per process for process figures); "
        f"significant when p < {ALPHA:g}. faster/slower (better/worse) follow each metric's direction, so a "
        "higher throughput and a lower wall time are both faster.",
        "too few samples: the sample sizes cannot reach significance (e.g. 2 processes against 2).",
    ]
    if c.only_a or c.only_b:
        notes.append(f"Cases measured in one run only: {len(c.only_a)} in A, {len(c.only_b)} in B (listed below).")
    return Table.build(slug, f"{c.run_b} vs {c.run_a}", ["case", "implementation", "metric", "A", "B", "change",
                                                         "p", "verdict"], rows, raw=frame, notes=notes)


def render_terminal(c: Comparison) -> str:
    """The main-metric rows that could be tested, as a terminal table, then a tally of every metric."""
    table = comparison_table(c, main_only=True, testable_only=True)
    untested = int((main_rows(c.frame)["verdict"] == "too few samples").sum())
    counts = c.counts()
    tally = ", ".join(f"{counts.get(w, 0)} {w}" for w in ("faster", "slower", "better", "worse",
                                                         "not significant", "too few samples") if counts.get(w))
    lines = [f"compare: B = {c.run_b} vs A = {c.run_a}"]
    lines.append(table.to_text() if table.rows else "(no metric of a case measured in both runs could be tested)")
    if untested:
        lines.append(f"{untested} main figures not shown: too few samples to test (a per-process figure needs at "
                     "least 4 processes per run; a server phase is measured once); the comparison page lists them")
    lines.append(f"all metrics: {tally or 'nothing compared'} (Mann-Whitney U, two-sided, p < {ALPHA:g})")
    if c.only_a or c.only_b:
        lines.append(f"cases only in A: {len(c.only_a)}, only in B: {len(c.only_b)}")
    return "\n".join(lines)
