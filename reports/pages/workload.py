"""A workload's page data: per case, one row per implementation with the main metrics
(median, interquartile range, n; a case whose processes fell into modes shows its modes), its
standing to the best where the intervals allow one (reports/ranking.py); and the full per-metric table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.kinds.server.cases import split_cpus
from reports.bound import BOUND_NOTE, bound_set, bound_text
from reports.data import Run, implementation_order, label_parts, short_case_labels
from reports.figures import MODAL_METRICS, SINGLE, Figure, FigureKey, RunToRun, figures
from reports.fmt import fmt_value
from reports.hosts import comparability, placement_text, several
from reports.metric_names import direction_of, help_text, key_metric, label, main_metrics, ranked
from reports.pages.overview import page_slug, reduced_note, row_figures, status_class, status_text
from reports.quality import case_marks
from reports.quality import text as quality_text
from reports.ranking import MODES_NOTE, SINGLE_NOTE, TIE_NOTE, rank
from reports.table import Cell, Table


@dataclass(frozen=True, eq=False)
class CaseSection:
    case: str
    short: str
    table: Table
    unstable: tuple[str, ...]  # implementations flagged on any main metric


@dataclass(frozen=True, eq=False)
class WorkloadView:
    name: str
    key_metric: str | None
    metrics: tuple[str, ...]  # main metrics present
    sections: tuple[CaseSection, ...]
    detail: Table


slug = page_slug


def metric_cell(s, metric: str, *, bound: bool = False, figure: Figure | None = None) -> Cell:
    """A figure's cell: its median and interquartile range, or, for a case with modes, each mode and its share."""
    flag = ""  # how sure a figure is: the "how sure" column's marks (reports/quality.py), one vocabulary
    title = (f"{label(metric)}: median {fmt_value(s.median, s.unit)}, interquartile range "
             f"{fmt_value(s.q1, s.unit)} – {fmt_value(s.q3, s.unit)}, min {fmt_value(s.low, s.unit)}, "
             f"max {fmt_value(s.high, s.unit)}, n={s.n}" + (" — unstable (IQR > 10% of median)" if s.unstable else "")
             + (f" — {figure.interval_text(s.unit)}" if figure is not None else "")
             + (f" — {BOUND_NOTE}: a lower bound" if bound else ""))
    if figure is not None and figure.modal:
        processes = sum(m.n for m in figure.modes)
        return Cell(figure.modes_text(s.unit), cls="num modes", title=title + " — the processes fell into modes",
                    sub=f"modes · {processes} processes")
    value = bound_text(s.median, s.unit) + f" ({BOUND_NOTE})" if bound else fmt_value(s.median, s.unit)
    return Cell(value + flag, cls="num" + (" unstable" if s.unstable else "") + (" bound" if bound else ""),
                title=title,
                sub=f"{fmt_value(s.q1, s.unit)} – {fmt_value(s.q3, s.unit)} · n={s.n}" if s.n > 1 else "n=1")


