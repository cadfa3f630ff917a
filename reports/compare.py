"""Comparing two runs: per case and metric, B against A, with a direction-aware significance test
corrected for the number of tests.

Iterations of one process are not independent (harness/measure/stats.py), so the test takes one value per
process: the median of its iterations (a figure of a whole case, a server phase's, counts once). Each
metric with a direction gets a two-sided Mann-Whitney U test (significance.py); the p-values of every
test whose sample sizes can reach significance at all are then adjusted together by
Benjamini-Hochberg, and a change is significant when its adjusted p-value is below alpha. So among
hundreds of comparisons of unchanged code, noise is not reported as change.

A timing (reports/figures.py `MODAL_METRICS`) of a case whose processes fell into modes in either
run (harness/measure/modes.py) is not judged on its median, which is whichever mode held the middle
process: its verdict is `modes`, with no change or test, and each run's modes are shown instead.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports.data import KEY, Results, implementation_order
from reports.figures import MODAL_METRICS, ModeFigure, case_modes, mode_figures, modes_text
from reports.fmt import fmt_change, fmt_p, fmt_value
from reports.metric_names import MAIN_METRICS, label, main_metrics
from reports.samples import summarize_rows
from reports.significance import ALPHA, CORRECTION, TestResult, adjust, direction_word, mann_whitney
from reports.table import Cell, Table

COMPARE_COLUMNS = ["workload", "case", "impl", "variant", "implementation", "metric", "unit", "direction",
                   "n_a", "a_median", "n_b", "b_median", "change_pct", "p_value", "p_adjusted", "significant",
                   "method", "verdict", "a_modes", "b_modes"]
# What `cmbench compare --json` prints of each row.
JSON_COLUMNS = ["workload", "case", "impl", "variant", "metric", "unit", "direction", "a_median", "b_median",
                "change_pct", "p_value", "p_adjusted", "significant", "n_a", "n_b", "verdict", "a_modes", "b_modes"]
GOOD = ("faster", "better")
BAD = ("slower", "worse")
MODES = "modes"  # the verdict of a timing whose processes fell into modes in either run


@dataclass(frozen=True, eq=False)
class Comparison:
    run_a: str
    run_b: str
    frame: pd.DataFrame  # one row per (workload, case, implementation, metric) in both runs
    only_a: tuple[str, ...]  # "workload [case] implementation" measured in A only
    only_b: tuple[str, ...]
    alpha: float = ALPHA
    tests: int = 0  # the family the p-values were adjusted over

    def counts(self) -> dict[str, int]:
        return self.frame["verdict"].value_counts().to_dict()

    def regressions(self, fail_above: float) -> pd.DataFrame:
        """Rows significantly worse, by more than `fail_above` percent of A's median."""
        f = self.frame
        return f[f["significant"] & f["verdict"].isin(BAD) & (worse_pct(f) > fail_above)]


def worse_pct(frame: pd.DataFrame) -> pd.Series:
    """How much worse B's median is than A's, in percent of A's, by the metric's direction (negative: better)."""
    return frame["change_pct"].where(frame["direction"] == "lower", -frame["change_pct"])


def process_values(samples: pd.DataFrame) -> np.ndarray:
    """One value per process: the median of its samples; a figure of the whole case counts as one."""
    per_process = samples[samples["process"].notna()].groupby("process")["value"].median().to_numpy()
    return np.concatenate([per_process, samples.loc[samples["process"].isna(), "value"].to_numpy()])


