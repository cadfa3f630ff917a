"""The overview matrix: workload case × implementation, the key metric, the best marked where the
intervals allow one (reports/ranking.py), every other cell as a factor of the best or "≈ best", a case
whose processes fell into modes as its modes, and the status of cases that did not finish ok."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.vocab import FAILED as FAILED_STATUSES
from harness.vocab import Status, params_text
from reports.bound import BOUND_NOTE, bound_set, bound_text
from reports.data import Run, implementation_order, parse_params, ran_params, short_case_labels
from reports.figures import SINGLE, Figure, figures
from reports.fmt import fmt_interval, fmt_value
from reports.hosts import comparability, several
from reports.metric_names import KEY_METRICS, key_metric, label, ranked
from reports.ranking import (
    MODES_NOTE,
    SINGLE_NOTE,
    TIE_NOTE,
    TIED,
    Ranking,
    factor_to_best,
    rank,
)
from reports.table import Cell, Table


def page_slug(text: str) -> str:
    """The slug of a page or table name: lower case, runs of other characters as one hyphen."""
    out = "".join(ch if ch.isalnum() else "-" for ch in text.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


# A case cut short by an interrupt is shown as failed too.
FAILED = tuple(sorted(s.value for s in FAILED_STATUSES | {Status.INTERRUPTED}))


def status_class(status: str) -> str:
    if status in FAILED:
        return "status status-failed"
    return f"status status-{status}"


def status_text(status: str) -> str:
    return status.replace("_", " ")


def reduced_note(case: str, ran_text: str) -> str:
    """The sizes a case ran with, when they differ from its profile's case (calibrated or reduced sizes)."""
    ran = ran_params(ran_text)
    label_params = parse_params(case)
    return params_text({k: v for k, v in ran.items() if label_params.get(k) not in (None, v)})


@dataclass(frozen=True, eq=False)
class Overview:
    table: Table
    fractions: pd.DataFrame  # row label x implementation: value / top (1 = the top), NaN where absent or modes
    labels: dict[str, str]  # fraction row label -> the key metric of that row
    marks: pd.DataFrame = field(default_factory=pd.DataFrame)  # the same shape: "best", "≈ best", "modes" or ""


def row_figures(figs: dict, workload: str, case: str, metric: str, by_impl: dict) -> dict[str, Figure]:
    """Each summary's figure (reports/figures.py), or the median alone where none was computed."""
    return {i: figs.get((workload, case, i, metric)) or Figure(s.median, s.median, s.median, SINGLE)
            for i, s in by_impl.items()}


def mark_of(ranking: Ranking, impl: str) -> str:
    """What the heatmap writes in a cell: best, ≈ best, modes, or nothing (a factor)."""
    if impl in ranking.modal:
        return "modes"
    return "best" if impl == ranking.best else TIED if impl in ranking.tied else ""


def workload_cases(run: Run, summaries: pd.DataFrame) -> dict[str, list[str]]:
    """Workloads (sorted) and their cases in the order the run stored them."""
    out: dict[str, list[str]] = {}
    pairs = list(zip(run.cases["workload"], run.cases["case"])) + list(zip(summaries["workload"],
                                                                          summaries["case"]))
    for w, c in pairs:
        out.setdefault(w, [])
        if c not in out[w]:
            out[w].append(c)
    return dict(sorted(out.items()))