def build_workload(run: Run, summaries: pd.DataFrame, workload: str, cases: list[str], *,
                   samples: pd.DataFrame, declared: Sequence[str] = (),
                   spread: Mapping[FigureKey, RunToRun] | None = None) -> WorkloadView:
    """`summaries` and `samples` are those of `run` (the samples give figures their intervals and modes, `spread`
    how they moved between runs: reports/figures.py);
    `cases` in display order; `declared`: the workload's key metrics (workload.toml [report]), the first ranks."""
    wsum = summaries[summaries["workload"] == workload]
    present = set(wsum["metric"])
    key = key_metric(present, declared)
    metrics = [*[m for m in declared if m in present], *[m for m in main_metrics(present) if m not in declared]]
    figs = figures(run, samples[samples["workload"] == workload] if len(samples) else samples,
                   {*MODAL_METRICS, *([key] if key else [])}, spread)
    outcomes = run.cases[run.cases["workload"] == workload]
    bounds = bound_set(run)
    groups = comparability(run)
    many_hosts = len(set(outcomes["host"]) - {""}) > 1 or len(run.meta.get("hosts") or {}) > 1
    short = short_case_labels(cases)
    sections = []
    for case in cases:
        csum = wsum[wsum["case"] == case]
        cmetrics = [m for m in metrics if m in set(csum["metric"])]
        impls = implementation_order(list(csum["implementation"])
                                     + list(outcomes.loc[outcomes["case"] == case, "implementation"]))
        by = {(r.implementation, r.metric): r for r in csum.itertuples()}
        best = None
        bound = {i for (w, c, i) in bounds if w == workload and c == case}
        split = several(groups, [(workload, case, i) for i in impls])
        group_of = {i: groups.get((workload, case, i)) if len(split) > 1 else None for i in impls}
        rankings: dict = {}  # group (None: one group) -> its ranking: figures are ranked within their group only
        if key in cmetrics and ranked(case):
            keyed = [r for r in csum.itertuples() if r.metric == key]
            for g in dict.fromkeys(group_of[r.implementation] for r in keyed):
                mine = {r.implementation: r for r in keyed if group_of[r.implementation] is g}
                rankings[g] = rank(row_figures(figs, workload, case, key, mine), bound,
                                   direction_of(key, next(iter(mine.values())).direction))
            best = next(iter(rankings.values())).top if rankings else None
        case_outcomes = outcomes[outcomes["case"] == case]
        where = {r.implementation: placement_text(r.host, r.layout, r.loadgen_host) if r.layout else r.host
                 for r in case_outcomes.itertuples()}
        layouts = {w for w in where.values() if w} if bool(case_outcomes["layout"].astype(bool).any()) else set()
        placed = len(layouts) > 1 or many_hosts and bool(layouts)  # one layout for every row: said once, below
        show_status = bool((case_outcomes["status"] != "ok").any())
        columns = ["implementation", *(["status"] if show_status else []),
                   *(["environment"] if len(split) > 1 else []),
                   *(["server and load generator"] if placed else ["host"] if many_hosts else []),
                   *[label(m) for m in cmetrics]]
        extra_cells = (len(split) > 1) + (placed or many_hosts)
        if best is not None:
            columns.append("vs best")
        columns.append("how sure")
        rows, raw, row_classes, unstable = [], [], [], []
        for impl in impls:
            o = outcomes[(outcomes["case"] == case) & (outcomes["implementation"] == impl)]
            status = o["status"].iloc[0] if len(o) else "ok"
            error = o["error"].iloc[0] if len(o) else ""
            first = next((by[(impl, m)] for m in cmetrics if (impl, m) in by), None)
            reduced = reduced_note(case, first.params) if first is not None else ""
            name = Cell(impl + (" †" if reduced else ""), cls="rowhead",
                        title=f"ran {reduced} (calibrated or reduced sizes)" if reduced else "")
            context = [*([Cell(group_of[impl].name if group_of[impl] else "", title=group_of[impl].text
                                if group_of[impl] else "")] if len(split) > 1 else []),
                       *([Cell(where.get(impl, ""))] if placed or many_hosts else [])]
            if status != "ok" or first is None:
                rows.append([name, Cell(status_text(status), cls=status_class(status), title=error), *context,
                             *[Cell("") for _ in cmetrics], *([Cell("")] if best is not None else []), Cell("")])
                if cmetrics and error:
                    at = 2 + extra_cells
                    rows[-1][at] = Cell(error if len(error) <= 160 else error[:157] + "…", cls="error", title=error)
                row_classes.append("failed-row")
                raw.append({"implementation": impl, "status": status, "error": error})
                continue
            cells = [name, *([Cell("ok", cls="status status-ok")] if show_status else []), *context]
            flagged = False
            record = {"implementation": impl, "status": "ok", "error": "", "ran": reduced}
            for m in cmetrics:
                s = by.get((impl, m))
                if s is None:
                    cells.append(Cell("—", cls="absent"))
                    continue
                cells.append(metric_cell(s, m, bound=m == key and impl in bound,
                                         figure=figs.get((workload, case, impl, m))))
                flagged |= bool(s.unstable)
                record.update({f"{m}_median": s.median, f"{m}_q1": s.q1, f"{m}_q3": s.q3, f"{m}_n": s.n,
                               f"{m}_unit": s.unit, f"{m}_unstable": bool(s.unstable)})
            ranking = rankings.get(group_of[impl])
            if best is not None:
                s = by.get((impl, key))
                if s is None or ranking is None:
                    text, f = "—", np.nan
                else:
                    direction = direction_of(key, s.direction)
                    text = ranking.standing(impl, s.median, direction, key, bound=impl in bound)
                    f = ranking.factor(s.median, direction, impl)
                cells.append(Cell(text, cls="num" + (" best" if ranking and impl == ranking.best else "")
                                  + (" tied" if ranking and impl in ranking.tied else "")))
                record["factor_to_best"] = f
                record["best"] = bool(ranking and impl == ranking.best)
                record["tied"] = bool(ranking and impl in ranking.tied)
                record["bound"] = impl in bound
            fig, s = (figs.get((workload, case, impl, key)), by.get((impl, key))) if key else (None, None)
            row = next(iter(o.itertuples()), None)
            found = case_marks(row, fig, s.n if s is not None else first.n)
            cells.append(Cell("" if found else "—", cls="quality", marks=found))
            record["quality"] = quality_text(found)
            if fig is not None and s is not None:
                record.update(ci_low=fig.low, ci_high=fig.high, interval=fig.source, modes=fig.modes_text(s.unit))
            if group_of[impl] is not None:
                record["environment"] = group_of[impl].name
            if where.get(impl):
                record["where"] = where[impl]
            if flagged:
                unstable.append(impl)
            rows.append(cells)
            row_classes.append("")
            raw.append(record)
        notes = [f"{label(m)}: {help_text(m)}" for m in cmetrics if help_text(m)]
        if bound & set(i for i, _ in by):
            notes.append(f"≥ X ({BOUND_NOTE}): the load generator, not the server, set the rate; the figure is a "
                         "lower bound, never ranked above another such figure.")
        for ranking in rankings.values():
            if ranking.note:
                notes.append(ranking.note[0].upper() + ranking.note[1:] + "; factors are to the top figure.")
        if any(r.tied for r in rankings.values()):
            notes.append(TIE_NOTE)
        mine = [f for (_, c, _, m), f in figs.items() if c == case and m == key]
        if any(f.modal for (_, c, _, _), f in figs.items() if c == case):
            notes.append(MODES_NOTE)
        if rankings and len(mine) > 1 and any(f.source == SINGLE for f in mine):
            notes.append(SINGLE_NOTE)
        if len(split) > 1:
            notes.append(f"Measured in {len(split)} environments or load-generator layouts; each implementation is "
                         "compared (vs best) only with those of its own: " + "; ".join(g.text for g in split) + ".")
        if len(layouts) == 1 and not placed:
            notes.append(f"Every server and its load generator: {next(iter(layouts))} (wrk or oha on the other CPUs "
                         "of the server's host).")
        if placed:
            notes.append("server and load generator: `same host: H` — wrk or oha ran on the server's host H (on "
                         "other CPUs); `separate: G → H` — they ran on host G and reached the server on H through "
                         "a relay (TechEmpower's layout).")
        table = Table.build(f"{slug(workload)}-{slug(short[case])}", f"{workload} [{case}]", columns, rows,
                            raw=pd.DataFrame(raw), notes=notes, row_classes=row_classes)
        sections.append(CaseSection(case, short[case], table, tuple(unstable)))
    return WorkloadView(workload, key, tuple(metrics), tuple(sections), detail_table(wsum, workload, cases))


