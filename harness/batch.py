"""The batch kind: a program that runs W warm-ups and N measured iterations and prints one JSON line each.

A batch case is a calibrated size (where the workload asks for one, harness/calibration.py), a
start-up baseline process (zero iterations) and then processes of W + N iterations until the
repetition policy stops it (harness/repetition.py). The cases of one workload case, across every
implementation, form one unit whose processes interleave in a seeded random order. Every line
every process prints is parsed and checked against the reference model at the size that ran; the
first failure ends that case with a status and the error text: it never becomes a figure.
"""

from __future__ import annotations

import itertools
import json
import random
import statistics
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from . import reference
from .calibration import CALIBRATION_GUESS, CAP, Calibration, case_key, search
from .console import comparison_tables, fmt_summary
from .hostinfo import environment
from .manifest import (
    PROFILE_SHAPES,
    Case,
    Impl,
    Param,
    ParamValue,
    ProfileShape,
    Scaling,
    TableReader,
    Variant,
    Workload,
    param_value,
    profile_tables,
)
from .metrics import Row, case_rows
from .outcome import CaseFailure, CaseKey, CaseResult, Detail, Iteration, ProcessRun
from .plan import CaseSpec, PlanContext, RunContext
from .process import ChildResult, Rusage
from .reference_bench import measure_references
from .repetition import (
    UNCONVERGED,
    BatchDetail,
    case_ci,
    next_iterations,
    process_cost,
    stop_reason,
    unconverged_flag,
)
from .stats import Interval, summarize
from .vocab import Status, fmt_seconds

# Profiles whose runs also measure the host's reference switch and creation costs (about 13 s).
REFERENCE_PROFILES = ("quick", "full")
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


def _exact(got: object, want: object) -> bool:
    """JSON values equal in type as well as value: `1.0` is not `1`, and `true` is not `1`."""
    return type(got) is type(want) and got == want


def parse_output(stdout: str, workload: Workload, params: Mapping[str, int | str],
                 warmups: int, iterations: int, wall: float | None = None) -> tuple[Iteration, ...]:
    """Parse and check one process's stdout; raise CaseFailure on any deviation from the contract.

    Lines end at "\n" only (a U+2028 inside a JSON string is no line break). Every field must
    have the JSON type the contract gives it, and the iterations of one process cannot add up to
    more than `wall`, the seconds the process ran.
    """
    lines = [line for line in stdout.split("\n") if line.strip()]
    if len(lines) != warmups + iterations:
        raise CaseFailure("verify_failed",
                          f"printed {len(lines)} lines, expected {warmups + iterations} (one per iteration)")
    out = []
    total_ns = 0
    for k, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as e:  # also integers past CPython's digit limit, deep nesting
            why = "is not JSON" if isinstance(e, json.JSONDecodeError) else f"is not usable JSON ({str(e)[:80]})"
            raise CaseFailure("verify_failed", f"line {k + 1} {why}: {line[:120]!r}") from None
        if not isinstance(obj, dict):
            raise CaseFailure("verify_failed", f"line {k + 1} is not a JSON object: {line[:120]!r}")
        want = {"workload": workload.name, "iteration": k, "warmup": k < warmups}
        for name, value in want.items():
            if not _exact(obj.get(name), value):
                raise CaseFailure("verify_failed", f"line {k + 1}: {name} is {obj.get(name)!r}, expected {value!r}")
        elapsed = obj.get("elapsed_ns")
        if isinstance(elapsed, bool) or not isinstance(elapsed, int) or elapsed <= 0:
            raise CaseFailure("verify_failed", f"line {k + 1}: elapsed_ns must be an integer > 0, got {elapsed!r}")
        total_ns += elapsed
        if wall is not None and total_ns > wall * 1e9:
            raise CaseFailure("verify_failed", f"line {k + 1}: elapsed_ns {elapsed} brings the iterations to "
                              f"{total_ns / 1e9:.6g} s, more than the process ran ({wall:.6g} s)")
        wrong = reference.check(workload.name, params, obj)  # exact types; a racy answer may lie in a range
        if wrong:
            raise CaseFailure("verify_failed", f"iteration {k}: {wrong}")
        info = {n: obj[n] for n in workload.info_fields
                if isinstance(obj.get(n), int) and not isinstance(obj.get(n), bool)}
        out.append(Iteration(k, k < warmups, elapsed / 1e9, info))
    return tuple(out)


