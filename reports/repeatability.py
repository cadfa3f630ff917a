"""How closely runs repeat one another: each case's figure over several runs of the same selection.

A run's interval (the median's 95% CI, harness/measure/stats.py) says how precisely that run pinned
its figure from its own processes. It cannot say where the next run lands: what a whole run shares
(the host's state for those minutes, a calibrated size, thread placements that hold for a process)
moves every process of it together. The figure that counts for a reader, a nightly series or a
claim is the one a second run reproduces, so `cmbench repeatability RUN RUN [RUN ...]` measures it:
for every case measured in at least two of the runs, the run-to-run coefficient of variation of
the medians of its headline metric (sample standard deviation over the mean, in percent) with
their range, and in how many runs the case had modes or stopped short of its precision. The
headline metric (`headline`) is the first of the main metrics a case has: throughput where the
workload counts operations, so that runs whose calibrated sizes differ still compare (the notes
say where they did), else wall time, or a server phase's memory or start-up time. The summary
gives the median and mean CV and how many cases stay within 2%, move more than 5% (and of those,
how many never showed modes: a case with modes has no single figure to repeat) and more than 10%.

It also checks the runs' own intervals against one another: for every ordered pair of runs that
measured a batch case, whether the first run's 95% interval of the median (relative, as run.json
stores it) holds the second run's median (`held` of `pairs`). Two runs that pin the same figure
equally precisely, with nothing a run shares moving it, hold each other's median about 83% of the
time (the difference of two estimates has sqrt(2) times their error: P(|Z| <= 1.96 / sqrt(2)));
far fewer says the intervals are narrower than what a second run finds, and a reader should take
the run-to-run spread as the figure's uncertainty instead.

The site quotes the same spread beside every figure of the latest run (`run_to_run`): over the
newest runs of the latest run's environment (fingerprint) in the history, at most `RECENT_RUNS`,
since the series' last change point where the nightly found one, and at least `FEWEST_RUNS`, it
gives each figure's run-to-run CV, and the reports widen the figure's interval to where a further
run's median would land (a factor of 1 + 1.96 times that CV) before they rank it
(reports/figures.py): a figure whose runs spread more than its own interval says ties where its one
run would have named a best.

Beside the cases it gives the same for the host's own figures where the runs took them (run.json
`reference_measurements`: the same-CPU and cross-CPU thread hand-off, process and thread creation,
each the median of a few repeats in about a second at the run's start): how much the host itself
changed between the runs. A case's median gathers processes from the whole run and may repeat
more closely than a one-second sample, but a `spread` case, whose threads hand off across CPUs,
moves with the host's cross-CPU hand-off. And it splits the summary by placement
(`by_placement`), as the two placements of a hand-off case measure different things
(workloads/README.md "Placement").

The runs should be of one selection and profile on one host, back to back: that is the question it
answers. Nothing here tests a difference; `cmbench compare` does that for two runs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from harness.kinds.batch.repetition import INTERRUPTED_TEXT
from harness.manifests.model import PLACEMENT_PARAM, PLACEMENTS
from harness.measure.stats import coefficient_of_variation
from reports.compare import json_value
from reports.data import KEY, Results, implementation_order
from reports.figures import MODAL_METRICS, FigureKey, RunToRun, case_modes
from reports.fmt import fmt_value
from reports.metric_names import MAIN_METRICS, label
from reports.quality import UNCONVERGED, half_width, marks
from reports.samples import summarize_rows
from reports.table import Cell, Table

WITHIN = 2.0  # percent: a case that repeats this closely
ABOVE = (5.0, 10.0)  # percent: cases that move more than these are counted
RECENT_RUNS = 10  # the site's run-to-run spread: over at most this many of the newest runs of one environment
FEWEST_RUNS = 3  # ... and at least this many (two medians say little of a spread)
HELD_IF_CALIBRATED = 0.834  # P(|Z| <= 1.96 / sqrt(2)): how often a run's 95% interval holds an equal run's median
PLACED = re.compile(rf"(?:^|,){PLACEMENT_PARAM}=([a-z]+)")  # a case label's placement
COLUMNS = ["workload", "case", "impl", "variant", "implementation", "metric", "unit", "runs", "medians", "median",
           "cv_pct", "low", "high", "modes_runs", "unconverged_runs", "sizes_differ", "held", "pairs"]


@dataclass(frozen=True, eq=False)
class Repeatability:
    run_ids: tuple[str, ...]
    frame: pd.DataFrame  # one row per (workload, case, implementation) measured in >= 2 runs: its headline metric
    host: dict[str, dict] = field(default_factory=dict)  # reference figure -> its medians and CV over the runs

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"runs": len(self.run_ids), **_spread(self.frame)}
        placed = self.frame["case"].str.extract(PLACED, expand=False)
        out["by_placement"] = {p: _spread(self.frame[placed == p]) for p in PLACEMENTS if (placed == p).any()}
        return out


def run_to_run(history: pd.DataFrame, run_id: str, *, changes: Sequence[Any] = (),
               most: int = RECENT_RUNS) -> dict[FigureKey, RunToRun]:
    """(workload, case, implementation, metric) -> how the figure of run `run_id` moved between runs (module
    docstring): over the history's (reports/history/store.py) newest ok figures up to that run, of its
    fingerprint, since the series' last change point (`changes`: reports/history/changes.py Change), at most
    `most` runs and at least `FEWEST_RUNS`. A wall time takes its case's throughput spread where it has one
    (per operation, it does not move with a calibrated size)."""
    if not len(history) or run_id not in set(history["run_id"]):
        return {}
    history = history.assign(started=history["started"].fillna("").astype(str))
    mine = history[history["run_id"] == run_id]
    fingerprint, started = mine["fingerprint"].iloc[0], mine["started"].iloc[0]
    rows = history[(history["fingerprint"] == fingerprint) & (history["status"] == "ok") & history["median"].notna()
                   & ((history["started"] < started) | (history["run_id"] == run_id))]
    rows = rows[~rows["flags"].fillna("").str.contains(INTERRUPTED_TEXT, regex=False)]
    series = ["workload", "case", "impl", "variant", "metric"]
    rows = rows.merge(rows.loc[rows["run_id"] == run_id, series].drop_duplicates(), on=series)  # the run's series
    rows = rows.sort_values(["started", "run_id"], kind="stable").drop_duplicates(["run_id", *series], keep="last")
    since = {(c.series.workload, c.series.case, c.series.impl, c.series.variant, c.series.metric): c.first_bad.started
             for c in changes if c.series.fingerprint == fingerprint}
    if since:  # a series with a change point: its runs since the first at the new level
        first = [since.get(k, "") for k in zip(*(rows[c] for c in series))]
        rows = rows[rows["started"].to_numpy() >= pd.Series(first, dtype=object).to_numpy()]
    newest = rows.groupby(series, sort=False).tail(most)
    agg = newest.groupby(series, sort=False).agg(runs=("median", "size"), mean=("median", "mean"),
                                                 sd=("median", "std"), implementation=("implementation", "last"))
    out: dict[FigureKey, RunToRun] = {}
    for (workload, case, _, _, metric), x in agg[(agg["runs"] >= FEWEST_RUNS) & (agg["mean"] != 0)].iterrows():
        out[(workload, case, str(x["implementation"]), metric)] = RunToRun(float(x["sd"] / abs(x["mean"])),
                                                                           int(x["runs"]))
    for (workload, case, implementation, metric) in list(out):
        per_op = out.get((workload, case, implementation, "throughput"))
        if metric == "wall_time" and per_op is not None:
            out[(workload, case, implementation, metric)] = per_op
    return out


def spread_note(spread: Mapping[FigureKey, RunToRun]) -> str:
    """A sentence for the overview: which figures' intervals take the run-to-run spread (`run_to_run`)."""
    if not spread:
        return (f"Intervals are this run's own: fewer than {FEWEST_RUNS} runs of this environment are stored, so "
                "how far a second run would land is not known yet (cmbench repeatability measures it).")
    runs = sorted({r.runs for r in spread.values()})
    span = f"{runs[0]}" if len(runs) == 1 else f"{runs[0]} to {runs[-1]}"
    cv = float(np.median([r.cv for r in spread.values()]))
    return (f"{len(spread)} figures have a run-to-run spread over the last {span} runs of this environment (median "
            f"CV {cv:.1%}); their intervals are widened to where a further run would land before any ranking.")