def compare_runs(results: Results, run_a: str, run_b: str, alpha: float = ALPHA) -> Comparison:
    a = results.samples_of(run_a)
    b = results.samples_of(run_b)
    modal_a, modal_b = case_modes(results.run(run_a), a), case_modes(results.run(run_b), b)
    key = [k for k in KEY if k != "run_id"]
    groups_a = {k: g for k, g in a.groupby(key, sort=False)}
    groups_b = {k: g for k, g in b.groupby(key, sort=False)}
    rows, tested = [], []
    for k, ga in groups_a.items():
        gb = groups_b.get(k)
        if gb is None:
            continue
        workload, case, impl, variant, metric = k
        head = ga.iloc[0]
        va, vb = process_values(ga), process_values(gb)
        which = (workload, case, head["implementation"])
        in_a, in_b = modal_a.get(which), modal_b.get(which)
        modal = metric in MODAL_METRICS and (in_a is not None or in_b is not None)
        result = mann_whitney(va, vb) if head["direction"] in ("lower", "higher") and not modal else None
        med_a, med_b = summarize_rows(ga).median, summarize_rows(gb).median
        rows.append({"workload": workload, "case": case, "impl": impl, "variant": variant,
                     "implementation": head["implementation"], "metric": metric, "unit": head["unit"],
                     "direction": head["direction"], "n_a": len(va), "a_median": med_a, "n_b": len(vb),
                     "b_median": med_b, "change_pct": (med_b / med_a - 1) * 100 if med_a and not modal else np.nan,
                     "p_value": result.p if result else np.nan, "p_adjusted": np.nan, "significant": False,
                     "method": result.method if result else "", "verdict": MODES if modal else "not compared",
                     "a_modes": mode_figures(in_a, ga) if modal and in_a else (),
                     "b_modes": mode_figures(in_b, gb) if modal and in_b else ()})
        tested.append(result)
    family = [i for i, r in enumerate(tested) if r is not None and r.min_p <= alpha]
    for i, p in zip(family, adjust([tested[i].p for i in family])):
        rows[i]["p_adjusted"] = float(p)
    for row, result in zip(rows, tested):
        row["verdict"], row["significant"] = _verdict(row, result, alpha)
    frame = pd.DataFrame(rows, columns=COMPARE_COLUMNS)

    def cases(s: pd.DataFrame) -> set[str]:
        return {f"{w} [{c}] {i}" for w, c, i in zip(s["workload"], s["case"], s["implementation"])}
    ca, cb = cases(a), cases(b)
    return Comparison(run_a, run_b, _sorted(frame), tuple(sorted(ca - cb)), tuple(sorted(cb - ca)), alpha,
                      len(family))


def _verdict(row: dict, result: TestResult | None, alpha: float) -> tuple[str, bool]:
    if row["verdict"] == MODES:
        return MODES, False
    if result is None:
        return "not compared", False
    if result.min_p > alpha:
        return "too few samples", False
    if not row["p_adjusted"] < alpha:
        return "not significant", False
    return direction_word(result, row["n_a"], row["n_b"], row["direction"], row["unit"]), True


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
    keep = set(main_metrics(set(frame["metric"])))
    if "throughput" in keep:
        keep.discard("wall_time")
    return frame[frame["metric"].isin(keep)]


def verdict_class(word: str) -> str:
    return "good" if word in GOOD else "bad" if word in BAD else "neutral"


def comparison_table(c: Comparison, *, main_only: bool = False, testable_only: bool = False) -> Table:
    frame = main_rows(c.frame) if main_only else c.frame
    if testable_only:
        frame = frame[frame["verdict"].isin((*GOOD, *BAD, "not significant", MODES))]
    rows = []
    for r in frame.itertuples():
        rows.append([Cell(f"{r.workload} [{r.case}]", cls="case"), Cell(r.implementation, cls="rowhead"),
                     label(r.metric),
                     _figure_cell(r.a_median, r.a_modes, r.unit, r.n_a),
                     _figure_cell(r.b_median, r.b_modes, r.unit, r.n_b),
                     Cell(fmt_change(1 + r.change_pct / 100), cls="num"),
                     Cell(fmt_p(r.p_value), cls="num", title=r.method),
                     Cell(fmt_p(r.p_adjusted), cls="num"),
                     Cell(r.verdict, cls=f"verdict {verdict_class(r.verdict)}")])
    slug = "compare-main" if main_only else "compare-all"
    notes = [
        f"B = {c.run_b} against A = {c.run_a}. Medians of each run's samples; change = B / A - 1.",
        f"Two-sided Mann-Whitney U test on one value per process (the median of its iterations); p-values adjusted "
        f"by {CORRECTION} (false discovery rate) over the {c.tests} tests whose processes could reach significance; "
        f"significant when the adjusted p (p adj.) < {c.alpha:g}. faster/slower (better/worse) follow each "
        "metric's direction, so a higher throughput and a lower wall time are both faster.",
        "too few samples: the processes cannot reach significance (fewer than 4 in each run, e.g. 2 against 2; a "
        "server phase is measured once).",
        "modes: the case's processes fell into groups in A or B (harness/measure/modes.py); its median is whichever "
        "group held the middle process, so no change is judged: each run's groups are shown, at their medians with "
        "their shares of the processes.",
    ]
    if c.only_a or c.only_b:
        notes.append(f"Cases measured in one run only: {len(c.only_a)} in A, {len(c.only_b)} in B (listed below).")
    return Table.build(slug, f"{c.run_b} vs {c.run_a}", ["case", "implementation", "metric", "A", "B", "change",
                                                         "p", "p adj.", "verdict"], rows, raw=frame, notes=notes)