def _check_exit(r: ChildResult, timeout: float) -> None:
    if r.timed_out:
        raise CaseFailure("timeout", f"no result after {timeout:g} s; killed. stderr: {r.stderr_tail()}")
    if r.returncode != 0:
        how = f"killed by signal {-r.returncode}" if r.returncode < 0 else f"exit status {r.returncode}"
        raise CaseFailure("crashed", f"{how}; stderr: {r.stderr_tail()}")


class _Case:
    """One spec of a unit being measured: its processes so far, the seconds they took, where they ran in the order."""

    def __init__(self, ctx: RunContext, spec: CaseSpec) -> None:
        self.spec = spec
        self.workload, self.impl, self.variant = ctx.catalog.resolve(spec)
        self.processes: list[ProcessRun] = []
        self.baseline: Rusage | None = None
        self.spent = 0.0  # seconds inside the baseline and measured processes (their walls): the budget's
        self.seconds = 0.0  # seconds the harness spent on the case, calibration included
        self.slots: list[int] = []
        self.calibrated = ""
        self.calibration: Calibration | None = None
        self.run_seed = ctx.seed
        self.seed = zlib.crc32(f"{ctx.seed}/{spec.key}".encode())  # the bootstrap's

    def launch(self, ctx: RunContext, params: Mapping[str, ParamValue], warmups: int,
               iterations: int) -> tuple[ChildResult, tuple[Iteration, ...]]:
        """One process of the implementation; its output checked line by line (CaseFailure otherwise)."""
        spec = self.spec
        began = time.perf_counter()
        try:
            args = workload_args(self.workload, params, warmups, iterations, len(spec.cpus))
            r = ctx.executor.run(self.impl, self.variant, args, cpus=spec.cpus, timeout=spec.timeout)
            _check_exit(r, spec.timeout)
            return r, parse_output(r.stdout, self.workload, params, warmups, iterations, wall=r.wall)
        finally:
            self.seconds += time.perf_counter() - began

    def prepare(self, ctx: RunContext, slot: int) -> None:
        """Size the case (a stored calibration, or a search now), then run its start-up baseline."""
        if self.spec.calibrate:
            self.spec = self.size(ctx)
            ctx.ran[self.spec.key] = self.spec
        r, _ = self.launch(ctx, self.spec.params, 0, 0)  # the same program doing no iteration
        self.spent += r.wall
        self.baseline = r.rusage
        self.slots.append(slot)

    def size(self, ctx: RunContext) -> CaseSpec:
        """The spec at its calibrated size: the plan's when it was calibrated in this environment, else the one
        stored for this environment, else (and always with --recalibrate) one searched now and stored."""
        spec = self.spec
        key = case_key(spec.workload, spec.case, spec.impl, spec.variant)
        stored = ctx.calibrations.sizes(ctx.fingerprint).get(key) if ctx.calibrations and ctx.fingerprint else None
        if stored is not None and stored.param != spec.calibrate:
            stored = None
        if not ctx.recalibrate:
            if spec.calibrated_for == ctx.fingerprint and not spec.pending:
                self.calibrated, self.calibration = "stored", stored
                return spec
            if stored is not None:
                self.calibrated, self.calibration = "stored", stored
                return spec.sized(stored.value, ctx.fingerprint)
        param = spec.calibrate
        start = min(int(c.as_dict()[param]) for c in self.workload.cases_for("verify"))
        written = next(int(c.as_dict()[param]) for c in self.workload.cases_for(spec.profile) if c.label == spec.case)

        def measure(size: int, iterations: int) -> float:
            try:
                _, its = self.launch(ctx, {**spec.params, param: size}, spec.warmups, iterations)
            except CaseFailure as f:  # the case fails at the size that failed, which its spec then shows
                self.spec = spec.sized(size, ctx.fingerprint)
                ctx.ran[spec.key] = self.spec
                raise CaseFailure(f.status, f"calibrating {param}={size}: {f}") from None
            return statistics.median(it.elapsed for it in its if not it.warmup)

        found = search(measure, param=param, start=start, cap=CAP * written, target=spec.iteration_seconds,
                       clock=time.perf_counter)
        self.calibrated, self.calibration = "run", found
        if ctx.calibrations is not None and ctx.fingerprint:
            ctx.calibrations.save(ctx.fingerprint, environment(ctx.environment), key, found)
        ctx.console.say(f"calibrated {spec.workload}[{spec.case}] {spec.label}: {param}={found.value} "
                        f"(~{fmt_seconds(found.iteration_seconds)} per iteration, {len(found.steps)} attempts, "
                        f"{found.seconds:.1f} s)")
        return spec.sized(found.value, ctx.fingerprint)

    def measure(self, ctx: RunContext, slot: int) -> None:
        """One more process, of as many iterations as the repetition policy asks."""
        iterations = next_iterations(self.spec, self.processes, self.spent)
        started = time.time()
        r, its = self.launch(ctx, self.spec.params, self.spec.warmups, iterations)
        self.spent += r.wall
        self.processes.append(ProcessRun(its, r.rusage, r.wall, r.cgroup_peak, started))
        self.slots.append(slot)

    def stop(self) -> tuple[str, Interval] | None:
        """Why the case is finished, with its CI; None while it needs another process."""
        if len(self.processes) < self.spec.processes:
            return None
        ci = case_ci(self.processes, self.seed)
        cost = process_cost(self.processes, next_iterations(self.spec, self.processes, self.spent))
        why = stop_reason(self.spec, ci, len(self.processes), self.spent, cost)
        return (why, ci) if why else None

    def result(self, status: str = Status.OK, error: str = "", stop: tuple[str, Interval] | None = None) -> CaseResult:
        spec = self.spec
        flags: tuple[str, ...] = ()
        detail = None
        if stop is not None:
            why, ci = stop
            if why in UNCONVERGED:
                flags = (unconverged_flag(spec, why, ci),)
            detail = BatchDetail(why, ci, spec.precision, self.run_seed, tuple(self.slots), self.calibrated,
                                 self.calibration)
        ok = status == Status.OK
        return CaseResult(
            key=spec.key, language=spec.language, model=spec.model, params={**spec.params, **spec.placement},
            status=status, error=error, operations=self.workload.operations_per_iteration(spec.params) if ok else 0,
            processes=tuple(self.processes) if ok else (), baseline=self.baseline if ok else None,
            seconds=self.seconds, kind="batch", flags=flags, detail=detail,
        )


