"""The batch kind: a program that runs W warm-ups and N measured iterations and prints one JSON line each.

A batch case is a start-up baseline process (zero iterations) and then P processes of W + N
iterations. Every line every process prints is parsed and checked against the reference model;
the first failure ends the case with a status and the error text: it never becomes a figure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from . import reference
from .console import comparison_tables, fmt_summary
from .manifest import (
    PROFILE_SHAPES,
    Case,
    Impl,
    Param,
    ParamValue,
    ProfileShape,
    TableReader,
    Variant,
    Workload,
    param_value,
    profile_tables,
)
from .metrics import Row, case_rows
from .outcome import CaseFailure, CaseKey, CaseResult, Detail, Iteration, ProcessRun
from .plan import CaseSpec, PlanContext, RunContext
from .process import ChildResult
from .stats import summarize
from .vocab import Status

# Guesses for a plan's estimate where no stored run has the case: seconds to start and stop one
# process, and seconds per iteration in each profile.
PROCESS_GUESS = 0.3
ITERATION_GUESS = {"verify": 0.05, "smoke": 0.1, "quick": 0.3, "full": 1.0}


def workload_args(workload: Workload, params: Mapping[str, ParamValue], warmups: int, iterations: int,
                  cpus: int) -> list[str]:
    """`<workload> --param value ... --warmups W --iterations N --cpus P` (the batch contract)."""
    flags = {p.name: p.flag for p in workload.params}
    words = [workload.name]
    for name, value in params.items():
        words += [flags[name], str(value)]
    return words + ["--warmups", str(warmups), "--iterations", str(iterations), "--cpus", str(cpus)]


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


def run_batch_case(ctx: RunContext, spec: CaseSpec) -> CaseResult:
    """Measure one case: a start-up baseline, then the spec's processes; the status says whether figures count."""
    workload, impl, variant = ctx.catalog.resolve(spec)
    began = time.perf_counter()
    processes: list[ProcessRun] = []
    baseline = None
    ncpus = len(spec.cpus)

    def run(warmups: int, iterations: int) -> ChildResult:
        args = workload_args(workload, spec.params, warmups, iterations, ncpus)
        r = ctx.executor.run(impl, variant, args, cpus=spec.cpus, timeout=spec.timeout)
        _check_exit(r, spec.timeout)
        return r

    try:
        r = run(0, 0)  # the start-up baseline: the same program doing no iteration
        parse_output(r.stdout, workload, spec.params, 0, 0)
        baseline = r.rusage
        for _ in range(spec.processes):
            r = run(spec.warmups, spec.iterations)
            its = parse_output(r.stdout, workload, spec.params, spec.warmups, spec.iterations)
            processes.append(ProcessRun(its, r.rusage, r.wall, r.cgroup_peak))
        status, error = Status.OK, ""
    except CaseFailure as f:
        status, error, processes, baseline = f.status, str(f), [], None
    return CaseResult(
        key=spec.key, language=spec.language, model=spec.model, params={**spec.params, **spec.placement},
        status=status, error=error, operations=workload.operations_per_iteration(spec.params),
        processes=tuple(processes), baseline=baseline, seconds=time.perf_counter() - began, kind="batch",
    )


def _read_workload(r: TableReader, common: Mapping[str, Any]) -> Workload:
    name = common["name"]
    params_table = r.table_of("params", "one table per parameter", required=True)
    params = []
    for pname in params_table.table:
        p = params_table.table_of(pname, "the parameter's help and choices")
        params.append(Param(pname, p.str("help", "what the parameter means"),
                            p.strings("choices", "allowed words", required=False)))
        p.reject_unknown()
    params_table.allow(*params_table.table)
    by_name = {p.name: p for p in params}
    operations = r.strings("operations", "parameters whose product is the operations per iteration")
    for op in operations:
        if op not in by_name:
            raise r.fail("operations", f"names '{op}', which is not under [params]")
    memory_per = r.str("memory_per", "parameter counting live tasks", required=False)
    if memory_per and memory_per not in by_name:
        raise r.fail("memory_per", f"names '{memory_per}', which is not under [params]")

    cases: dict[str, tuple[Case, ...]] = {}
    reduced: dict[str, dict[str, ParamValue]] = {}
    shapes: dict[str, ProfileShape] = {}
    for prof, p in profile_tables(r, "the cases of this profile").items():
        default = PROFILE_SHAPES[prof]
        shape = ProfileShape(
            processes=p.int("processes", "processes per case", required=False, default=default.processes),
            warmups=p.int("warmups", "warm-up iterations per process", required=False, default=default.warmups),
            iterations=p.int("iterations", "measured iterations per process", required=False,
                             default=default.iterations),
            timeout=p.number("timeout", "seconds per process", required=False, default=default.timeout))
        if shape.processes < 1 or shape.iterations < 1:
            raise p.fail("processes", "and 'iterations' must be at least 1")
        if shape != default:
            shapes[prof] = shape
        raw_cases = p.tables("cases", "one inline table of parameter values per case")
        if not raw_cases:
            raise p.fail("cases", "must list at least one case")
        built = []
        for i, c in enumerate(raw_cases):
            values = {k: param_value(c, k, v, by_name.get(k)) for k, v in c.table.items()}
            absent = [n for n in by_name if n not in values]
            if absent:
                raise c.fail(absent[0], "is missing: every case sets every parameter")
            built.append(Case(name, i, tuple((n, values[n]) for n in by_name)))
        cases[prof] = tuple(built)
        red = p.table_of("reduced", "smaller sizes for implementations with reduced_sizes = true")
        reduced[prof] = {k: param_value(red, k, v, by_name.get(k)) for k, v in red.table.items()}
        p.reject_unknown()

    return Workload(
        **common, operations=operations,
        result_fields=r.strings("result_fields", "the fields every iteration prints and the harness checks"),
        info_fields=r.strings("info_fields", "fields recorded but not checked", required=False),
        memory_per=memory_per, params=tuple(params), cases=cases, reduced=reduced, shapes=shapes,
    )