def headroom_rows(run: Run, summaries: pd.DataFrame) -> list[dict]:
    """The run's load-generator ceilings (each tool and mode against a trivial responder) beside the fastest
    server measured in that mode and layout.

    ratio = generator ceiling / fastest server in the same mode (closed loop: the `closed` phases, pipelined:
    the `pipelined` ones) and the same layout (the generator on the server's host, or on a host of its own:
    run.json `loadgen_headroom_separate`, measured through the relay): above 1 the generator had room to spare;
    near or below 1 the fastest servers were measured at the generator's limit, not their own. oha's ceiling
    caps the open-loop rates.
    """
    headroom = run.meta.get("loadgen_headroom") or {}
    records = [("same host", r, None) for r in headroom.get("layouts") or [headroom]]
    for r in run.meta.get("loadgen_headroom_separate") or []:
        records.append((placement_text(str(r.get("host", "")), "separate", str(r.get("loadgen_host", ""))), r,
                        (str(r.get("host", "")), str(r.get("loadgen_host", "")))))
    qps = summaries[(summaries["workload"] == "http_server") & (summaries["metric"] == "qps")]
    cases = run.cases
    rows = []
    for layout, record, pair in records:
        separate = cases[cases["layout"] == "separate"]
        if pair is not None:
            separate = separate[(separate["host"] == pair[0]) & (separate["loadgen_host"] == pair[1])]
        keys = set(zip(separate["case"], separate["implementation"]))
        # the same host: every server but those measured with a separate generator; separate: those only
        chosen = [((c, i) in keys) == (pair is not None) for c, i in zip(qps["case"], qps["implementation"])]
        same_layout = qps[chosen] if len(qps) else qps
        for h in record.get("runs", []):
            mode = h.get("mode", "closed")
            row = {"layout": layout, "tool": h["tool"],
                   "mode": mode + (f" x{h['pipeline']}" if h.get("pipeline", 1) > 1 else ""),
                   "connections": h["connections"], "qps": h["qps"], "loadgen_cpu": h["loadgen_cpu"],
                   "responder_cpu": h["responder_cpu"], "relay_cpu": h.get("relay_cpu"),
                   "bottleneck": h["bottleneck"]}
            same = same_layout[same_layout["case"].str.startswith(f"{mode},")] if h["tool"] == "wrk" else qps.iloc[0:0]
            if len(same):
                best = same.loc[same["median"].idxmax()]
                row.update(fastest=f"{best['implementation']} [{best['case']}]", fastest_qps=float(best["median"]),
                           ratio=h["qps"] / float(best["median"]))
            rows.append(row)
        if record.get("error"):
            rows.append({"error": record["error"] if pair is None else f"{layout}: {record['error']}"})
    return rows