def measure_unit(ctx: RunContext, unit: Sequence[CaseSpec]) -> Iterator[CaseResult]:
    """Measure the cases of one unit, their processes interleaved in a seeded random order; each result when done.

    Every case is sized and gets its start-up baseline first (in a random order); then rounds
    follow, each running one process of every unfinished case in a fresh random order, so that a
    change of the host's load spreads over every implementation instead of hitting whichever ran
    last. A case leaves the rounds when the repetition policy stops it (harness/repetition.py) or
    when it fails; a failure ends only that case.
    """
    first = unit[0]
    order = random.Random(f"{ctx.seed}/{first.workload}/{first.case}")
    slots = itertools.count()
    live: list[_Case] = []
    for case in order.sample([_Case(ctx, s) for s in unit], len(unit)):
        try:
            case.prepare(ctx, next(slots))
            live.append(case)
        except CaseFailure as f:
            yield case.result(f.status, str(f))
    while live:
        for case in order.sample(live, len(live)):
            try:
                case.measure(ctx, next(slots))
            except CaseFailure as f:
                live.remove(case)
                yield case.result(f.status, str(f))
        for case in list(live):
            stop = case.stop()
            if stop is not None:
                live.remove(case)
                yield case.result(stop=stop)


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
    scaling = _read_scaling(r, operations, by_name)

    cases: dict[str, tuple[Case, ...]] = {}
    reduced: dict[str, dict[str, ParamValue]] = {}
    shapes: dict[str, ProfileShape] = {}
    for prof, p in profile_tables(r, "the cases of this profile").items():
        default = PROFILE_SHAPES[prof]
        shape = ProfileShape(
            processes=p.int("processes", "processes per case (adaptive profiles: the minimum)", required=False,
                            default=default.processes),
            warmups=p.int("warmups", "warm-up iterations per process", required=False, default=default.warmups),
            iterations=p.int("iterations", "measured iterations per process (adaptive profiles: the minimum)",
                             required=False, default=default.iterations),
            timeout=p.number("timeout", "seconds per process", required=False, default=default.timeout),
            max_processes=p.int("max_processes", "the most processes an adaptive case runs", required=False,
                                default=default.max_processes),
            max_iterations=p.int("max_iterations", "the most measured iterations a process of an adaptive case runs",
                                 required=False, default=default.max_iterations),
            budget=p.number("budget", "seconds of measurement per case before it stops unconverged",
                            required=False, default=default.budget),
            precision=default.precision, reach=default.reach, iteration_seconds=default.iteration_seconds)
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
        memory_per=memory_per, params=tuple(params), cases=cases, reduced=reduced, shapes=shapes, calibrate=scaling,
    )


