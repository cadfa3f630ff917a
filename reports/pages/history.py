"""History across runs: per workload, case, implementation and metric, the median of each run.

The rows come from the history store (reports/history/store.py), or, for runs named on the command
line, from the same summaries of those runs. Change points (reports/history/changes.py) are marked on
the plots and listed per workload; a new environment fingerprint is shown where it starts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from harness.vocab import impl_label
from reports.data import Results, implementation_order, short_case_labels
from reports.fmt import fmt_change, fmt_p, fmt_value
from reports.history.alerts import current_series
from reports.history.changes import REGRESSION, SERIES_KEY, Change, SeriesKey, measured
from reports.history.triage import INSENSITIVE
from reports.metric_names import key_metric, label
from reports.pages.workload import slug
from reports.table import Cell, Table

# Metrics followed over time, after the workload's key metric, when present.
TREND_METRICS = ("latency_p99", "memory_per_task", "memory_per_connection", "peak_rss", "cpu_time_per_op",
                 "cpu_time_per_request", "ctx_switches_voluntary_per_op")
PLOTTED = 3  # metrics drawn per workload (the table has them all)
TABLE_RUNS = 12  # the table shows the latest runs; the plot shows every run
MARK_COLUMNS = ["case", "implementation", "metric", "run_index", "kind", "after", "is_open"]


@dataclass(frozen=True, eq=False)
class WorkloadHistory:
    workload: str
    metrics: tuple[str, ...]  # followed in the table
    plotted: tuple[str, ...]  # drawn
    frame: pd.DataFrame  # summaries of the followed metrics, with run_index and run_label
    table: Table
    single: tuple[str, ...]  # implementations measured in one run only (no trend; left out)
    marks: pd.DataFrame  # change points of the followed metrics (MARK_COLUMNS)
    changes: Table | None  # every change point of the workload, newest first


def run_label(run_id: str, seconds: bool = False) -> str:
    """20261122T022300Z -> 11-22 02:23 (or 11-22 02:23:00): short enough for an axis."""
    if len(run_id) >= 15 and run_id[8] == "T":
        return f"{run_id[4:6]}-{run_id[6:8]} {run_id[9:11]}:{run_id[11:13]}" + (f":{run_id[13:15]}" if seconds else "")
    return run_id


def run_labels(run_ids: list[str]) -> dict[str, str]:
    """Short, distinct labels: minutes, else seconds, else the ids themselves."""
    for seconds in (False, True):
        labels = {r: run_label(r, seconds) for r in run_ids}
        if len(set(labels.values())) == len(labels):
            return labels
    return {r: r for r in run_ids}


def followed_metrics(present: set[str]) -> tuple[str, ...]:
    """The metrics a workload's history table follows: its key metric, then TREND_METRICS."""
    key = key_metric(present)
    return tuple(m for m in ((key,) if key else ()) + TREND_METRICS if m in present)


def plotted_metrics(present: set[str]) -> tuple[str, ...]:
    """The metrics a workload's history plot draws: the key one, a memory figure, a cost figure."""
    metrics = followed_metrics(present)
    key = key_metric(present)
    memory = next((m for m in ("memory_per_task", "memory_per_connection", "peak_rss") if m in metrics), None)
    cost = next((m for m in ("cpu_time_per_op", "cpu_time_per_request", "latency_p99") if m in metrics), None)
    return tuple(dict.fromkeys(m for m in (key, memory, cost) if m))[:PLOTTED]


def shown_series(history: pd.DataFrame) -> list[SeriesKey]:
    """The series whose change points the site shows: every series of its current environment (the
    Regressions page), and in older environments those the History plots draw."""
    rows = measured(history)
    plotted = {w: plotted_metrics(set(g)) for w, g in rows.groupby("workload")["metric"]}
    current = current_series(history)
    out = []
    for names in rows[SERIES_KEY].drop_duplicates().itertuples(index=False, name=None):
        key = SeriesKey(*names)
        if key in current or key.metric in plotted[key.workload]:
            out.append(key)
    return out


