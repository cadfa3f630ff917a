"""What the site knows about metric names: which one ranks a workload, which go in the main
tables, their short labels, and latency percentiles by name.

Anything not listed here is still shown, by its own name, unit and direction from results.csv,
so a metric added to the harness appears without a change here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from harness.catalog import load_workload
from harness.errors import UserError
from harness.measure.metrics import METRICS
from reports.data import label_parts, parse_params

# The figure that ranks implementations on a workload: the first of its workload.toml `[report] key_metrics`
# it has (workloads/README.md), else the first of these.
KEY_METRICS = ("throughput", "qps")
# Memory figures, the most telling first: what the overview shows as a workload's memory.
MEMORY_METRICS = ("memory_per_task", "memory_per_connection", "memory_with_connections", "peak_tree_pss", "peak_rss")

# Main-table columns, in this order, when present.
MAIN_METRICS = (
    "throughput", "qps", "wall_time",
    "latency_p50", "latency_p90", "latency_p99", "latency_p999", "latency_max",
    "time_to_ready", "memory_per_task", "memory_per_connection", "memory_with_connections", "peak_tree_pss",
    "peak_rss",
    "ctx_switches_voluntary_per_op", "ctx_switches_involuntary_per_op", "cpu_time_per_op",
    "ctx_switches_per_request", "cpu_time_per_request",
)
# Shown only in the full per-metric table: raw process counters and bookkeeping.
DETAIL_METRICS = (
    "cpu_user", "cpu_system", "ctx_switches_voluntary", "ctx_switches_involuntary",
    "startup_peak_rss", "startup_cpu_time", "stack_bytes", "harness_overhead", "errors", "loadgen_cpu",
    "peak_tree_rss",
)
# Cases in these server phases are not ranked by the key metric: an open-loop phase's requests/s
# is the rate the harness asked for, an idle phase serves nothing, a start-up phase one request.
UNRANKED_PHASES = ("open", "idle", "verify", "startup")

LABELS = {
    "throughput": "throughput",
    "qps": "requests/s",
    "wall_time": "wall time / iteration",
    "latency_max": "max latency",
    "memory_per_task": "memory / task",
    "memory_per_connection": "memory / connection",
    "memory_with_connections": "memory with the idle connections",
    "peak_tree_rss": "peak RSS, process tree",
    "peak_tree_pss": "peak PSS, process tree",
    "time_to_ready": "time to ready",
    "peak_rss": "peak RSS",
    "ctx_switches_voluntary_per_op": "voluntary ctx sw / op",
    "ctx_switches_involuntary_per_op": "involuntary ctx sw / op",
    "cpu_time_per_op": "CPU time / op",
    "ctx_switches_per_request": "ctx switches / request",
    "cpu_time_per_request": "CPU time / request",
    "cpu_user": "user CPU",
    "cpu_system": "system CPU",
    "ctx_switches_voluntary": "voluntary ctx switches",
    "ctx_switches_involuntary": "involuntary ctx switches",
    "startup_peak_rss": "start-up peak RSS",
    "startup_cpu_time": "start-up CPU time",
    "stack_bytes": "stack per thread",
    "harness_overhead": "harness overhead",
}

_LATENCY = re.compile(r"latency_p(\d+)")


def latency_percentile(metric: str) -> float | None:
    """latency_p50 -> 50, latency_p999 -> 99.9, latency_p9999 -> 99.99, latency_max -> 100."""
    if metric == "latency_max":
        return 100.0
    m = _LATENCY.fullmatch(metric)
    if not m:
        return None
    digits = m.group(1)
    return float(digits[:2] + ("." + digits[2:] if len(digits) > 2 else ""))


# Units of metrics the harness may not list in its METRICS table yet (HTTP figures).
FALLBACK_UNITS = {"qps": "req/s", "memory_per_connection": "B"}


def unit_of(metric: str) -> str:
    """The unit a metric is stored in, when no sample says it."""
    if metric in METRICS:
        return METRICS[metric].unit
    if latency_percentile(metric) is not None:
        return "s"
    return FALLBACK_UNITS.get(metric, "")


def label(metric: str) -> str:
    if metric in LABELS:
        return LABELS[metric]
    p = latency_percentile(metric)
    if p is not None:
        return f"p{p:g} latency"
    return metric.replace("_", " ")


def help_text(metric: str) -> str:
    m = METRICS.get(metric)
    if m:
        return m.help
    p = latency_percentile(metric)
    if p is not None:
        return f"{p:g}th percentile of request latency" if p < 100 else "largest request latency"
    return ""


def main_metrics(present: set[str]) -> list[str]:
    """Main-table metrics among `present`: the known ones in order, then any unknown ones."""
    known = [m for m in MAIN_METRICS if m in present]
    unknown = sorted(m for m in present if m not in MAIN_METRICS and m not in DETAIL_METRICS)
    return known + unknown


def ranked(case: str, params_text: str = "") -> bool:
    """Whether a case is ranked by its workload's key metric (see UNRANKED_PHASES)."""
    words, params = label_parts(case)
    phase = parse_params(params_text).get("phase") or params.get("phase") or next(iter(words), "")
    return phase not in UNRANKED_PHASES


