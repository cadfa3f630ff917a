"""The overview matrix: workload case × implementation, the key metric, the best marked where the
intervals allow one (reports/ranking.py), every other cell as a factor of the best or "≈ best", a case
whose processes fell into modes as its modes, and the status of cases that did not finish ok."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.vocab import FAILED as FAILED_STATUSES
from harness.vocab import Status, params_text
from reports.bound import BOUND_NOTE, bound_set, bound_text
from reports.data import Run, implementation_order, parse_params, ran_params, short_case_labels
from reports.figures import SINGLE, Figure, FigureKey, RunToRun, figures
from reports.fmt import fmt_interval, fmt_value
from reports.hosts import comparability, several
from reports.metric_names import (
    KEY_METRICS,
    MEMORY_METRICS,
    direction_of,
    key_metric,
    label,
    memory_metric,
    ranked,
)
from reports.quality import SHORT, case_marks
from reports.quality import text as quality_text
from reports.ranking import (
    MODES_NOTE,
    ONCE_STANDING,
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
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)  # the same shape: each figure's marks, short (SHORT)


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


def build_overview(run: Run, summaries: pd.DataFrame, samples: pd.DataFrame,
                   declared: Mapping[str, Sequence[str]] | None = None, *,
                   spread: Mapping[FigureKey, RunToRun] | None = None) -> Overview:
    """`summaries` and `samples` are those of `run` (see data.summarize); the samples give each figure its
    interval and modes (reports/figures.py), `spread` how it moved between runs (which widens its interval);
    `declared`: each workload's key metrics (workload.toml [report])."""
    declared = declared or {}
    impls = implementation_order(list(run.cases["implementation"]) + list(summaries["implementation"]))
    figs = figures(run, samples, {*KEY_METRICS, *(m for ms in declared.values() for m in ms)}, spread)
    bounds = bound_set(run)
    groups = comparability(run)  # figures of different environments or layouts are never ranked together
    outcome = {(r.workload, r.case, r.implementation): r for r in run.cases.itertuples()}
    columns = ["workload", *impls]
    rows, raw, frac_rows, frac_index, frac_labels, mark_rows, flag_rows = [], [], [], [], {}, [], []
    notes = set()
    for workload, cases in workload_cases(run, summaries).items():
        wsum = summaries[summaries["workload"] == workload]
        metric = key_metric(set(wsum["metric"]), declared.get(workload, ()))
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
                    direction = direction_of(metric, next(iter(by_impl.values())).direction)
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
                frac, marks, flags = {}, {}, {}
                for impl in impls:
                    s = by_impl.get(impl)
                    o = outcome.get((workload, case, impl)) if impl in members else None
                    if s is not None:
                        fig = row_figs[impl]
                        f = factor_to_best(s.median, ranking.top, direction)
                        is_best = impl == ranking.best
                        # no ratio to a top that is a lower bound or measured once, nor of such a figure
                        shown = (ranking.best or ranking.tied) and impl not in ranking.unranked and not fig.modal
                        frac[impl] = 1 / f if shown and f else np.nan
                        marks[impl] = mark_of(ranking, impl)
                        reduced = reduced_note(case, s.params)
                        mark = " †" if reduced else ""
                        if reduced:
                            notes.add("† ran other sizes than the case's: calibrated so one iteration lasts the "
                                      "profile's target, or reduced sizes the implementation asks for; per-operation "
                                      "figures stay comparable")
                        found = case_marks(o, fig, s.n)
                        flags[impl] = " ".join(SHORT[m.code] for m in found)
                        title = (f"{label(metric)}: median {fmt_value(s.median, s.unit)}, IQR "
                                 f"{fmt_interval(s.q1, s.q3, s.unit)}, n={s.n}; {fig.interval_text(s.unit)}"
                                 + (f"; modes {fig.modes_text(s.unit)}" if fig.modal else "")
                                 + (f"; ran {reduced}" if reduced else "")
                                 + (f"; {quality_text(found)}" if found else ""))
                        is_bound = impl in bound
                        if is_bound:
                            title += f"; {BOUND_NOTE}: a lower bound"
                        cls = ("num" + (" best" if is_best else "") + (" tied" if impl in ranking.tied else "")
                               + (" modes" if fig.modal else "") + (" unstable" if s.unstable else "")
                               + (" bound" if is_bound else ""))
                        value = (fig.modes_text(s.unit) if fig.modal else bound_text(s.median, s.unit) if is_bound
                                 else fmt_value(s.median, s.unit))
                        sub = ranking.standing(impl, s.median, direction, metric, bound=is_bound)
                        cells.append(Cell(value + mark, cls=cls, title=title, sub=sub, marks=found))
                        raw.append({"workload": workload, "case": case, "implementation": impl, "status": "ok",
                                    "metric": metric, "unit": s.unit, "median": s.median, "q1": s.q1, "q3": s.q3,
                                    "n": s.n, "ci_low": fig.low, "ci_high": fig.high, "interval": fig.source,
                                    "run_to_run_cv": fig.repeat.cv if fig.repeat else np.nan,
                                    "runs": fig.repeat.runs if fig.repeat else 1,
                                    "factor_to_best": ranking.factor(s.median, direction, impl),
                                    "best": is_best, "tied": impl in ranking.tied, "modes": fig.modes_text(s.unit),
                                    "bound": is_bound, "unstable": bool(s.unstable), "quality": quality_text(found),
                                    "ran": reduced, "error": ""})
                    elif o is not None and o.status != "ok":
                        cells.append(Cell(status_text(o.status), cls=status_class(o.status),
                                          title=o.error or o.status))
                        raw.append({"workload": workload, "case": case, "implementation": impl, "status": o.status,
                                    "metric": metric or "", "unit": "", "median": np.nan, "q1": np.nan, "q3": np.nan,
                                    "n": 0, "ci_low": np.nan, "ci_high": np.nan, "interval": "",
                                    "run_to_run_cv": np.nan, "runs": 0,
                                    "factor_to_best": np.nan, "best": False, "tied": False, "modes": "",
                                    "bound": False, "unstable": False, "quality": "", "ran": "", "error": o.error})
                    else:
                        cells.append(Cell("—", cls="absent", title="not run"))
                rows.append(cells)
                if frac:
                    row_label = (f"{workload} [{short[case]}]" if len(cases) > 1 else workload) + (
                        f" · {group.name}" if group else "")
                    frac_rows.append(frac)
                    mark_rows.append(marks)
                    flag_rows.append(flags)
                    frac_index.append(row_label)
                    frac_labels[row_label] = metric
    table = Table.build(
        "overview", "Overview", columns, rows, raw=pd.DataFrame(raw),
        notes=[
            "Under each workload its case (the parameters that differ between its cases). "
            "Each cell: the median of the workload's key metric (its workload.toml [report] key_metrics, else "
            "throughput, or requests/s for http_server); below it, how many times slower than the best of its row. "
            "A best is named only where its 95% interval of the median does not overlap any other figure's of the "
            "row; a row whose top figures tie (≈ best), are load-generator bound or were measured once (n = 1) has "
            "no best.",
            "Statuses: failed (build, verify, crash, timeout), skipped (toolchain missing), unsupported "
            "(the case has no meaning in that model), not run (the run stopped before it), lost (its host went "
            "away); — not in the run. Hover a cell for the figures or the error.",
            *sorted(notes),
        ])
    fractions = pd.DataFrame(frac_rows, index=frac_index, columns=impls) if frac_rows else pd.DataFrame()
    marks = pd.DataFrame(mark_rows, index=frac_index, columns=impls).fillna("") if mark_rows else pd.DataFrame()
    quality = pd.DataFrame(flag_rows, index=frac_index, columns=impls).fillna("") if flag_rows else pd.DataFrame()
    return Overview(table, fractions, frac_labels, marks, quality)