def build_history(results: Results, summaries: pd.DataFrame, changes: Sequence[Change] = (),
                  detectable: Mapping[tuple[str, str, str, str], float] | None = None) -> list[WorkloadHistory]:
    """`summaries`: rows of every run (the history store's, or summarize() of the runs' samples).

    Only workloads measured in at least two runs have a history. `changes` are marked; `detectable`:
    (workload, case, implementation, metric) -> the series' minimum detectable change, a column when given.
    """
    order = {r.run_id: i for i, r in enumerate(results.runs)}
    labels = run_labels([r.run_id for r in results.runs])
    summaries = summaries[summaries["run_id"].isin(order) & (summaries["metric"] != "")]
    out = []
    for workload, wsum in summaries.groupby("workload", sort=True):
        runs = sorted(set(wsum["run_id"]), key=order.get)
        if len(runs) < 2:
            continue
        present = set(wsum["metric"])
        metrics = followed_metrics(present)
        frame = wsum[wsum["metric"].isin(metrics)].copy()
        runs_per_impl = frame.groupby("implementation")["run_id"].nunique()
        single = tuple(sorted(runs_per_impl[runs_per_impl < 2].index))
        frame = frame[~frame["implementation"].isin(single)]
        if frame.empty:
            continue
        frame["run_index"] = frame["run_id"].map(order)
        frame["run_label"] = frame["run_id"].map(labels)
        cases = list(dict.fromkeys(frame["case"]))
        short = short_case_labels(cases)
        frame["case_label"] = frame["case"].map(short)
        plotted = plotted_metrics(present)
        mine = [c for c in changes if c.series.workload == workload]
        out.append(WorkloadHistory(workload, metrics, plotted, frame,
                                   _table(workload, frame, runs, labels, metrics, cases, single, detectable or {}),
                                   single,
                                   _marks(mine, order, metrics), _changes_table(workload, mine, labels, short)))
    return out


def _marks(changes: Sequence[Change], order: dict[str, int], metrics: tuple[str, ...]) -> pd.DataFrame:
    rows = [{"case": c.series.case, "implementation": impl_label(c.series.impl, c.series.variant),
             "metric": c.series.metric, "run_index": order[c.first_bad.run_id], "kind": c.kind, "after": c.after,
             "is_open": c.is_open}
            for c in changes if c.series.metric in metrics and c.first_bad.run_id in order]
    return pd.DataFrame(rows, columns=MARK_COLUMNS)


def _changes_table(workload: str, changes: Sequence[Change], labels: dict[str, str],
                   short: dict[str, str]) -> Table | None:
    if not changes:
        return None
    rows, classes, raw = [], [], []
    for c in sorted(changes, key=lambda c: (c.first_bad.started, c.first_bad.run_id), reverse=True):
        k = c.series
        impl = impl_label(k.impl, k.variant)
        rows.append([Cell(labels.get(c.first_bad.run_id, c.first_bad.run_id), title=c.first_bad.run_id),
                     Cell(short.get(k.case, k.case), title=k.case), impl, label(k.metric),
                     Cell(c.kind, cls=f"verdict {'bad' if c.kind == REGRESSION else 'good'}"),
                     Cell(fmt_change(c.after / c.before) if c.before else "—", cls="num"),
                     Cell(f"{fmt_value(c.before, c.unit)} → {fmt_value(c.after, c.unit)}", cls="num"),
                     Cell(fmt_p(c.pvalue), cls="num"), "open" if c.is_open else "closed"])
        classes.append("" if c.is_open else "muted")
        raw.append({"first_bad": c.first_bad.run_id, "last_good": c.last_good.run_id, "case": k.case,
                    "implementation": impl, "metric": k.metric, "kind": c.kind, "change": c.change,
                    "before": c.before, "after": c.after, "pvalue": c.pvalue, "open": c.is_open,
                    "fingerprint": k.fingerprint})
    return Table.build(f"changes-{slug(workload)}", f"{workload}: change points", [
        "first run after", "case", "implementation", "metric", "kind", "change", "median before → after", "p",
        "state"], rows, raw=pd.DataFrame(raw), row_classes=classes, notes=[
        "E-Divisive means over each series of per-run medians (one environment fingerprint per series); "
        "closed: the series has since come back within the noise floor of its level before the change."])