def _figure_cell(median: float, modes: tuple[ModeFigure, ...], unit: str, n: int) -> Cell:
    """A run's figure in the comparison: its median, or its modes."""
    if len(modes) > 1:
        return Cell(modes_text(modes, unit), cls="num modes", title=f"modes of n={n} processes")
    return Cell(fmt_value(median, unit), cls="num", title=f"n={n}")


def render_terminal(c: Comparison, fail_above: float | None = None) -> str:
    """The main-metric rows that could be tested, as a terminal table, then a tally of every metric and,
    with `fail_above`, the gate's finding."""
    table = comparison_table(c, main_only=True, testable_only=True)
    untested = int((main_rows(c.frame)["verdict"] == "too few samples").sum())
    counts = c.counts()
    tally = ", ".join(f"{counts.get(w, 0)} {w}" for w in ("faster", "slower", "better", "worse",
                                                         "not significant", MODES, "too few samples") if counts.get(w))
    lines = [f"compare: B = {c.run_b} vs A = {c.run_a}"]
    lines.append(table.to_text() if table.rows else "(no metric of a case measured in both runs could be tested)")
    if untested:
        lines.append(f"{untested} main figures not shown: too few samples to test (at least 4 processes per run; "
                     "a server phase is measured once); the comparison page lists them")
    lines.append(f"all metrics: {tally or 'nothing compared'} (Mann-Whitney U, two-sided, on one value per process; "
                 f"p adjusted by {CORRECTION} over {c.tests} tests; significant when below {c.alpha:g})")
    if c.only_a or c.only_b:
        lines.append(f"cases only in A: {len(c.only_a)}, only in B: {len(c.only_b)}")
    if fail_above is not None:
        lines.append(gate_text(c, fail_above))
    return "\n".join(lines)


def gate_text(c: Comparison, fail_above: float) -> str:
    """What `--fail-above` found: each significant regression beyond it, or that there is none."""
    bad = c.regressions(fail_above)
    if bad.empty:
        return f"no significant regression worse than {fail_above:g}%"
    found = [f"{r.workload} [{r.case}] {r.implementation} {r.metric}: {worse:+.1f}% worse "
             f"(adjusted p {fmt_p(r.p_adjusted)})" for r, worse in zip(bad.itertuples(), worse_pct(bad))]
    return f"{len(bad)} significant regression(s) worse than {fail_above:g}%:\n  " + "\n  ".join(found)


def json_value(value: object) -> object:
    """A JSON value: numpy scalars as Python's, NaN as null, modes as a list (none: null)."""
    if isinstance(value, tuple):
        return [{"location": m.location, "share": m.share, "n": m.n} for m in value] or None
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and not math.isfinite(value) else value


def render_json(c: Comparison) -> str:
    """Every compared case and metric as a JSON list (`cmbench compare --json`)."""
    rows = [{k: json_value(v) for k, v in zip(JSON_COLUMNS, r)}
            for r in c.frame[JSON_COLUMNS].itertuples(index=False, name=None)]
    return json.dumps(rows, indent=1)