ONE_THREAD = 1.2  # CPUs busy below which a case offered two or more ran one thread at a time


@dataclass(frozen=True, eq=False)
class Block:
    """One workload on the overview: its headline case ranked by its key metric, implementation as row."""

    workload: str
    href: str
    summary: str
    case: str  # the headline case (short label)
    more: int  # other ranked cases, on the workload page
    verdicts: tuple[str, ...]  # "fastest: ...", "least memory: ..." in words
    table: Table


def _per_op_text(value: float, unit: str) -> str:
    """A figure net of the start-up baseline: below zero it is within the baseline's noise, not negative."""
    return "≈ 0 (below the start-up baseline)" if value < 0 else fmt_value(value, unit)


def _ci_text(fig: Figure | None) -> str:
    if fig is None or fig.source == SINGLE or not fig.median:
        return ""
    return f"±{abs(fig.high - fig.low) / 2 / abs(fig.median):.1%}"


def _who(ranking: Ranking, what: str, order: list[str]) -> str:
    """What a ranking says in words: the best, the tie, or why there is none."""
    if ranking.best:
        return f"{what}: {ranking.best}"
    if ranking.tied:
        return f"{what}: no single one, {' ≈ '.join(n for n in order if n in ranking.tied)} (intervals overlap)"
    return f"{what}: not known ({ranking.note.removeprefix('no best: ') or 'no figure ranked'})"


