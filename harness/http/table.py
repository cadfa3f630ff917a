"""The terminal table of server phases: one line per implementation and phase."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..metrics import Row
from ..outcome import CaseKey, CaseResult
from ..vocab import fmt_bytes, fmt_rate, fmt_seconds, impl_label, render_table

HEADERS = ["implementation", "phase", "QPS", "p50", "p99", "p99.9", "max", "peak RSS", "ctx sw/req",
           "CPU/req", "loadgen CPU", "mem/conn", "notes"]


def _fmt(values: Mapping[str, float], metric: str, fmt) -> str:
    return fmt(values[metric]) if metric in values else ""


def server_table(results: Iterable[CaseResult], rows_by_case: Mapping[CaseKey, Sequence[Row]]) -> str:
    """One table per server workload; empty text when there is no server case."""
    by_workload: dict[str, list[list[str]]] = {}
    for r in results:
        if "phase" not in r.params or r.params.get("phase") == "verify":
            continue
        name = impl_label(r.key.impl, r.key.variant)
        phase = r.key.case + (f" ({r.params['target_qps']:.0f}/s)" if "target_qps" in r.params else "")
        if r.status != "ok":
            by_workload.setdefault(r.key.workload, []).append(
                [name, phase, r.status.upper(), *[""] * 9, r.error[:100]])
            continue
        v = {row.metric: row.value for row in rows_by_case.get(r.key, ())}
        by_workload.setdefault(r.key.workload, []).append([
            name, phase, _fmt(v, "qps", fmt_rate), _fmt(v, "latency_p50", fmt_seconds),
            _fmt(v, "latency_p99", fmt_seconds), _fmt(v, "latency_p999", fmt_seconds),
            _fmt(v, "latency_max", fmt_seconds), _fmt(v, "peak_rss", fmt_bytes),
            _fmt(v, "ctx_switches_per_request", lambda x: f"{x:.3g}"),
            _fmt(v, "cpu_time_per_request", fmt_seconds), _fmt(v, "loadgen_cpu", lambda x: f"{x:.2f}"),
            _fmt(v, "memory_per_connection", fmt_bytes), "; ".join(r.flags)[:100],
        ])
    blocks = [f"{w}\n" + render_table(HEADERS, lines) for w, lines in by_workload.items()]
    if not blocks:
        return ""
    legend = ("closed: wrk saturation; open: oha at a fraction of the server's best closed-loop QPS, latency "
              "corrected for coordinated omission; per request: net of the start-up baseline")
    return "\n\n".join(blocks) + "\n\n" + legend
