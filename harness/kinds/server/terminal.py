"""The terminal table of server phases: one line per implementation and phase."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence

from harness.kinds.server.bound import is_bound
from harness.measure.metrics import Row
from harness.measure.outcome import CaseKey, CaseResult
from harness.vocab import fmt_bytes, fmt_rate, fmt_seconds, impl_label, render_table

HEADERS = ["implementation", "phase", "QPS", "p50", "p99", "p99.9", "max", "ready", "peak RSS", "tree mem",
           "ctx sw/req", "CPU/req", "loadgen CPU", "mem/conn", "notes"]
BOUND_TEXT = "(load-generator bound)"


def qps_text(qps: float, bound: bool) -> str:
    """A QPS figure; a load-generator bound one as the lower bound it is."""
    return f"≥ {fmt_rate(qps)} {BOUND_TEXT}" if bound else fmt_rate(qps)


def _fmt(values: Mapping[str, list[float]], metric: str, fmt) -> str:
    return fmt(statistics.median(values[metric])) if values.get(metric) else ""


def _tree(values: Mapping[str, list[float]]) -> str:
    for metric in ("memory_with_connections", "peak_tree_pss", "peak_tree_rss"):
        if values.get(metric):
            return fmt_bytes(values[metric][0])
    return ""


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
                [name, phase, r.status.upper(), *[""] * (len(HEADERS) - 4), r.error[:100]])
            continue
        v: dict[str, list[float]] = {}
        for row in rows_by_case.get(r.key, ()):
            v.setdefault(row.metric, []).append(row.value)
        bound = is_bound(r.flags)
        qps = qps_text(v["qps"][0], bound) if v.get("qps") else ""
        by_workload.setdefault(r.key.workload, []).append([
            name, phase, qps, _fmt(v, "latency_p50", fmt_seconds),
            _fmt(v, "latency_p99", fmt_seconds), _fmt(v, "latency_p999", fmt_seconds),
            _fmt(v, "latency_max", fmt_seconds), _fmt(v, "time_to_ready", fmt_seconds), _fmt(v, "peak_rss", fmt_bytes),
            _tree(v), _fmt(v, "ctx_switches_per_request", lambda x: f"{x:.3g}"),
            _fmt(v, "cpu_time_per_request", fmt_seconds), _fmt(v, "loadgen_cpu", lambda x: f"{x:.2f}"),
            _fmt(v, "memory_per_connection", fmt_bytes), "; ".join(f for f in r.flags if not is_bound([f]))[:100],
        ])
    blocks = [f"{w}\n" + render_table(HEADERS, lines) for w, lines in by_workload.items()]
    if not blocks:
        return ""
    legend = ("startup: median time from process start to the first 200 answer; closed: wrk saturation; "
              "pipelined: wrk, 16 requests written at once per connection (no latency: wrk's is per batch); open: "
              "oha at a fraction of the server's best closed-loop QPS, latency corrected for coordinated omission "
              "(none shown when the rate fell short); ≥ X (load-generator bound): the generator, not the server, "
              "set the rate; tree mem: the server's process tree (PSS), with the idle connections open or at its peak; "
              "per request: net of the start-up baseline")
    return "\n\n".join(blocks) + "\n\n" + legend