def detail_table(wsum: pd.DataFrame, workload: str, cases: list[str]) -> Table:
    """Every metric of every case: median, quartiles, extremes, n, spread, flag."""
    order = {c: i for i, c in enumerate(cases)}
    frame = wsum.assign(_c=wsum["case"].map(order)).sort_values(["_c", "implementation", "metric"])
    rows = []
    for r in frame.itertuples():
        rows.append([r.case, r.implementation, label(r.metric), r.direction,
                     Cell(fmt_value(r.median, r.unit), cls="num"), Cell(fmt_value(r.q1, r.unit), cls="num"),
                     Cell(fmt_value(r.q3, r.unit), cls="num"), Cell(fmt_value(r.low, r.unit), cls="num"),
                     Cell(fmt_value(r.high, r.unit), cls="num"), Cell(str(r.n), cls="num"),
                     Cell(f"±{r.spread * 100:.1f}%", cls="num" + (" unstable" if r.unstable else "")),
                     "unstable" if r.unstable else ""])
    raw = frame[["case", "implementation", "metric", "unit", "direction", "n", "median", "q1", "q3", "low", "high",
                 "spread", "unstable", "params"]]
    return Table.build(f"{slug(workload)}-all-metrics", f"{workload}: every metric",
                       ["case", "implementation", "metric", "better", "median", "q1", "q3", "min", "max", "n",
                        "± half IQR", "flag"], rows, raw=raw,
                       notes=["better: which direction is better (info: not compared).",
                              "Per-process metrics have n = processes; per-iteration ones n = processes × "
                              "iterations."])


