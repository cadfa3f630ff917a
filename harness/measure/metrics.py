"""Metrics: their units and directions, and the tidy rows a case result turns into.

`METRICS` is the one table of what each metric means; results/README.md describes the same.
Per-operation figures subtract the start-up baseline (the same program run with zero
iterations) and divide by the operations that process performed (warm-ups included, since
rusage covers the whole process).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from harness.measure.outcome import CaseResult, ProcessRun


@dataclass(frozen=True)
class Metric:
    unit: str
    direction: str  # "lower" or "higher" is better; "info" is not compared
    scope: str  # "iteration", "process" or "case"
    help: str


METRICS: dict[str, Metric] = {
    "wall_time": Metric("s", "lower", "iteration", "elapsed time of one iteration's timed region"),
    "throughput": Metric("ops/s", "higher", "iteration", "operations per iteration / wall_time"),
    "peak_rss": Metric("B", "lower", "process", "peak resident set size of the process (ru_maxrss)"),
    "container_peak_memory": Metric(
        "B", "lower", "process", "docker only: the container cgroup's peak memory (page cache and wrapper included)"),
    "cpu_user": Metric("s", "lower", "process", "user CPU time of the process, all threads"),
    "cpu_system": Metric("s", "lower", "process", "system CPU time of the process, all threads"),
    "ctx_switches_voluntary": Metric("count", "lower", "process", "voluntary context switches, all threads"),
    "ctx_switches_involuntary": Metric("count", "lower", "process", "involuntary context switches, all threads"),
    "ctx_switches_voluntary_per_op": Metric(
        "count/op", "lower", "process", "(voluntary switches - start-up baseline) / operations"),
    "ctx_switches_involuntary_per_op": Metric(
        "count/op", "lower", "process", "(involuntary switches - start-up baseline) / operations"),
    "cpu_time_per_op": Metric("s/op", "lower", "process", "(user + system CPU - start-up baseline) / operations"),
    "memory_per_task": Metric("B", "lower", "process", "(peak_rss - start-up peak_rss) / live tasks"),
    "startup_peak_rss": Metric("B", "lower", "case", "peak RSS of the start-up baseline process"),
    "startup_cpu_time": Metric("s", "lower", "case", "user + system CPU of the start-up baseline process"),
    "stack_bytes": Metric("B", "info", "case", "stack size requested per thread (0: managed by the runtime)"),
    # Info fields an implementation prints per iteration (workload.toml `info_fields`): recorded, not compared.
    "default_stack_bytes": Metric("B", "info", "iteration",
                                  "stack a thread created with the runtime's defaults gets, read from the runtime"),
    "stack_inuse_per_task": Metric("B", "info", "iteration",
                                   "Go: growth of runtime.MemStats.StackInuse with all tasks alive / tasks"),
    "lost_updates": Metric("count", "info", "iteration", "mutex_counter racy mode: T x I - final"),
    "gc_cycles": Metric("count", "info", "iteration", "Go: garbage collections completed during the iteration"),
    "alloc_bytes": Metric("B", "info", "iteration", "Go: heap bytes allocated during the iteration"),
    "timer_late_p50": Metric("ns", "info", "iteration", "preemption: median of how late the iteration's sleeps ended"),
    "timer_late_max": Metric("ns", "info", "iteration",
                             "preemption: how late the latest of the iteration's sleeps ended"),
    "gomaxprocs_default": Metric("count", "info", "iteration",
                                 "Go: GOMAXPROCS the runtime chose at start, before --cpus sized it"),
    "gomaxprocs_during": Metric("count", "info", "iteration",
                                "Go: GOMAXPROCS read back inside the iteration after setting it at run time"),
    "harness_overhead": Metric("s", "lower", "case", "case wall time outside implementation processes"),
    # Server workloads (harness/kinds/server): one case per load phase, its phase in the params.
    "qps": Metric("req/s", "higher", "case",
                  "requests answered per second: closed loop, saturation (wrk); open loop, the rate achieved (oha)"),
    "latency_p50": Metric("s", "lower", "case", "median latency; open loop: oha, corrected for coordinated omission"),
    "latency_p90": Metric("s", "lower", "case", "90th percentile latency (open loop: corrected)"),
    "latency_p99": Metric("s", "lower", "case", "99th percentile latency (open loop: corrected)"),
    "latency_p999": Metric("s", "lower", "case", "99.9th percentile latency (open loop: corrected)"),
    "latency_max": Metric("s", "lower", "case", "slowest request of the measured load"),
    "errors": Metric("count", "lower", "case", "socket errors + non-2xx responses in the measured load"),
    "loadgen_cpu": Metric("CPU", "info", "case",
                          "load generator CPU time / (wall time x its CPUs); from 0.9 it may be the bottleneck"),
    "memory_per_connection": Metric(
        "B", "lower", "case",
        "(server tree memory with N idle keep-alive connections - before them) / N; PSS where available"),
    "memory_with_connections": Metric(
        "B", "lower", "case", "server tree memory with N idle keep-alive connections open; PSS where available"),
    "peak_tree_rss": Metric("B", "lower", "case",
                            "largest summed RSS of the server's process tree, sampled during the phase"),
    "peak_tree_pss": Metric("B", "lower", "case",
                            "largest summed PSS of the server's process tree (shared pages counted once)"),
    "time_to_ready": Metric("s", "lower", "process",
                            "process start -> first 200 answer to GET /plaintext, one value per fresh start"),
    "ctx_switches_per_request": Metric(
        "count/req", "lower", "process",
        "(voluntary + involuntary switches - start-up baseline) / requests the server process answered"),
    "cpu_time_per_request": Metric(
        "s/req", "lower", "process", "(user + system CPU - start-up baseline) / requests the server process answered"),
}


@dataclass(frozen=True)
class Row:
    metric: str
    process: int | None
    iteration: int | None
    value: float

    def __post_init__(self) -> None:
        if self.metric not in METRICS:  # every figure the code emits has a unit, a direction and a meaning
            raise ValueError(f"metric {self.metric!r} is not declared in harness/measure/metrics.py METRICS")

    @property
    def unit(self) -> str:
        return METRICS[self.metric].unit

    @property
    def direction(self) -> str:
        return METRICS[self.metric].direction


def process_rows(p: int, proc: ProcessRun) -> Iterator[Row]:
    """What rusage (and, in a container, the cgroup) says of one implementation process."""
    ru = proc.rusage
    yield Row("peak_rss", p, None, ru.max_rss)
    if proc.cgroup_peak:
        yield Row("container_peak_memory", p, None, proc.cgroup_peak)
    yield Row("cpu_user", p, None, ru.user)
    yield Row("cpu_system", p, None, ru.system)
    yield Row("ctx_switches_voluntary", p, None, ru.voluntary)
    yield Row("ctx_switches_involuntary", p, None, ru.involuntary)


# Info fields (workload.toml `info_fields`) stored as one row per measured iteration; stack_bytes,
# a per-case figure, is one row in `case_rows`.
INFO_METRICS = ("default_stack_bytes", "stack_inuse_per_task", "lost_updates", "gc_cycles", "alloc_bytes",
                "timer_late_p50", "timer_late_max", "gomaxprocs_default", "gomaxprocs_during")


def info_rows(result: CaseResult) -> Iterator[Row]:
    """One row per measured iteration and info field of INFO_METRICS (other fields are not stored).

    Info fields are what an implementation prints besides its checked result; they are recorded,
    never compared.
    """
    if result.status != "ok":
        return
    for p, proc in enumerate(result.processes):
        for it in proc.measured:
            for name, value in it.info.items():
                if name in INFO_METRICS:
                    yield Row(name, p, it.index, value)


def case_rows(result: CaseResult, memory_per: str = "") -> Iterator[Row]:
    """The tidy rows of one finished case (none unless its status is ok)."""
    if result.status != "ok":
        return
    base = result.baseline
    for p, proc in enumerate(result.processes):
        for it in proc.measured:
            yield Row("wall_time", p, it.index, it.elapsed)
            yield Row("throughput", p, it.index, result.operations / it.elapsed)
        yield from process_rows(p, proc)
        ru = proc.rusage
        ops = result.operations * len(proc.iterations)
        if base is not None and ops:
            yield Row("ctx_switches_voluntary_per_op", p, None, (ru.voluntary - base.voluntary) / ops)
            yield Row("ctx_switches_involuntary_per_op", p, None, (ru.involuntary - base.involuntary) / ops)
            cpu = ru.user + ru.system - base.user - base.system
            yield Row("cpu_time_per_op", p, None, cpu / ops)
            if memory_per:
                live = int(result.params[memory_per])
                yield Row("memory_per_task", p, None, (ru.max_rss - base.max_rss) / live)
    if base is not None:
        yield Row("startup_peak_rss", None, None, base.max_rss)
        yield Row("startup_cpu_time", None, None, base.user + base.system)
    yield from info_rows(result)
    stacks = {v for proc in result.processes for it in proc.iterations for k, v in it.info.items()
              if k == "stack_bytes"}
    if len(stacks) == 1:
        yield Row("stack_bytes", None, None, stacks.pop())
    yield Row("harness_overhead", None, None, result.harness_overhead)