def _read_scaling(r: TableReader, operations: Sequence[str], by_name: Mapping[str, Param]) -> Scaling | None:
    """The optional `[calibrate]` table: `param` (one of `operations`) and the cases to `keep` as written."""
    t = r.table_of("calibrate", "the parameter that scales an iteration's work, calibrated per implementation")
    if not t.table:
        return None
    param = t.str("param", "the parameter whose size is calibrated, one of 'operations'")
    if param not in operations:
        raise t.fail("param", f"names '{param}', which is not one of operations ({', '.join(operations)}): only a "
                     "size that the figures are divided by can be calibrated")
    keep = tuple({k: param_value(c, k, v, by_name.get(k)) for k, v in c.table.items()}
                 for c in t.tables("keep", "parameter values of cases whose size is the point (kept as written)"))
    t.reject_unknown()
    return Scaling(param, keep)


def _guess(shape: ProfileShape, profile: str, calibrated: bool, pending: bool) -> float:
    """Seconds a case is expected to take when no stored run has it.

    Fixed repetitions: what they cost. Adaptive ones: the budget (a shared host rarely lets a case
    converge at its minimum), or the minimum where that costs more; where a case gives up once its
    budget is out of reach (`reach`, quick), the minimum: most cases stop there, converged or not.
    """
    per_iteration = shape.iteration_seconds if calibrated else ITERATION_GUESS[profile]
    seconds = ((shape.processes + 1) * PROCESS_GUESS
               + shape.processes * (shape.warmups + shape.iterations) * per_iteration)
    if shape.adaptive and shape.budget and not shape.reach:
        seconds = max(seconds, shape.budget + PROCESS_GUESS)
    return seconds + (CALIBRATION_GUESS if pending else 0.0)