def _table(workload: str, frame: pd.DataFrame, all_runs: list[str], labels: dict[str, str],
           metrics: tuple[str, ...], cases: list[str], single: tuple[str, ...],
           detectable: Mapping[tuple[str, str, str, str], float]) -> Table:
    runs = all_runs[-TABLE_RUNS:]
    shown = frame[frame["run_id"].isin(runs)].reset_index(drop=True)
    groups = shown.groupby(["case", "implementation", "metric"], sort=False).indices
    cols = {c: shown[c].to_numpy() for c in ("run_id", "median", "q1", "q3", "n", "unit", "unstable", "case_label")}
    rows, raw = [], []
    for case in cases:
        impls = implementation_order(shown.loc[shown["case"] == case, "implementation"])
        for impl in impls:
            for metric in metrics:
                positions = groups.get((case, impl, metric))
                if positions is None:
                    continue
                by_run = {cols["run_id"][p]: p for p in positions}
                unit = str(cols["unit"][positions[0]])
                cells = [Cell(str(cols["case_label"][positions[0]]), title=case), impl, label(metric)]
                for run_id in runs:
                    p = by_run.get(run_id)
                    if p is None:
                        cells.append(Cell("—", cls="absent"))
                        continue
                    unstable = bool(cols["unstable"][p])
                    cells.append(Cell(fmt_value(cols["median"][p], unit) + (" !" if unstable else ""),
                                      cls="num" + (" unstable" if unstable else ""),
                                      title=f"IQR {fmt_value(cols['q1'][p], unit)} – {fmt_value(cols['q3'][p], unit)}, "
                                            f"n={cols['n'][p]}"))
                measured = [by_run[r] for r in runs if r in by_run]
                first, last = cols["median"][measured[0]], cols["median"][measured[-1]]
                change = last / first if first else float("nan")
                cells.append(Cell(fmt_change(change) if len(measured) > 1 else "—", cls="num"))
                if detectable:
                    mdc = detectable.get((workload, case, impl, metric))
                    cells.append(Cell("—" if mdc is None or not math.isfinite(mdc) else f"{mdc * 100:.1f}%"
                                      + (" !" if math.isfinite(mdc) and mdc > INSENSITIVE else ""), cls="num"))
                rows.append(cells)
                raw.extend({"case": case, "implementation": impl, "metric": metric, "unit": unit,
                            "run_id": cols["run_id"][p], "median": cols["median"][p], "q1": cols["q1"][p],
                            "q3": cols["q3"][p], "n": cols["n"][p], "unstable": bool(cols["unstable"][p])}
                           for p in measured)
    columns = ["case", "implementation", "metric", *[labels[r] for r in runs], "last vs first",
               *(["detectable change"] if detectable else [])]
    hidden = len(all_runs) - len(runs)
    return Table.build(f"history-{slug(workload)}", f"{workload}: medians per run", columns, rows,
                       raw=pd.DataFrame(raw),
                       notes=["Columns are runs, oldest first. last vs first: the latest median over the "
                              "earliest, as a change. A change between two runs is tested on the Compare page.",
                              *([f"Measured in one run only, so without a trend: {', '.join(single)}."]
                                if single else []),
                              *([f"The {hidden} older runs are in the plot, not in this table."] if hidden else []),
                              *(["detectable change: the smallest step the nightly would alert on in this series, "
                                 "from its own run-to-run noise, the detection window and the A/B confirmation "
                                 f"(! : worse than {INSENSITIVE:.0%}; — : too few runs, or a metric that does "
                                 "not alert)."] if detectable else [])])