def key_metric(present: set[str], declared: Sequence[str] = ()) -> str | None:
    """The metric that ranks a workload: the first declared one it has, else the first of KEY_METRICS."""
    for m in (*declared, *KEY_METRICS):
        if m in present:
            return m
    return None


def memory_metric(present: set[str], declared: Sequence[str] = ()) -> str | None:
    """The memory figure of a workload: a declared memory metric it has, else the first of MEMORY_METRICS."""
    for m in (*[d for d in declared if d in MEMORY_METRICS], *MEMORY_METRICS):
        if m in present:
            return m
    return None


# Figures the harness records as information (its info_fields: not checked, not compared run to run) that
# a workload may still rank by (workload.toml [report] key_metrics): which way is better.
INFO_DIRECTIONS = {"timer_late_p50": "lower", "timer_late_max": "lower"}


def direction_of(metric: str, stored: str) -> str:
    """Which way is better when ranking: results.csv's direction, or INFO_DIRECTIONS' for an info figure."""
    return INFO_DIRECTIONS.get(metric, stored) if stored == "info" else stored


def declared_key_metrics(root: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Each workload's `[report] key_metrics` from the workload.toml files under `root`/workloads (default: this
    project's); a workload that declares none, or a tree without workloads, gives the defaults (KEY_METRICS)."""
    folder = (root or Path(__file__).resolve().parent.parent) / "workloads"
    out = {}
    for path in sorted(folder.glob("*/workload.toml")):
        try:
            out[path.parent.name] = load_workload(path).key_metrics
        except UserError:
            continue  # a damaged manifest is `cmbench list`'s to report; the site falls back to the defaults
    return out


# Which metrics raise nightly alerts, each with a floor of its own (a relative change; 0: only the
# detection's floor, README "Nightly runs"). A metric not listed is followed on the History page and
# never raises an alert: raw process counters (cpu_user, cpu_system, switch counts), which grow with
# the size rather than the code; harness bookkeeping; a load generator's own CPU. Involuntary context
# switches are preemptions, set mostly by what else runs on the host, and the start-up figures are
# those of a process that lives a few milliseconds: each alerts only past a large floor of its own.
ALERT_FLOORS: dict[str, float] = {
    "wall_time": 0.0, "throughput": 0.0, "qps": 0.0,
    "peak_rss": 0.0, "container_peak_memory": 0.0, "peak_tree_rss": 0.0, "peak_tree_pss": 0.0,
    "memory_per_task": 0.0, "memory_per_connection": 0.0, "memory_with_connections": 0.0,
    "ctx_switches_voluntary_per_op": 0.0, "ctx_switches_per_request": 0.0,
    "cpu_time_per_op": 0.0, "cpu_time_per_request": 0.0, "time_to_ready": 0.0,
    "ctx_switches_involuntary_per_op": 0.5,
    "startup_cpu_time": 0.5, "startup_peak_rss": 0.2,
}
ALERT_FLOOR_LATENCY = 0.0  # every latency percentile (latency_p50 ... latency_max)
# A count per operation also has to move by this much in its own unit: its baseline-subtracted value is a
# handful of switches a process over a million operations (0.000007/op) in most batch cases, where one
# switch more or less (a page fault, a timer tick) is a change of 10-100% and tells nothing of the code.
# One switch in a thousand operations is the least that could show in the time of an operation.
ALERT_ABSOLUTE_FLOORS: dict[str, float] = {
    "ctx_switches_voluntary_per_op": 0.001, "ctx_switches_involuntary_per_op": 0.001,
    "ctx_switches_per_request": 0.001,
}


def alert_floor(metric: str) -> float | None:
    """The floor of its own past which `metric` raises an alert; None: it never does."""
    if metric in ALERT_FLOORS:
        return ALERT_FLOORS[metric]
    return ALERT_FLOOR_LATENCY if latency_percentile(metric) is not None else None


def alert_absolute_floor(metric: str) -> float:
    """The least change, in the metric's own unit, of a candidate of `metric` (0: any)."""
    return ALERT_ABSOLUTE_FLOORS.get(metric, 0.0)


def alert_priority(metric: str) -> int:
    """Order of a case's metrics when one change moves several: the first is reported as the change."""
    order = [m for m in MAIN_METRICS if alert_floor(m) is not None]
    return order.index(metric) if metric in order else len(order)