def build_overview(run: Run, summaries: pd.DataFrame, samples: pd.DataFrame) -> Overview:
    """`summaries` and `samples` are those of `run` (see data.summarize); the samples give each figure its
    interval and modes (reports/figures.py)."""
    impls = implementation_order(list(run.cases["implementation"]) + list(summaries["implementation"]))
    figs = figures(run, samples, KEY_METRICS)
    bounds = bound_set(run)
    groups = comparability(run)  # figures of different environments or layouts are never ranked together
    outcome = {(r.workload, r.case, r.implementation): r for r in run.cases.itertuples()}
    columns = ["workload", *impls]
    rows, raw, frac_rows, frac_index, frac_labels, mark_rows = [], [], [], [], {}, []
    notes = set()
    for workload, cases in workload_cases(run, summaries).items():
        wsum = summaries[summaries["workload"] == workload]
        metric = key_metric(set(wsum["metric"]))
        short = short_case_labels(cases)
        for case in cases:
            if not ranked(case):
                continue
            csum = wsum[(wsum["case"] == case) & (wsum["metric"] == metric)] if metric else wsum.iloc[0:0]
            every = {r.implementation: r for r in csum.itertuples()}
            split = several(groups, [(workload, case, i) for i in impls
                                     if i in every or (workload, case, i) in outcome])
            if len(split) > 1:
                notes.add(f"{workload} [{short[case]}]: measured in {len(split)} environments or load-generator "
                          "layouts; each is ranked on its own row, never against another (" +
                          "; ".join(g.text for g in split) + ").")
            for group in split if len(split) > 1 else [None]:
                members = {i for i in impls if group is None or groups.get((workload, case, i)) is group}
                by_impl = {i: r for i, r in every.items() if i in members}
                bound = {i for i in by_impl if (workload, case, i) in bounds}
                ranking = None
                row_figs = row_figures(figs, workload, case, metric, by_impl)
                if by_impl:
                    direction = next(iter(by_impl.values())).direction
                    ranking = rank(row_figs, bound, direction)
                    if ranking.note:
                        notes.add(f"{workload} [{short[case]}]: {ranking.note}.")
                    notes.update([TIE_NOTE] if ranking.tied else [])
                    notes.update([MODES_NOTE] if ranking.modal else [])
                    notes.update([SINGLE_NOTE] if any(f.source == SINGLE and f.median for f in row_figs.values())
                                 and len(row_figs) > 1 else [])
                    if bound:
                        notes.add("≥ X: the load generator, not the server, set the rate (load-generator bound): the "
                                  "figure is a lower bound and is not ranked above another such figure.")
                if not by_impl and not any((workload, case, i) in outcome and i in members for i in impls):
                    continue
                cells: list[object] = [Cell(workload, cls="rowhead", href=f"workload-{page_slug(workload)}.html",
                                            title=case + (f" ({group.text})" if group else ""),
                                            sub=short[case] + (f" · {group.name}" if group else ""))]
                frac, marks = {}, {}
                for impl in impls:
                    s = by_impl.get(impl)
                    o = outcome.get((workload, case, impl)) if impl in members else None
                    if s is not None:
                        fig = row_figs[impl]
                        f = factor_to_best(s.median, ranking.top, s.direction)
                        is_best = impl == ranking.best
                        frac[impl] = np.nan if fig.modal else 1 / f if f else np.nan
                        marks[impl] = mark_of(ranking, impl)
                        reduced = reduced_note(case, s.params)
                        mark = " †" if reduced else ""
                        if reduced:
                            notes.add("† ran other sizes than the case's: calibrated so one iteration lasts the "
                                      "profile's target, or reduced sizes the implementation asks for; per-operation "
                                      "figures stay comparable")
                        flag = " !" if s.unstable and not fig.modal else ""  # modes say more than a wide IQR
                        title = (f"{label(metric)}: median {fmt_value(s.median, s.unit)}, IQR "
                                 f"{fmt_interval(s.q1, s.q3, s.unit)}, n={s.n}; {fig.interval_text(s.unit)}"
                                 + (f"; modes {fig.modes_text(s.unit)}" if fig.modal else "")
                                 + (f"; ran {reduced}" if reduced else "")
                                 + ("; unstable: IQR above 10% of the median" if s.unstable else ""))
                        is_bound = impl in bound
                        if is_bound:
                            title += f"; {BOUND_NOTE}: a lower bound"
                        cls = ("num" + (" best" if is_best else "") + (" tied" if impl in ranking.tied else "")
                               + (" modes" if fig.modal else "") + (" unstable" if s.unstable else "")
                               + (" bound" if is_bound else ""))
                        value = (fig.modes_text(s.unit) if fig.modal else bound_text(s.median, s.unit) if is_bound
                                 else fmt_value(s.median, s.unit))
                        sub = ranking.standing(impl, s.median, s.direction, metric, bound=is_bound)
                        cells.append(Cell(value + mark + flag, cls=cls, title=title, sub=sub))
                        raw.append({"workload": workload, "case": case, "implementation": impl, "status": "ok",
                                    "metric": metric, "unit": s.unit, "median": s.median, "q1": s.q1, "q3": s.q3,
                                    "n": s.n, "ci_low": fig.low, "ci_high": fig.high, "interval": fig.source,
                                    "factor_to_best": np.nan if fig.modal else ranking.factor(s.median, s.direction),
                                    "best": is_best, "tied": impl in ranking.tied, "modes": fig.modes_text(s.unit),
                                    "bound": is_bound, "unstable": bool(s.unstable), "ran": reduced, "error": ""})
                    elif o is not None and o.status != "ok":
                        cells.append(Cell(status_text(o.status), cls=status_class(o.status),
                                          title=o.error or o.status))
                        raw.append({"workload": workload, "case": case, "implementation": impl, "status": o.status,
                                    "metric": metric or "", "unit": "", "median": np.nan, "q1": np.nan, "q3": np.nan,
                                    "n": 0, "ci_low": np.nan, "ci_high": np.nan, "interval": "",
                                    "factor_to_best": np.nan, "best": False, "tied": False, "modes": "",
                                    "bound": False, "unstable": False, "ran": "", "error": o.error})
                    else:
                        cells.append(Cell("—", cls="absent", title="not run"))
                rows.append(cells)
                if frac:
                    row_label = (f"{workload} [{short[case]}]" if len(cases) > 1 else workload) + (
                        f" · {group.name}" if group else "")
                    frac_rows.append(frac)
                    mark_rows.append(marks)
                    frac_index.append(row_label)
                    frac_labels[row_label] = metric
    table = Table.build(
        "overview", "Overview", columns, rows, raw=pd.DataFrame(raw),
        notes=[
            "Under each workload its case (the parameters that differ between its cases). "
            "Each cell: the median of the workload's key metric (throughput for batch workloads, requests/s "
            "for http_server); below it, how many times slower than the best of its row. A best is named only "
            "where its 95% interval of the median does not overlap any other figure's of the row; a row whose top "
            "figures tie (≈ best) or are load-generator bound has no best, and factors are to its top figure.",
            "! marks an unstable case: its interquartile range exceeds 10% of its median (harness/measure/stats.py).",
            "Statuses: failed (build, verify, crash, timeout), skipped (toolchain missing), unsupported "
            "(the case has no meaning in that model), not run (the run stopped before it), lost (its host went "
            "away); — not in the run. Hover a cell for the figures or the error.",
            *sorted(notes),
        ])
    fractions = pd.DataFrame(frac_rows, index=frac_index, columns=impls) if frac_rows else pd.DataFrame()
    marks = pd.DataFrame(mark_rows, index=frac_index, columns=impls).fillna("") if mark_rows else pd.DataFrame()
    return Overview(table, fractions, frac_labels, marks)
