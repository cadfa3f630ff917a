"""Running one batch case: a start-up baseline, then P processes of W warm-ups + N iterations.

Every line every process prints is parsed and checked against the reference model. The first
failure ends the case with a status and the error text; it never becomes a figure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import reference
from .executors import Executor
from .manifest import Case, Impl, ProfileShape, Variant, Workload
from .outcome import CaseKey, CaseResult, Iteration, ProcessRun
from .process import ChildResult


class CaseFailure(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class BatchPlan:
    """Everything needed to run one batch case."""

    workload: Workload
    case: Case  # with the sizes this implementation runs (reduced where it asks)
    label: str  # the profile's case label, shared by every implementation
    impl: Impl
    variant: Variant
    shape: ProfileShape
    cpus: tuple[int, ...]
    executor_name: str

    def args(self, warmups: int, iterations: int) -> list[str]:
        words = [self.workload.name]
        params = {p.name: p for p in self.workload.params}
        for name, value in self.case.params:
            words += [params[name].flag, str(value)]
        return words + ["--warmups", str(warmups), "--iterations", str(iterations), "--cpus", str(len(self.cpus))]

    @property
    def key(self) -> CaseKey:
        return CaseKey(self.workload.name, self.label, self.impl.id, self.variant.name)

    @property
    def params(self) -> dict[str, int | str]:
        return {**self.case.as_dict(), "cpus": len(self.cpus), "executor": self.executor_name}


def parse_output(stdout: str, workload: Workload, params: Mapping[str, int | str],
                 warmups: int, iterations: int) -> tuple[Iteration, ...]:
    """Parse and check one process's stdout; raise CaseFailure on any deviation from the contract."""
    expected = reference.expected(workload.name, params)
    lines = [line for line in stdout.splitlines() if line.strip()]
    if len(lines) != warmups + iterations:
        raise CaseFailure("verify_failed",
                          f"printed {len(lines)} lines, expected {warmups + iterations} (one per iteration)")
    out = []
    for k, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise CaseFailure("verify_failed", f"line {k + 1} is not JSON: {line[:120]!r}") from None
        if not isinstance(obj, dict):
            raise CaseFailure("verify_failed", f"line {k + 1} is not a JSON object: {line[:120]!r}")
        want = {"workload": workload.name, "iteration": k, "warmup": k < warmups}
        for name, value in want.items():
            if obj.get(name) != value:
                raise CaseFailure("verify_failed", f"line {k + 1}: {name} is {obj.get(name)!r}, expected {value!r}")
        elapsed = obj.get("elapsed_ns")
        if isinstance(elapsed, bool) or not isinstance(elapsed, int) or elapsed <= 0:
            raise CaseFailure("verify_failed", f"line {k + 1}: elapsed_ns must be an integer > 0, got {elapsed!r}")
        for name in workload.result_fields:
            if obj.get(name) != expected[name]:
                raise CaseFailure("verify_failed", f"iteration {k}: wrong {name}: got {obj.get(name)!r}, "
                                  f"expected {expected[name]}")
        info = {n: obj[n] for n in workload.info_fields if isinstance(obj.get(n), int)}
        out.append(Iteration(k, k < warmups, elapsed / 1e9, info))
    return tuple(out)


def _check_exit(r: ChildResult, timeout: float) -> None:
    if r.timed_out:
        raise CaseFailure("timeout", f"no result after {timeout:g} s; killed. stderr: {r.stderr_tail()}")
    if r.returncode != 0:
        how = f"killed by signal {-r.returncode}" if r.returncode < 0 else f"exit status {r.returncode}"
        raise CaseFailure("crashed", f"{how}; stderr: {r.stderr_tail()}")


def run_batch_case(executor: Executor, plan: BatchPlan, *, timeout: float | None = None) -> CaseResult:
    """Measure one case; the result's status says whether its figures count."""
    timeout = timeout or plan.shape.timeout
    params = plan.case.as_dict()
    began = time.perf_counter()
    processes: list[ProcessRun] = []
    try:
        # The start-up baseline: the same program doing no iteration.
        r = executor.run(plan.impl, plan.variant, plan.args(0, 0), cpus=plan.cpus, timeout=timeout)
        _check_exit(r, timeout)
        parse_output(r.stdout, plan.workload, params, 0, 0)
        baseline = r.rusage
        for _ in range(plan.shape.processes):
            r = executor.run(plan.impl, plan.variant, plan.args(plan.shape.warmups, plan.shape.iterations),
                             cpus=plan.cpus, timeout=timeout)
            _check_exit(r, timeout)
            its = parse_output(r.stdout, plan.workload, params, plan.shape.warmups, plan.shape.iterations)
            processes.append(ProcessRun(its, r.rusage, r.wall, r.cgroup_peak))
    except CaseFailure as f:
        return _result(plan, f.status, str(f), (), None, time.perf_counter() - began)
    return _result(plan, "ok", "", tuple(processes), baseline, time.perf_counter() - began)


def _result(plan: BatchPlan, status: str, error: str, processes: Sequence[ProcessRun], baseline, seconds: float):
    return CaseResult(
        key=plan.key, language=plan.impl.language, model=plan.impl.model, params=plan.params,
        status=status, error=error, operations=plan.workload.operations_per_iteration(plan.case.as_dict()),
        processes=tuple(processes), baseline=baseline, seconds=seconds,
    )
