"""The batch kind's terminal tables: per workload case, every implementation side by side."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from harness.kinds.batch.repetition import UNCONVERGED, BatchDetail
from harness.measure.metrics import Row
from harness.measure.outcome import CaseResult
from harness.measure.stats import Summary, summarize
from harness.vocab import PLACEMENT_PARAMS, fmt_bytes, fmt_rate, fmt_seconds, impl_label, params_text, render_table


def fmt_summary(s: Summary, fmt=fmt_seconds) -> str:
    flag = " !" if s.unstable else ""
    return f"{fmt(s.median)} ±{s.spread * 100:.1f}% (n={s.n}){flag}"


TABLE_METRICS = ("wall_time", "throughput", "peak_rss", "ctx_switches_voluntary_per_op",
                 "ctx_switches_involuntary_per_op")


SWITCH_METRICS = TABLE_METRICS[3:]


def _ci_text(r: CaseResult) -> str:
    d = r.detail
    if not isinstance(d, BatchDetail):
        return ""
    return f"±{d.ci.half_width:.1%}" + (" ~" if d.stop in UNCONVERGED else "")


def _values_by_metric(rows: Iterable[Row]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        out[row.metric].append(row.value)
    return out


def comparison_tables(results: Iterable[CaseResult], rows_by_case: dict) -> str:
    """Per workload and case: median wall time, throughput, peak RSS, switches per op, ratio to best."""
    groups: dict[tuple[str, str], list[CaseResult]] = defaultdict(list)
    for r in results:
        groups[(r.key.workload, r.key.case)].append(r)
    blocks = []
    for (workload, case), members in groups.items():
        lines = []
        best = None
        summaries = {}
        for r in members:
            by_metric = _values_by_metric(rows_by_case.get(r.key, []))
            if r.status == "ok" and by_metric.get("throughput"):
                summaries[r.key] = {m: summarize(v) for m, v in by_metric.items() if m in TABLE_METRICS}
                tp = summaries[r.key]["throughput"].median
                best = tp if best is None else max(best, tp)
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
            ratio = "best" if tp == best else f"{best / tp:.2f}x slower"
            lines.append([name, size, fmt_summary(s["wall_time"]), _ci_text(r), fmt_rate(tp),
                          fmt_bytes(s["peak_rss"].median), f"{cs:.3g}", ratio])
        headers = ["implementation", "size run (if not the case's)", "wall time per iteration", "95% CI",
                   "throughput", "peak RSS", "ctx sw/op", "vs best"]
        if not any(line[1] for line in lines):
            headers.pop(1)
            lines = [line[:1] + line[2:] for line in lines]
        blocks.append(f"{workload} [{case}]\n" + render_table(headers, lines))
    legend = ("median ±half-IQR (n samples); ! = IQR above 10% of median; 95% CI = the median's confidence interval "
              "(half-width; two-level bootstrap over processes and iterations), ~ = stopped before reaching the "
              "profile's precision; ctx sw/op net of start-up")
    return "\n\n".join(blocks) + ("\n\n" + legend if blocks else "")
