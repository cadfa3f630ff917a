"""The tidy rows of one server phase (see METRICS in harness/measure/metrics.py for what each means)."""

from __future__ import annotations

from collections.abc import Iterator

from harness.kinds.server.detail import PhaseDetail
from harness.measure.metrics import Row, process_rows
from harness.measure.outcome import CaseResult

LATENCY_METRICS = (("latency_p50", "p50"), ("latency_p90", "p90"), ("latency_p99", "p99"),
                   ("latency_p999", "p999"), ("latency_max", "max"))
NOT_PER_REQUEST = ("idle", "startup")  # phases whose process serves (almost) nothing


def server_rows(result: CaseResult) -> Iterator[Row]:
    """Rows of a finished phase (none unless its status is ok).

    An open-loop phase that fell short of its target rate gives no latency rows: its latencies
    describe the generator's backlog (they stay in run.json, flagged). Nor does a pipelined
    phase: wrk times a whole batch, then "corrects" the batch times with an interval computed
    per response (stats_correct), which leaves its percentiles meaningless (a p99 of 0 was seen);
    TechEmpower's plaintext ranking is by requests per second too.
    """
    if result.status != "ok" or not isinstance(result.detail, PhaseDetail):
        return
    d = result.detail
    if d.load is not None:
        yield Row("qps", None, None, d.load.rate)
        for i, rate in enumerate(d.repeat_rates, 1):  # the repeated measured loads: one value each
            yield Row("qps", None, i, rate)
        if d.server_latency is not None:
            for metric, attr in LATENCY_METRICS:
                yield Row(metric, None, None, getattr(d.server_latency, attr))
        yield Row("errors", None, None, d.load.errors.total + d.load.non_2xx)
        if d.loadgen_cpu is not None:
            yield Row("loadgen_cpu", None, None, d.loadgen_cpu)
    if d.idle is not None:
        yield Row("memory_per_connection", None, None, d.idle.per_connection)
        yield Row("memory_with_connections", None, None, d.idle.memory_with)
        for i, m in enumerate(d.idle_repeats, 1):  # the readings on the repeated fresh servers
            yield Row("memory_per_connection", None, i, m.per_connection)
            yield Row("memory_with_connections", None, i, m.memory_with)
    if d.peak_memory is not None and d.peak_memory.samples:
        yield Row("peak_tree_rss", None, None, d.peak_memory.rss)
        if d.peak_memory.pss is not None:
            yield Row("peak_tree_pss", None, None, d.peak_memory.pss)
    for p, seconds in enumerate(d.startup_seconds):
        yield Row("time_to_ready", p, None, seconds)
    base = result.baseline
    served = d.requests_served
    for p, proc in enumerate(result.processes):
        yield from process_rows(p, proc)
        ru = proc.rusage
        if base is not None and served and d.phase not in NOT_PER_REQUEST:
            switches = ru.voluntary + ru.involuntary - base.voluntary - base.involuntary
            yield Row("ctx_switches_per_request", p, None, switches / served)
            yield Row("cpu_time_per_request", p, None, (ru.user + ru.system - base.user - base.system) / served)
