"""The batch kind: a program that runs W warm-ups and N measured iterations and prints one JSON line each.

A batch case is a calibrated size (where the workload asks for one, harness/kinds/batch/calibrate.py), a
start-up baseline process (zero iterations) and then processes of W + N iterations until the
repetition policy stops it (harness/kinds/batch/repetition.py). The cases of one workload case, across every
implementation, form one unit whose processes interleave in a seeded random order. Every line
every process prints is parsed and checked against the reference model at the size that ran; the
first failure ends that case with a status and the error text: it never becomes a figure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.host.oscosts import measure_references
from harness.kinds.base import Pause, PlanContext, RunContext
from harness.kinds.batch.calibrate import CALIBRATION_GUESS, CAP
from harness.kinds.batch.measure import measure_unit, workload_args
from harness.kinds.batch.repetition import (
    BatchDetail,
)
from harness.kinds.batch.terminal import comparison_tables, fmt_summary
from harness.kinds.batch.workload import _read_workload
from harness.manifests.model import (
    DEFAULT_VARIANT,
    PLACEMENT_PARAM,
    Impl,
    ParamValue,
    ProfileShape,
    Variant,
    Workload,
)
from harness.manifests.toml import TableReader
from harness.measure.metrics import Row, case_rows
from harness.measure.outcome import CaseFailure, CaseKey, CaseResult, Detail
from harness.measure.stats import summarize
from harness.plan.spec import CaseSpec
from harness.store.calibration import case_key
from harness.vocab import Status, params_text

UNKNOWN_FLAG = ("--no-such-flag", "1")  # what `verify` appends to a good command line: the program must exit 2


def unknown_flag(ctx: RunContext, impl: Impl, variant: Variant, workload: Workload, spec: CaseSpec) -> str:
    """Why the program did not refuse a flag it does not know with exit status 2 (the contract's usage error:
    one that ignored it would ignore a parameter added later, and measure the wrong case); "" when it did."""
    args = [*workload_args(workload, spec.params, 0, 1, len(spec.cpus), str(spec.settings.get("placed_by", ""))),
            *UNKNOWN_FLAG]
    try:
        r = ctx.executor.run(impl, variant, args, cpus=spec.cpus, timeout=spec.timeout)
    except CaseFailure as f:
        return f"given an unknown flag ({' '.join(UNKNOWN_FLAG)}): {f}"
    got = (f"ran for {spec.timeout:g} s without exiting" if r.timed_out else f"exited with status {r.returncode}")
    if r.timed_out or r.returncode != 2:
        return (f"given an unknown flag ({' '.join(UNKNOWN_FLAG)}) it {got}; a workload, flag or value it does not "
                "know must be a usage error: a message on stderr and exit status 2 (workloads/README.md, Invocation)")
    return ""


# Profiles whose runs also measure the host's reference switch and creation costs (about 13 s).
REFERENCE_PROFILES = ("quick", "full")


# Guesses for a plan's estimate where no stored run has the case: seconds to start and stop one
# process, and seconds per iteration in each profile.
PROCESS_GUESS = 0.3
ITERATION_GUESS = {"verify": 0.05, "smoke": 0.1, "quick": 0.3, "full": 1.0}


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


@dataclass(frozen=True)
class Where:
    """One placement of a case: its parameter, the CPUs the process gets, and who places its threads."""

    params: Mapping[str, ParamValue]  # {"placement": ...}, or nothing for a workload without placements
    cpus: tuple[int, ...]
    placed_by: str = ""  # "harness" (one CPU), "program" (it pins its threads), "runtime" (the OS and runtime)

    @property
    def settings(self) -> dict[str, str]:
        return {"placed_by": self.placed_by} if self.placed_by else {}


def placements(workload: Workload, impl: Impl, cpus: tuple[int, ...]) -> list[Where]:
    """Where each case of `workload` runs for `impl` on the run's `cpus`.

    `one`: the process is pinned to the run's first CPU and told `--cpus 1`. `spread`: it gets every
    CPU of the run; a program that pins its own threads (impl.toml `placement = ["spread"]`) is told
    `--placement spread`, any other is placed by its runtime and the OS, which the case records.
    A run on one CPU has no `spread` to measure.
    """
    if not workload.placements:
        return [Where({}, cpus)]
    out = []
    for name in workload.placements:
        if name == "one":
            out.append(Where({PLACEMENT_PARAM: name}, cpus[:1], "harness"))
        elif len(cpus) > 1:
            out.append(Where({PLACEMENT_PARAM: name}, cpus, "program" if name in impl.placement else "runtime"))
    return out


class BatchKind:
    name = "batch"

    def read_workload(self, r: TableReader, common: Mapping[str, Any]) -> Workload:
        return _read_workload(r, common)

    def plan(self, ctx: PlanContext, impl: Impl, variant: Variant, workload: Workload) -> list[CaseSpec]:
        """Every case of the profile, once per placement the workload names (workloads/README.md "Placement")."""
        shape = workload.shape_for(ctx.profile)
        timeout = ctx.timeout or shape.timeout
        scaling = workload.calibrate if shape.iteration_seconds else None
        written = workload.cases_for(ctx.profile)
        specs = []
        for as_written, case in zip(written, workload.cases_for(ctx.profile, reduced=impl.reduced_sizes)):
            for where in placements(workload, impl, ctx.cpus):
                params = {**case.as_dict(), **where.params}
                label = params_text({**as_written.as_dict(), **where.params})
                args = workload_args(workload, params, shape.warmups, shape.iterations, len(where.cpus),
                                     where.placed_by)
                reason = impl.unsupported_reason(workload.name, params, variant.name)
                calibrate = scaling.param if scaling is not None and scaling.applies(params) else ""
                # a calibrated size is searched from the verify profile's size up to CAP x the size as written
                bounds = {"size_from": min(int(c.as_dict()[calibrate]) for c in workload.cases_for("verify")),
                          "size_cap": CAP * int(as_written.as_dict()[calibrate])} if calibrate else {}
                spec = CaseSpec(
                    kind=self.name, workload=workload.name, case=label, impl=impl.id, variant=variant.name,
                    language=impl.language, model=impl.model, profile=ctx.profile, executor=ctx.executor.name,
                    params=params, cpus=where.cpus,
                    command=tuple(ctx.executor.argv(impl, variant, args, len(where.cpus))),
                    processes=shape.processes, warmups=shape.warmups, iterations=shape.iterations, timeout=timeout,
                    max_processes=shape.max_processes, max_iterations=shape.max_iterations, budget=shape.budget,
                    precision=shape.precision, reach=shape.reach, calibrate=calibrate,
                    iteration_seconds=shape.iteration_seconds if calibrate else 0.0,
                    warmup_seconds=shape.warmup_seconds,
                    settings={**bounds, **where.settings},
                    status=Status.UNSUPPORTED.value if reason else "", reason=reason or "")
                if calibrate:
                    stored = ctx.calibrations.get(case_key(workload.name, label, impl.id, variant.name))
                    spec = (spec.sized(stored.value, ctx.fingerprint)
                            if stored is not None and stored.param == calibrate else spec.unsized())
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
        """Every case of the verify profile, once (one process of the profile's iterations), every answer checked;
        then, for the default variant, whether the program refuses an unknown flag (`unknown_flag`)."""
        plan_ctx = PlanContext("verify", cpus, ctx.executor, timeout=ctx.timeout)
        specs = self.plan(plan_ctx, impl, variant, workload)
        results = [next(measure_unit(ctx, [spec])) if not spec.status else
                   CaseResult(spec.key, spec.language, spec.model, {**spec.params, **spec.placement}, spec.status,
                              spec.reason) for spec in specs]
        measured = [k for k, spec in enumerate(specs) if not spec.status]
        if variant.name == DEFAULT_VARIANT.name and measured and all(results[k].status == Status.OK for k in measured):
            k = measured[0]
            wrong = unknown_flag(ctx, impl, variant, workload, specs[k])
            if wrong:
                results[k] = replace(results[k], status=Status.VERIFY_FAILED, error=wrong, processes=())
        return results

    def execute(self, ctx: RunContext, unit: Sequence[CaseSpec]) -> Iterator[CaseResult | Pause]:
        # after each round a runner may take other units' rounds; when it stops, it reads the cases as they stand
        return measure_unit(ctx, unit, pausing=True, keep=True)

    def rows(self, result: CaseResult, workload: Workload) -> Iterator[Row]:
        return case_rows(result, workload.memory_per)

    def progress(self, result: CaseResult) -> str:
        walls = [it.elapsed for p in result.processes for it in p.measured]
        owners = [i for i, p in enumerate(result.processes) for _ in p.measured]
        text = fmt_summary(summarize(walls, owners)) if walls else "ok"
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
        cpus = sorted({c for s in specs for c in s.cpus})  # a case on one CPU among them: the run's CPUs
        ctx.console.say("reference measurements: perf bench sched pipe, fork and pthread_create on one CPU, a thread "
                        "hand-off across two")
        return {"reference_measurements": measure_references(cpus[0], other=cpus[1] if len(cpus) > 1 else None)
                .as_dict()}