def scaling_series(cases: list[str]) -> tuple[str, dict[str, float]] | None:
    """A numeric parameter that varies across cases otherwise equal (threads, connections, ...).

    Returns the parameter and {case: value} for the largest such group, or None.
    """
    parsed = {c: label_parts(c) for c in cases}
    best: tuple[str, dict[str, float]] | None = None
    names = list(dict.fromkeys(k for _, p in parsed.values() for k in p))
    for name in names:
        groups: dict[tuple, dict[str, float]] = {}
        for case, (words, p) in parsed.items():
            value = p.get(name, "")
            if not value.replace(".", "", 1).isdigit() or float(value) <= 0:
                continue  # absent, not a number, or 0 (which selects a mode, as workers = 0 does)
            rest = (words, tuple(sorted((k, v) for k, v in p.items() if k != name)))
            groups.setdefault(rest, {})[case] = float(value)
        for group in groups.values():
            if len(set(group.values())) >= 2 and (best is None or len(group) > len(best[1])):
                best = (name, group)
    return best


def http_notes(run: Run, headroom: list[dict]) -> dict:
    """What an HTTP figure means on this run: how the CPUs were split between the server and the load generator
    (harness/kinds/server/cases.py `split_cpus`), each generator's own ceiling against the fastest server in its
    mode, and what an open-loop phase's rate is."""
    cpus = [int(c) for c in run.meta.get("cpus") or []]
    allowed = [int(c) for c in run.host.get("cpus_allowed") or cpus]
    split = ""
    if cpus:
        server, load = split_cpus(cpus, allowed or cpus)
        def names(group: tuple[int, ...]) -> str:
            return f"{len(group)} CPU{'s' if len(group) != 1 else ''} ({', '.join(map(str, group)) or 'none'})"
        split = (f"Each server ran on {names(server)}; its load generator (wrk for the closed and pipelined phases, "
                 f"oha for the open ones) on the other {names(load)}. A requests/s figure is what the server did on "
                 "those CPUs against a generator on the others, not what the machine can serve.")
    ceilings = []
    for h in headroom:
        if h.get("error"):
            ceilings.append(f"The generators' ceilings were not measured: {h['error']}.")
            continue
        line = (f"{h['tool']} {h['mode']} at {h['connections']} connections ({h['layout']}) against a trivial "
                f"responder: {h['qps']:,.0f} req/s, the generator's own ceiling (its CPU {h['loadgen_cpu']:.2f}, "
                f"bottleneck: {h['bottleneck']}).")
        if h.get("fastest"):
            ratio = h["ratio"]
            line += (f" The fastest server in that mode, {h['fastest']}, served {h['fastest_qps']:,.0f} req/s: the "
                     f"ceiling is {ratio:.2f}× it, " + ("room to spare." if ratio >= 1.5 else
                                                       "too close: the fastest servers were measured at the "
                                                       "generator's limit and are lower bounds (≥)."))
        ceilings.append(line)
    return {"split": split, "ceilings": ceilings,
            "open": ("open,rate=F: oha sends requests at a fixed rate, F times the server's best closed-loop "
                     "requests/s (capped at 80% of oha's own ceiling), whatever the answers' pace. Its requests/s "
                     "is the rate asked for, not a capacity, so it is never ranked; its latencies (corrected for "
                     "coordinated omission) say what that load costs. rate=0.5: half the server's best rate.")}