class BatchKind:
    name = "batch"

    def read_workload(self, r: TableReader, common: Mapping[str, Any]) -> Workload:
        return _read_workload(r, common)

    def plan(self, ctx: PlanContext, impl: Impl, variant: Variant, workload: Workload) -> list[CaseSpec]:
        shape = workload.shape_for(ctx.profile)
        timeout = ctx.timeout or shape.timeout
        scaling = workload.calibrate if shape.iteration_seconds else None
        labels = [c.label for c in workload.cases_for(ctx.profile)]
        specs = []
        for label, case in zip(labels, workload.cases_for(ctx.profile, reduced=impl.reduced_sizes)):
            params = case.as_dict()
            args = workload_args(workload, params, shape.warmups, shape.iterations, len(ctx.cpus))
            reason = impl.unsupported_reason(workload.name, params, variant.name)
            calibrate = scaling.param if scaling is not None and scaling.applies(params) else ""
            spec = CaseSpec(
                kind=self.name, workload=workload.name, case=label, impl=impl.id, variant=variant.name,
                language=impl.language, model=impl.model, profile=ctx.profile, executor=ctx.executor.name,
                params=params, cpus=ctx.cpus, command=tuple(ctx.executor.argv(impl, variant, args, len(ctx.cpus))),
                processes=shape.processes, warmups=shape.warmups, iterations=shape.iterations, timeout=timeout,
                max_processes=shape.max_processes, max_iterations=shape.max_iterations, budget=shape.budget,
                precision=shape.precision, reach=shape.reach, calibrate=calibrate,
                iteration_seconds=shape.iteration_seconds if calibrate else 0.0,
                status=Status.UNSUPPORTED.value if reason else "", reason=reason or "")
            if calibrate:
                stored = ctx.calibrations.get(case_key(workload.name, label, impl.id, variant.name))
                spec = (spec.sized(stored.value, ctx.fingerprint) if stored is not None and stored.param == calibrate
                        else spec.unsized())
            specs.append(replace(spec, estimate=0.0 if reason else _guess(shape, ctx.profile, bool(calibrate),
                                                                          spec.pending)))
        return specs

    def units(self, specs: Sequence[CaseSpec]) -> list[list[CaseSpec]]:
        """Every implementation and variant of one case together, so that their processes interleave."""
        groups: dict[tuple, list[CaseSpec]] = {}
        for s in specs:
            groups.setdefault((s.workload, s.case, s.profile, s.cpus), []).append(s)
        return list(groups.values())

    def verify(self, ctx: RunContext, impl: Impl, variant: Variant, workload: Workload,
               cpus: tuple[int, ...]) -> list[CaseResult]:
        """Every case of the verify profile, once (one process, one iteration), every answer checked."""
        plan_ctx = PlanContext("verify", cpus, ctx.executor, timeout=ctx.timeout)
        return [next(measure_unit(ctx, [spec])) if not spec.status else
                CaseResult(spec.key, spec.language, spec.model, {**spec.params, **spec.placement}, spec.status,
                           spec.reason) for spec in self.plan(plan_ctx, impl, variant, workload)]

    def execute(self, ctx: RunContext, unit: Sequence[CaseSpec]) -> Iterator[CaseResult]:
        return measure_unit(ctx, unit)

    def rows(self, result: CaseResult, workload: Workload) -> Iterator[Row]:
        return case_rows(result, workload.memory_per)

    def progress(self, result: CaseResult) -> str:
        walls = [it.elapsed for p in result.processes for it in p.measured]
        text = fmt_summary(summarize(walls)) if walls else "ok"
        d = result.detail
        if isinstance(d, BatchDetail):
            text += f", CI ±{d.ci.half_width:.1%}, {len(result.processes)} processes, {d.stop}"
            if d.calibration is not None or d.calibrated:
                param = d.calibration.param if d.calibration else ""
                text += f", {param}={result.params.get(param)}" if param else ""
        return text

    def table(self, results: Sequence[CaseResult], rows: Mapping[CaseKey, Sequence[Row]]) -> str:
        return comparison_tables(results, rows) if results else ""

    def read_detail(self, d: Mapping[str, Any]) -> Detail:
        return BatchDetail.from_dict(d)

    def before_run(self, ctx: RunContext, specs: Sequence[CaseSpec]) -> dict[str, Any]:
        """The host's own switch and creation costs (perf bench sched pipe, fork vs thread), once per quick
        or full run, as the reference the claims ledger judges the implementations' hand-offs against."""
        if not ctx.references or not specs or specs[0].profile not in REFERENCE_PROFILES:
            return {}
        ctx.console.say("reference measurements: perf bench sched pipe, fork and pthread_create on one CPU")
        return {"reference_measurements": measure_references(min(specs[0].cpus)).as_dict()}