def _headline(wsum: pd.DataFrame, cases: list[str], metric: str) -> list[str]:
    """The ranked cases that measured `metric`, the headline first: most implementations, then the latest."""
    found = [c for c in cases if ranked(c) and ((wsum["case"] == c) & (wsum["metric"] == metric)).any()]
    count = {c: int(((wsum["case"] == c) & (wsum["metric"] == metric)).sum()) for c in found}
    return sorted(found, key=lambda c: (-count[c], -found.index(c)))


def build_blocks(run: Run, summaries: pd.DataFrame, samples: pd.DataFrame,
                 declared: Mapping[str, Sequence[str]] | None = None,
                 descriptions: Mapping[str, str] | None = None, *,
                 spread: Mapping[FigureKey, RunToRun] | None = None) -> list[Block]:
    """Per workload: its headline case's implementations ranked by the key metric, with its memory figure, the
    other declared key metric, n, the interval and the quality marks of each (reports/quality.py)."""
    declared, descriptions = declared or {}, descriptions or {}
    wanted = {*KEY_METRICS, *MEMORY_METRICS, "cpu_time_per_op", *(m for ms in declared.values() for m in ms)}
    figs = figures(run, samples, wanted, spread)
    bounds = bound_set(run)
    outcome = {(r.workload, r.case, r.implementation): r for r in run.cases.itertuples()}
    cpus = len(run.meta.get("cpus") or []) or 0
    blocks = []
    for workload, cases in workload_cases(run, summaries).items():
        wsum = summaries[summaries["workload"] == workload]
        decl = declared.get(workload, ())
        present = set(wsum["metric"])
        key = key_metric(present, decl)
        heads = _headline(wsum, cases, key) if key else []
        if not heads:
            continue
        case = heads[0]
        short = short_case_labels(cases)

        def rows_of(metric: str, c: str, wsum=wsum) -> dict:
            return {r.implementation: r for r in wsum[(wsum["case"] == c) & (wsum["metric"] == metric)].itertuples()}

        def ranking_of(metric: str, c: str, by: dict, workload=workload) -> tuple[Ranking, str]:
            direction = direction_of(metric, next(iter(by.values())).direction)
            bound = {i for i in by if (workload, c, i) in bounds} if metric in ("qps",) else set()
            return rank(row_figures(figs, workload, c, metric, by), bound, direction), direction

        keyed = rows_of(key, case)
        kr, kdir = ranking_of(key, case, keyed)
        order = sorted(keyed, key=lambda i: keyed[i].median * (-1 if kdir == "higher" else 1))
        mem = memory_metric(present, decl)
        mem = None if mem == key else mem
        mem_case = next((c for c in [case, *cases] if mem and rows_of(mem, c)), None)
        mem_rows = rows_of(mem, mem_case) if mem_case else {}
        mr = ranking_of(mem, mem_case, mem_rows)[0] if mem_rows else None
        other = next((m for m in decl if m in present and m != key and m not in MEMORY_METRICS), None)
        other_rows = rows_of(other, case) if other else {}
        what = "fastest" if key in ("throughput", "qps", "wall_time") else f"best {label(key)}"
        verdicts = [_who(kr, what, order)]
        if mr is not None:
            verdicts.append(_who(mr, "least memory", sorted(mem_rows, key=lambda i: mem_rows[i].median)))
        columns = ["implementation", label(key), *([label(other)] if other else []),
                   *([label(mem) + ("" if mem_case == case else f" [{short[mem_case]}]")] if mem_rows else []),
                   "how sure"]
        rows, raw = [], []
        for impl in order:
            s, fig = keyed[impl], figs.get((workload, case, impl, key))
            o = outcome.get((workload, case, impl))
            found = list(case_marks(o, fig, s.n))
            is_bound = (workload, case, impl) in bounds and key == "qps"
            value = (fig.modes_text(s.unit) if fig is not None and fig.modal else bound_text(s.median, s.unit)
                     if is_bound else fmt_value(s.median, s.unit))
            standing = kr.standing(impl, s.median, kdir, key, bound=is_bound)
            sub = " · ".join(x for x in (f"n={s.n}", _ci_text(fig), "not ranked" if standing == ONCE_STANDING
                                          else standing) if x)
            cells = [Cell(impl, cls="rowhead"),
                     Cell(value, cls="num" + (" best" if impl == kr.best else "") + (" tied" if impl in kr.tied
                          else "") + (" bound" if is_bound else ""), sub=sub,
                          title=fig.interval_text(s.unit) if fig is not None else "")]
            record = {"workload": workload, "case": case, "implementation": impl, "metric": key,
                      "median": s.median, "n": s.n, "standing": standing}
            if other:
                r = other_rows.get(impl)
                busy = ""
                if other == "cpu_time_per_op" and r is not None and key == "throughput" and r.median > 0:
                    load = r.median * s.median  # CPU seconds per second of wall time
                    mine = int(parse_params(s.params).get("cpus") or cpus or 0)  # the case's CPUs (placement)
                    busy = f" · {load:.1f} of {mine} CPUs busy" if mine else f" · {load:.1f} CPUs busy"
                    if mine > 1 and load < ONE_THREAD:
                        busy += ": one thread at a time"  # serialised or single-threaded, whatever the CPUs offered
                    record["cpus_busy"] = load
                cells.append(Cell(_per_op_text(r.median, r.unit), cls="num", sub=f"n={r.n}{busy}") if r is not None
                             else Cell("—", cls="absent"))
            if mem_rows:
                r = mem_rows.get(impl)
                if r is not None:
                    mfig = figs.get((workload, mem_case, impl, mem))
                    msub = " · ".join(x for x in (f"n={r.n}", _ci_text(mfig),
                                                  "best" if mr and impl == mr.best else "≈ best"
                                                  if mr and impl in mr.tied else "") if x)
                    cells.append(Cell(_per_op_text(r.median, r.unit), sub=msub,
                                      cls="num" + (" best" if mr and impl == mr.best else "")))
                    if mem_case != case:
                        found += [m for m in case_marks(outcome.get((workload, mem_case, impl)), mfig, r.n)
                                  if m.code not in {f.code for f in found}]
                    record.update(memory_metric=mem, memory=r.median, memory_n=r.n)
                else:
                    cells.append(Cell("—", cls="absent"))
            cells.append(Cell("" if found else "—", cls="quality", marks=tuple(found)))
            record["quality"] = quality_text(found)
            rows.append(cells)
            raw.append(record)
        for impl in implementation_order(i for (w, c, i) in outcome if w == workload and c == case):
            o = outcome[(workload, case, impl)]
            if impl not in keyed and o.status != "ok":
                rows.append([Cell(impl, cls="rowhead"), Cell(status_text(o.status), cls=status_class(o.status),
                                                              title=o.error), *[Cell("") for _ in columns[2:]]])
                raw.append({"workload": workload, "case": case, "implementation": impl, "status": o.status})
        table = Table.build(f"overview-{page_slug(workload)}", f"{workload} [{short[case]}]", columns, rows,
                            raw=pd.DataFrame(raw))
        blocks.append(Block(workload, f"workload-{page_slug(workload)}.html", descriptions.get(workload, ""),
                            short[case], len(heads) - 1, tuple(verdicts), table))
    return blocks