def _spread(frame: pd.DataFrame) -> dict[str, Any]:
    """How the cases of `frame` repeat: their count, median and mean CV, how many stay within 2% and move more than
    5% (and of those, how many never showed modes) and 10%, and how often a run's interval held another run's
    median."""
    cv, modal = frame["cv_pct"], frame["modes_runs"] > 0
    out: dict[str, Any] = {"cases": len(cv), "median_cv_pct": float(cv.median()) if len(cv) else math.nan,
                           "mean_cv_pct": float(cv.mean()) if len(cv) else math.nan,
                           "within_2_pct": int((cv <= WITHIN).sum())}
    for above in ABOVE:
        out[f"above_{above:g}_pct"] = int((cv > above).sum())
    out["above_5_pct_without_modes"] = int(((cv > ABOVE[0]) & ~modal).sum())
    pairs = int(frame["pairs"].sum())
    out["held"], out["pairs"] = int(frame["held"].sum()), pairs
    out["held_pct"] = 100 * out["held"] / pairs if pairs else math.nan
    return out


def headline(metrics: set[str]) -> str | None:
    """The metric a case's repeatability is judged on: the first of its main metrics (throughput before wall time:
    per operation, it does not change with a calibrated size; a batch case's throughput is its wall time's
    inverse times the size, so at one size both move alike)."""
    return next((m for m in MAIN_METRICS if m in metrics), None)