class BatchKind:
    name = "batch"

    def read_workload(self, r: TableReader, common: Mapping[str, Any]) -> Workload:
        return _read_workload(r, common)

    def plan(self, ctx: PlanContext, impl: Impl, variant: Variant, workload: Workload) -> list[CaseSpec]:
        shape = workload.shape_for(ctx.profile)
        timeout = ctx.timeout or shape.timeout
        labels = [c.label for c in workload.cases_for(ctx.profile)]
        specs = []
        for label, case in zip(labels, workload.cases_for(ctx.profile, reduced=impl.reduced_sizes)):
            params = case.as_dict()
            args = workload_args(workload, params, shape.warmups, shape.iterations, len(ctx.cpus))
            reason = impl.unsupported_reason(workload.name, params, variant.name)
            guess = ((shape.processes + 1) * PROCESS_GUESS
                     + shape.processes * (shape.warmups + shape.iterations) * ITERATION_GUESS[ctx.profile])
            specs.append(CaseSpec(
                kind=self.name, workload=workload.name, case=label, impl=impl.id, variant=variant.name,
                language=impl.language, model=impl.model, profile=ctx.profile, executor=ctx.executor.name,
                params=params, cpus=ctx.cpus, command=tuple(ctx.executor.argv(impl, variant, args, len(ctx.cpus))),
                processes=shape.processes, warmups=shape.warmups, iterations=shape.iterations, timeout=timeout,
                status=Status.UNSUPPORTED.value if reason else "", reason=reason or "",
                estimate=0.0 if reason else guess))
        return specs

    def units(self, specs: Sequence[CaseSpec]) -> list[list[CaseSpec]]:
        return [[s] for s in specs]

    def verify(self, ctx: RunContext, impl: Impl, variant: Variant, workload: Workload,
               cpus: tuple[int, ...]) -> list[CaseResult]:
        """Every case of the verify profile, once (one process, one iteration), every answer checked."""
        plan_ctx = PlanContext("verify", cpus, ctx.executor, timeout=ctx.timeout)
        return [run_batch_case(ctx, spec) if not spec.status else
                CaseResult(spec.key, spec.language, spec.model, {**spec.params, **spec.placement}, spec.status,
                           spec.reason) for spec in self.plan(plan_ctx, impl, variant, workload)]

    def execute(self, ctx: RunContext, unit: Sequence[CaseSpec]) -> Iterator[CaseResult]:
        for spec in unit:
            yield run_batch_case(ctx, spec)

    def rows(self, result: CaseResult, workload: Workload) -> Iterator[Row]:
        return case_rows(result, workload.memory_per)

    def progress(self, result: CaseResult) -> str:
        walls = [it.elapsed for p in result.processes for it in p.measured]
        return fmt_summary(summarize(walls)) if walls else "ok"

    def table(self, results: Sequence[CaseResult], rows: Mapping[CaseKey, Sequence[Row]]) -> str:
        return comparison_tables(results, rows) if results else ""

    def read_detail(self, d: Mapping[str, Any]) -> Detail:
        raise ValueError("batch results carry no detail")

    def before_run(self, ctx: RunContext, specs: Sequence[CaseSpec]) -> dict[str, Any]:
        return {}

