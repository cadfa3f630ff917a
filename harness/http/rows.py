"""The tidy rows of one server phase (see METRICS in harness/metrics.py for what each means)."""

from __future__ import annotations

from collections.abc import Iterator

from ..metrics import Row, process_rows
from ..outcome import CaseResult

LATENCY_METRICS = (("latency_p50", "p50"), ("latency_p90", "p90"), ("latency_p99", "p99"),
                   ("latency_p999", "p99.9"), ("latency_max", "max"))


def server_rows(result: CaseResult) -> Iterator[Row]:
    """Rows of a finished phase (none unless its status is ok)."""
    if result.status != "ok":
        return
    x = result.extra
    phase = x.get("phase")
    load = x.get("load")
    if phase in ("closed", "open") and isinstance(load, dict):
        yield Row("qps", None, None, float(load["qps"]))
        for metric, key in LATENCY_METRICS:
            if key in load.get("latency", {}):
                yield Row(metric, None, None, float(load["latency"][key]))
        errors = load["errors"]
        total = sum(v for k, v in errors.items() if k != "other") + sum(errors.get("other", {}).values())
        yield Row("errors", None, None, total + int(load["non_2xx"]))
        if x.get("loadgen_cpu") is not None:
            yield Row("loadgen_cpu", None, None, float(x["loadgen_cpu"]))
    if phase == "idle" and isinstance(x.get("idle"), dict):
        yield Row("memory_per_connection", None, None, float(x["idle"]["memory_per_connection"]))
    base = result.baseline
    served = int(x.get("requests_served", 0))
    for p, proc in enumerate(result.processes):
        yield from process_rows(p, proc)
        ru = proc.rusage
        if base is not None and served and phase != "idle":
            switches = ru.voluntary + ru.involuntary - base.voluntary - base.involuntary
            yield Row("ctx_switches_per_request", p, None, switches / served)
            yield Row("cpu_time_per_request", p, None, (ru.user + ru.system - base.user - base.system) / served)