def run_figures(results: Results, run_id: str) -> dict[tuple, dict]:
    """Per (workload, case, impl, variant, metric) of one run: its median, whether the case had modes (a timing)
    and whether it stopped short of its precision."""
    samples = results.samples_of(run_id)
    run = results.run(run_id)
    modal = case_modes(run, samples)
    short = {(r.workload, r.case, r.implementation)
             for r in run.cases.itertuples()
             if any(m.code == UNCONVERGED for m in marks(r.flag_list, r.extra))}
    widths = {(r.workload, r.case, r.implementation): half_width(r.extra) for r in run.cases.itertuples()}
    out = {}
    for k, g in samples.groupby([c for c in KEY if c != "run_id"], sort=False):
        workload, case, _, _, metric = k
        head = g.iloc[0]
        which = (workload, case, head["implementation"])
        out[k] = {"implementation": head["implementation"], "unit": head["unit"], "params": str(head["params"]),
                  "median": summarize_rows(g).median, "modes": metric in MODAL_METRICS and which in modal,
                  "unconverged": which in short,
                  "half_width": widths.get(which) if metric in MODAL_METRICS else None}
    return out


def repeatability(results: Results, run_ids: Sequence[str]) -> Repeatability:
    """Every case measured in at least two of `run_ids`: its headline metric's medians and their spread."""
    per_run = [run_figures(results, r) for r in run_ids]
    keys = list(dict.fromkeys(k for figures in per_run for k in figures))
    metrics: dict[tuple, set[str]] = {}
    for k in keys:
        metrics.setdefault(k[:4], set()).add(k[4])
    rows = []
    for k in keys:
        if k[4] != headline(metrics[k[:4]]):
            continue
        seen = [figures[k] for figures in per_run if k in figures]
        medians = [f["median"] for f in seen]
        if len(medians) < 2:
            continue
        spread = coefficient_of_variation(medians)
        workload, case, impl, variant, metric = k
        rows.append({"workload": workload, "case": case, "impl": impl, "variant": variant,
                     "implementation": seen[0]["implementation"], "metric": metric, "unit": seen[0]["unit"],
                     "runs": len(medians), "medians": medians, "median": float(np.median(medians)),
                     "cv_pct": math.nan if spread is None else spread * 100,
                     "low": min(medians), "high": max(medians), "modes_runs": sum(f["modes"] for f in seen),
                     "unconverged_runs": sum(f["unconverged"] for f in seen),
                     "sizes_differ": len({f["params"] for f in seen}) > 1, **held(seen)})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if len(frame):
        order = {x: i for i, x in enumerate(implementation_order(frame["implementation"]))}
        frame = (frame.assign(_i=frame["implementation"].map(order)).sort_values(["workload", "case", "_i", "metric"])
                 .drop(columns="_i").reset_index(drop=True))
    return Repeatability(tuple(run_ids), frame, host_figures(results, run_ids))


def host_figures(results: Results, run_ids: Sequence[str]) -> dict[str, dict]:
    """Each reference figure taken in at least two of the runs (run.json `reference_measurements`): its median in
    each, in the order given, and their CV in percent."""
    per_run: dict[str, list[float]] = {}
    for run_id in run_ids:
        refs = results.run(run_id).meta.get("reference_measurements")
        for f in refs.get("measured", []) if isinstance(refs, Mapping) else []:
            if isinstance(f, Mapping) and isinstance(f.get("median"), int | float) and f["median"] > 0:
                per_run.setdefault(str(f.get("name")), []).append(float(f["median"]))
    out = {}
    for name, medians in per_run.items():
        spread = coefficient_of_variation(medians) if len(medians) >= 2 else None
        if spread is not None:
            out[name] = {"medians": medians, "cv_pct": spread * 100}
    return out


