"""The tidy rows of one server phase (see METRICS in harness/metrics.py for what each means)."""

from __future__ import annotations

from collections.abc import Iterator

from ..metrics import Row, process_rows
from ..outcome import CaseResult
from .detail import PhaseDetail

LATENCY_METRICS = (("latency_p50", "p50"), ("latency_p90", "p90"), ("latency_p99", "p99"),
                   ("latency_p999", "p999"), ("latency_max", "max"))


def server_rows(result: CaseResult) -> Iterator[Row]:
    """Rows of a finished phase (none unless its status is ok)."""
    if result.status != "ok" or not isinstance(result.detail, PhaseDetail):
        return
    d = result.detail
    if d.load is not None:
        yield Row("qps", None, None, d.load.qps)
        if d.load.latency is not None:
            for metric, attr in LATENCY_METRICS:
                yield Row(metric, None, None, getattr(d.load.latency, attr))
        yield Row("errors", None, None, d.load.errors.total + d.load.non_2xx)
        if d.loadgen_cpu is not None:
            yield Row("loadgen_cpu", None, None, d.loadgen_cpu)
    if d.idle is not None:
        yield Row("memory_per_connection", None, None, d.idle.per_connection)
    base = result.baseline
    served = d.requests_served
    for p, proc in enumerate(result.processes):
        yield from process_rows(p, proc)
        ru = proc.rusage
        if base is not None and served and d.phase != "idle":
            switches = ru.voluntary + ru.involuntary - base.voluntary - base.involuntary
            yield Row("ctx_switches_per_request", p, None, switches / served)
            yield Row("cpu_time_per_request", p, None, (ru.user + ru.system - base.user - base.system) / served)
