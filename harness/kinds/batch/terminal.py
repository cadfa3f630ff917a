"""The batch kind's terminal tables: per workload case, every implementation side by side.

A case is named best, and the others a factor slower, only where the 95% intervals of the
median throughput separate (stats.overlap); figures whose intervals overlap the top one's are
shown "≈ best". A case whose processes fell into modes (harness/measure/modes.py) is shown as
its modes, each with its location and share, and never ranked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from harness.kinds.batch.repetition import UNCONVERGED, BatchDetail
from harness.measure.metrics import Row
from harness.measure.outcome import CaseResult
from harness.measure.stats import Summary, overlap, summarize
from harness.vocab import PLACEMENT_PARAMS, fmt_bytes, fmt_rate, fmt_seconds, impl_label, params_text, render_table

TIED = "≈ best"


def fmt_summary(s: Summary, fmt=fmt_seconds) -> str:
    flag = " !" if s.unstable else ""
    return f"{fmt(s.median)} ±{s.spread * 100:.1f}% (n={s.n}){flag}"


TABLE_METRICS = ("wall_time", "throughput", "peak_rss", "ctx_switches_voluntary_per_op",
                 "ctx_switches_involuntary_per_op")


SWITCH_METRICS = TABLE_METRICS[3:]


def _modal(r: CaseResult) -> bool:
    return isinstance(r.detail, BatchDetail) and r.detail.multimodal


def _ci_text(r: CaseResult) -> str:
    d = r.detail
    if not isinstance(d, BatchDetail):
        return ""
    unconverged = " ~" if d.stop in UNCONVERGED else ""
    return ("modes" if d.multimodal else f"±{d.ci.half_width:.1%}") + unconverged


def _modes_text(r: CaseResult, rate: bool = False) -> str:
    """`1.2 ms (61%) · 3.4 ms (39%)`, or the same as throughputs."""
    d = r.detail
    assert isinstance(d, BatchDetail) and d.modes is not None
    return " · ".join(f"{fmt_rate(r.operations / m.location) if rate else fmt_seconds(m.location)} ({m.share:.0%})"
                      for m in d.modes.modes)


def _rate_interval(r: CaseResult, tp: float) -> tuple[float, float]:
    """The 95% interval of the median throughput, from the stored one of the median wall time (a point
    without one). A case with modes spans its modes as well."""
    d = r.detail
    if not isinstance(d, BatchDetail) or d.ci.low <= 0:
        return tp, tp
    low, high = tp * d.ci.median / d.ci.high, tp * d.ci.median / d.ci.low
    if d.multimodal and d.modes is not None and r.operations:
        rates = [r.operations / m.location for m in d.modes.modes]
        low, high = min(low, *rates), max(high, *rates)
    return low, high


def _values_by_metric(rows: Iterable[Row]) -> dict[str, tuple[list[float], list[int | None]]]:
    """metric -> (values, each value's process)."""
    out: dict[str, tuple[list[float], list[int | None]]] = defaultdict(lambda: ([], []))
    for row in rows:
        values, processes = out[row.metric]
        values.append(row.value)
        processes.append(row.process)
    return out


def _standing(r: CaseResult, tp: float, top: CaseResult | None, tops: dict, tied: bool) -> str:
    """The "vs best" cell: modes, best, ≈ best (its interval overlaps the top one's) or a factor slower."""
    if _modal(r):
        return "modes: not ranked"
    if top is None:
        return ""
    if r.key == top.key:
        return TIED if tied else "best"
    best_tp, best_interval = tops[top.key]
    if overlap(_rate_interval(r, tp), best_interval):
        return TIED
    return f"{best_tp / tp:.2f}x slower"


def comparison_tables(results: Iterable[CaseResult], rows_by_case: dict) -> str:
    """Per workload and case: median wall time, throughput, peak RSS, switches per op, standing to the best."""
    groups: dict[tuple[str, str], list[CaseResult]] = defaultdict(list)
    for r in results:
        groups[(r.key.workload, r.key.case)].append(r)
    blocks = []
    for (workload, case), members in groups.items():
        lines = []
        summaries = {}
        for r in members:
            by_metric = _values_by_metric(rows_by_case.get(r.key, []))
            if r.status == "ok" and by_metric.get("throughput"):
                summaries[r.key] = {m: summarize(*v) for m, v in by_metric.items() if m in TABLE_METRICS}
        ranked = [r for r in members if r.key in summaries and not _modal(r)]
        top = max(ranked, key=lambda r: summaries[r.key]["throughput"].median, default=None)
        tops, tied = {}, False
        if top is not None:
            tp = summaries[top.key]["throughput"].median
            tops[top.key] = (tp, _rate_interval(top, tp))
            tied = any(overlap(_rate_interval(r, summaries[r.key]["throughput"].median), tops[top.key][1])
                       for r in members if r.key in summaries and r.key != top.key)
        for r in members:
            name = impl_label(r.key.impl, r.key.variant)
            size = params_text((k, v) for k, v in r.params.items() if k not in PLACEMENT_PARAMS)
            size = "" if size == case else size
            s = summaries.get(r.key)
            if not s:
                lines.append([name, size, r.status, "", "", "", "", ""])
                continue
            tp = s["throughput"].median
            cs = sum(s[m].median for m in SWITCH_METRICS if m in s)
            modal = _modal(r)
            wall = f"modes {_modes_text(r)}" if modal else fmt_summary(s["wall_time"])
            rate = _modes_text(r, rate=True) if modal and r.operations else fmt_rate(tp)
            lines.append([name, size, wall, _ci_text(r), rate, fmt_bytes(s["peak_rss"].median), f"{cs:.3g}",
                          _standing(r, tp, top, tops, tied)])
        headers = ["implementation", "size run (if not the case's)", "wall time per iteration", "95% CI",
                   "throughput", "peak RSS", "ctx sw/op", "vs best"]
        if not any(line[1] for line in lines):
            headers.pop(1)
            lines = [line[:1] + line[2:] for line in lines]
        blocks.append(f"{workload} [{case}]\n" + render_table(headers, lines))
    legend = ("median ±half-IQR (n samples); ! = IQR above 10% of median; 95% CI = the median's confidence interval "
              "(half-width; two-level bootstrap over processes and iterations), ~ = stopped before reaching the "
              "profile's precision; modes = the processes fell into groups, each shown at its median with its share of "
              "the processes, never ranked; ≈ best = its interval overlaps the top figure's, so their order is not "
              "known; ctx sw/op net of start-up")
    return "\n\n".join(blocks) + ("\n\n" + legend if blocks else "")