def held(seen: Sequence[dict]) -> dict[str, int]:
    """Of the ordered pairs (a, b) of runs where a recorded its median's interval (a batch timing), how many held b's
    median within it: `held` of `pairs` (the module docstring)."""
    pairs = [(a, b) for a in seen for b in seen if a is not b and a["half_width"] is not None and a["median"] > 0]
    inside = sum(abs(b["median"] / a["median"] - 1) <= a["half_width"] for a, b in pairs)
    return {"held": inside, "pairs": len(pairs)}


def mixed(results: Results, run_ids: Sequence[str]) -> list[str]:
    """What differs between the runs that should not (their profile, executor, environment fingerprint): each as
    `profile: quick, full`, for a warning; their figures then differ by design, not only by chance."""
    out = []
    for name in ("profile", "executor", "environment_fingerprint"):
        seen = list(dict.fromkeys(str(results.run(r).meta.get(name) or "?") for r in run_ids))
        if len(seen) > 1:
            out.append(f"{name}: {', '.join(seen)}")
    return out


def summary_line(r: Repeatability) -> str:
    s = r.summary()
    if not s["cases"]:
        return f"repeatability: no case was measured in two of the {s['runs']} runs"
    lines = [f"repeatability over {s['runs']} runs: {s['cases']} cases, " + _spread_text(s) + held_line(s)]
    lines += [f"  placement={p}: {t['cases']} cases, " + _spread_text(t)
              + (f"; intervals held {t['held']} of {t['pairs']} ({t['held_pct']:.0f}%)" if t["pairs"] else "")
              for p, t in s["by_placement"].items()]
    if r.host:
        lines.append("the host's own figures (reference measurements at each run's start) moved: "
                     + ", ".join(f"{name} {f['cv_pct']:.1f}%" for name, f in r.host.items())
                     + " (run-to-run CV of their medians, each taken in about a second: how much the host itself "
                     "changed between the runs)")
    return "\n".join(lines)


def _spread_text(s: Mapping[str, Any]) -> str:
    return (f"run-to-run CV of their medians {s['median_cv_pct']:.1f}% at the median (mean {s['mean_cv_pct']:.1f}%); "
            f"{s['within_2_pct']} within {WITHIN:g}%, {s['above_5_pct']} above 5% ({s['above_5_pct_without_modes']} "
            f"of them without modes in any run), {s['above_10_pct']} above 10%")


def held_line(s: dict) -> str:
    if not s["pairs"]:
        return ""
    return (f"; a run's 95% interval held another run's median in {s['held']} of {s['pairs']} pairs "
            f"({s['held_pct']:.0f}%; intervals that say what a second run finds hold about "
            f"{HELD_IF_CALIBRATED:.0%})")


def table(r: Repeatability) -> Table:
    rows = []
    for x in r.frame.itertuples():
        notes = [f"modes in {x.modes_runs}/{x.runs}"] if x.modes_runs else []
        notes += [f"unconverged in {x.unconverged_runs}/{x.runs}"] if x.unconverged_runs else []
        notes += ["sizes differ"] if x.sizes_differ else []
        notes += [f"intervals held {x.held}/{x.pairs}"] if x.pairs else []
        rows.append([Cell(f"{x.workload} [{x.case}]", cls="case"), Cell(x.implementation, cls="rowhead"),
                     label(x.metric), Cell(fmt_value(x.median, x.unit), cls="num"),
                     Cell(f"{x.cv_pct:.1f}%", cls="num"),
                     Cell(f"{fmt_value(x.low, x.unit)} to {fmt_value(x.high, x.unit)}", cls="num"),
                     "; ".join(notes)])
    return Table.build("repeatability", f"run-to-run spread over {len(r.run_ids)} runs",
                       ["case", "implementation", "metric", "median of medians", "CV", "range", "notes"], rows,
                       raw=r.frame, notes=[f"Runs: {', '.join(r.run_ids)}. CV: sample standard deviation of the runs' "
                                           "medians over their mean."])


def render_terminal(r: Repeatability) -> str:
    t = table(r)
    return "\n".join([t.to_text() if t.rows else "(no case was measured in two of the runs)", summary_line(r)])


def render_json(r: Repeatability) -> str:
    """`cmbench repeatability --json`: the runs, the summary and every case's headline metric."""
    cases = [{k: json_value(v) if k != "medians" else [float(m) for m in v] for k, v in row.items()}
             for row in r.frame.to_dict("records")]
    summary = r.summary()
    summary["by_placement"] = {p: {k: json_value(v) for k, v in t.items()} for p, t in summary["by_placement"].items()}
    return json.dumps({"runs": list(r.run_ids),
                       "summary": {k: json_value(v) if k != "by_placement" else v for k, v in summary.items()},
                       "host": r.host, "cases": cases}, indent=1)
