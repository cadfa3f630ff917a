"""Executing a plan on this host: toolchains -> build -> verify -> measure -> store.

The runner knows nothing of workload kinds beyond their protocol (harness/kinds.py): each
kind verifies an implementation, groups its cases into units, executes a unit and turns
results into rows. Each step is a plain function over manifests and an executor, so the CLI
stays thin and tests can drive a run with a fake executor.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from .calibration import CALIBRATION_GUESS, CalibrationStore
from .catalog import Catalog
from .console import Console
from .errors import UserError
from .executors import Executor
from .hostinfo import environment_fingerprint, host_metadata, local_environment
from .kinds import kind_of, plan_cases
from .manifest import Impl
from .metrics import Row
from .outcome import CaseKey, CaseResult
from .plan import CaseSpec, Plan, PlanContext, RunContext, past_durations, with_estimates
from .store import RunStore, new_run_id
from .vocab import Status, fmt_duration

T = TypeVar("T", CaseSpec, CaseResult)


@dataclass(frozen=True)
class Readiness:
    status: str  # "ok", "skipped" (toolchain missing) or "build_failed"
    message: str = ""
    version: str = ""
    build_seconds: float = 0.0


def choose_cpus(count: int | None) -> tuple[int, ...]:
    allowed = sorted(os.sched_getaffinity(0))
    if count is None:
        return tuple(allowed)
    if not 1 <= count <= len(allowed):
        raise UserError(f"--cpus: must be between 1 and {len(allowed)} (the CPUs this process may use)")
    return tuple(allowed[:count])


def prepare(executor: Executor, impls: Sequence[Impl], console: Console, *, build: bool = True) -> dict[str, Readiness]:
    """Check every toolchain and build what can be built; nothing here raises for a bad impl."""
    ready = {}
    for impl in impls:
        tc = executor.toolchain(impl)
        if not tc.present:
            console.say(f"skip {impl.id}: toolchain missing ({' '.join(impl.toolchain_check)}): {impl.toolchain_hint}")
            ready[impl.id] = Readiness("skipped", f"toolchain missing: {impl.toolchain_hint}", tc.version)
            continue
        if not build:
            ready[impl.id] = Readiness("ok", "", tc.version)
            continue
        console.say(f"build {impl.id} ({tc.version})")
        b = executor.build(impl)
        if b.ok:
            ready[impl.id] = Readiness("ok", "", tc.version, b.seconds)
        else:
            console.say(f"BUILD FAILED {impl.id}: {b.log}")
            ready[impl.id] = Readiness("build_failed", b.log, tc.version, b.seconds)
    return ready


def make_plan(catalog: Catalog, executor: Executor, impls: Sequence[Impl], workloads: Sequence, *, profile: str,
              cpus: tuple[int, ...], timeout: float | None = None, results: Path | None = None,
              recalibrate: bool = False) -> Plan:
    """Every case the selection holds, with the sizes calibrated in this environment and estimates from the
    newest stored runs under `results` (default: the project's results/); `recalibrate` ignores stored sizes."""
    results = results if results is not None else catalog.root / "results"
    fingerprint = environment_fingerprint(local_environment(executor.name, cpus, profile))
    stored = {} if recalibrate else CalibrationStore(results).sizes(fingerprint)
    ctx = PlanContext(profile, cpus, executor, timeout=timeout, fingerprint=fingerprint, calibrations=stored)
    specs = plan_cases(ctx, impls, workloads)
    cases = with_estimates(specs, past_durations(results), CALIBRATION_GUESS)
    return Plan(profile=profile, executor=executor.name, cpus=cpus, cases=tuple(cases))


def check_plan(plan: Plan, catalog: Catalog, executor: Executor) -> None:
    """Refuse a saved plan that no longer matches the manifests here (UserError naming the first difference).

    The plan is planned again from this catalog; every case must come out the same, so that a
    run executes exactly the commands the plan shows.
    """
    if plan.executor != executor.name:
        raise UserError(f"--plan: made for the {plan.executor} executor; pass --executor {plan.executor}")
    for s in plan.cases:
        catalog.resolve(s)  # every manifest the plan names exists here
    impls = [catalog.impls[i] for i in dict.fromkeys(s.impl for s in plan.cases)]
    workloads = [catalog.workloads[w] for w in dict.fromkeys(s.workload for s in plan.cases)]
    fresh = {s.key: s for s in plan_cases(PlanContext(plan.profile, plan.cpus, executor), impls, workloads)}
    for s in plan.cases:
        now = fresh.get(s.key)
        if now is not None:  # how long to wait is the plan's to say (`plan --timeout`), not what runs
            now = replace(now, timeout=s.timeout)
        if now is None or not now.same_case(s):
            why = "is no longer planned" if now is None else _difference(s, now)
            raise UserError(f"--plan: case {s.workload}[{s.case}] {s.label} {why}; the manifests changed since "
                            "it was planned: plan again")


def _difference(old: CaseSpec, new: CaseSpec) -> str:
    a, b = old.to_dict(), new.to_dict()
    name = next(k for k in a if a[k] != b[k] and k not in ("estimate", "estimate_from"))
    return f"has {name} {b[name]!r} now, the plan says {a[name]!r}"


@dataclass
class RunOutcome:
    results: list[CaseResult] = field(default_factory=list)
    rows: dict[CaseKey, list[Row]] = field(default_factory=dict)
    interrupted: bool = False
    out: Path | None = None

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.failed]


def _raise_interrupt(signum, frame):  # SIGTERM behaves like Ctrl-C: reap, keep what is finished
    raise KeyboardInterrupt


def _status_result(spec: CaseSpec, status: str, error: str) -> CaseResult:
    return CaseResult(key=spec.key, language=spec.language, model=spec.model,
                      params={**spec.params, **spec.placement}, status=status, error=error, kind=spec.kind)


@dataclass
class _Progress:
    """Cases done, and the time left: the estimates of the cases not finished, scaled by how long the finished
    ones took against their own estimates (calibrations and adaptive stopping make both move).

    The scale starts at 1 and follows the finished cases as their estimates add up: it is
    (seconds taken + prior) / (seconds estimated + prior), the prior a tenth of the plan.
    """

    plan: Plan
    console: Console
    done: int = 0
    estimated_done: float = 0.0
    taken: float = 0.0

    def eta(self, spec: CaseSpec, seconds: float) -> str:
        self.estimated_done += spec.estimate
        self.taken += seconds
        left = self.plan.estimate - self.estimated_done
        if left <= 0 or self.estimated_done <= 0:
            return ""
        prior = self.plan.estimate / 10
        pace = (self.taken + prior) / (self.estimated_done + prior)
        return f"about {fmt_duration(left * pace)} left"


def _by_kind(items: Iterable[T]) -> dict[str, list[T]]:
    """Specs or results by the name of their kind, in order of first appearance."""
    out: dict[str, list[T]] = {}
    for item in items:
        out.setdefault(item.kind, []).append(item)  # type: ignore[attr-defined]
    return out


def _units(plan: Plan) -> Iterator[list[CaseSpec]]:
    """The plan's cases grouped by their kinds into units, in the plan's order of first appearance."""
    units = [u for kind, specs in _by_kind(plan.cases).items() for u in kind_of(kind).units(specs)]
    order = {s.key: i for i, s in enumerate(plan.cases)}
    yield from sorted(units, key=lambda u: min(order[s.key] for s in u))


def run_plan(plan: Plan, catalog: Catalog, executor: Executor, *, out: Path | None, console: Console,
             timeout: float | None = None, argv: Sequence[str] = (),
             before_case: Callable[[CaseSpec], Sequence[str]] | None = None, results: Path | None = None,
             seed: int | None = None, recalibrate: bool = False) -> RunOutcome:
    """Build, verify and measure every case of `plan`; store each one as soon as it is done.

    `before_case`, when given, runs before each unit (a quiet-host gate, say) and returns flags
    that every result of that unit carries. Calibrated sizes are read from and stored in
    `results` (default: the folder holding `out`, else the project's results/); `seed` orders
    the processes of each unit (default: a random one; either way recorded in run.json).
    """
    run_id = new_run_id()
    out = out or catalog.root / "results" / run_id
    seed = random.randrange(2**31) if seed is None else seed
    store = RunStore.create(out, run_id, {"profile": plan.profile, "executor": executor.name,
                                          "cpus": list(plan.cpus), "argv": list(argv),
                                          "host": host_metadata(catalog.root),
                                          "plan": {"cases": len(plan.cases), "estimate_seconds": round(plan.estimate)},
                                          "seed": seed})
    store.meta["environment_fingerprint"] = fingerprint = environment_fingerprint(store.meta)
    outcome = RunOutcome(out=out)
    ctx = RunContext(catalog, executor, console, timeout, seed=seed,
                     calibrations=CalibrationStore(results if results is not None else out.parent),
                     environment=store.meta, fingerprint=fingerprint, recalibrate=recalibrate)
    progress = _Progress(plan, console)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)

    def record(result: CaseResult, spec: CaseSpec, rows: list[Row], provenance: dict[str, str]) -> None:
        store.add(result, rows, spec, provenance)
        outcome.results.append(result)
        outcome.rows[result.key] = rows
        progress.done += 1
        figures = kind_of(result.kind).progress(result) if result.status == Status.OK else ""
        console.case_done(progress.done, len(plan.cases), result, figures, progress.eta(spec, result.seconds))

    try:
        impls = [catalog.impls[i] for i in plan.impls]
        ready = prepare(executor, impls, console)
        store.meta["toolchains"] = {k: v.version for k, v in ready.items()}
        store.meta["builds"] = {k: {"status": v.status, "seconds": round(v.build_seconds, 2), "error": v.message}
                                for k, v in ready.items()}
        runnable = [s for s in plan.cases if not s.status and ready[s.impl].status == "ok"]
        for kind, specs in _by_kind(runnable).items():
            store.meta.update(kind_of(kind).before_run(ctx, specs))
        store.flush()
        verified: dict[tuple[str, str, str], CaseResult | None] = {}
        provenance: dict[str, dict[str, str]] = {}
        for unit in _units(plan):
            todo = []
            for spec in unit:  # a unit may hold several implementations: each is verified, and fails, alone
                workload, impl, variant = catalog.resolve(spec)
                state = ready[spec.impl]
                if spec.status:
                    record(_status_result(spec, spec.status, spec.reason), spec, [], {})
                    continue
                if state.status != "ok":
                    record(_status_result(spec, state.status, state.message), spec, [], {})
                    continue
                vkey = (workload.name, impl.id, variant.name)
                if vkey not in verified:
                    failures = [r for r in kind_of(workload.kind).verify(ctx, impl, variant, workload, plan.cpus)
                                if r.failed]
                    verified[vkey] = failures[0] if failures else None
                bad = verified[vkey]
                if bad is not None:
                    record(_status_result(spec, bad.status, f"verify [{bad.key.case}]: {bad.error}"), spec, [], {})
                    continue
                if impl.id not in provenance:
                    provenance[impl.id] = executor.provenance(impl)
                todo.append(spec)
            if not todo:
                continue
            workload = catalog.resolve(todo[0])[0]
            kind = kind_of(workload.kind)
            flags = tuple(before_case(todo[0])) if before_case else ()
            specs = {s.key: s for s in todo}
            for result in kind.execute(ctx, todo):
                if flags and result.status == Status.OK:
                    result = replace(result, flags=result.flags + flags)
                ran = ctx.ran.pop(result.key, specs[result.key])  # with the size it ran at, where calibrated
                record(result, ran, list(kind.rows(result, workload)), provenance[result.key.impl])
        store.finish("complete")
    except KeyboardInterrupt:
        outcome.interrupted = True
        store.finish("interrupted")
    finally:
        signal.signal(signal.SIGTERM, previous)
    tables = [kind_of(kind).table(results, outcome.rows) for kind, results in _by_kind(outcome.results).items()]
    text = "\n\n".join(t for t in tables if t)
    if text:
        print(text)
    console.say(f"results: {out}")
    return outcome


def run_cases(catalog: Catalog, executor: Executor, impls: Sequence[Impl], workloads: Sequence, *, profile: str,
              cpus: tuple[int, ...], out: Path | None, console: Console, timeout: float | None = None,
              argv: Sequence[str] = (), before_case: Callable[[CaseSpec], Sequence[str]] | None = None,
              results: Path | None = None, seed: int | None = None, recalibrate: bool = False) -> RunOutcome:
    """Plan the selection, then run the plan (what `cmbench run` does without --plan).

    `results` holds the stored runs (estimates) and calibration.json: by default the folder that
    holds `out`, else the project's results/.
    """
    results = results if results is not None else (out.parent if out is not None else None)
    plan = make_plan(catalog, executor, impls, workloads, profile=profile, cpus=cpus, timeout=timeout,
                     results=results, recalibrate=recalibrate)
    return run_plan(plan, catalog, executor, out=out, console=console, timeout=timeout, argv=argv,
                    before_case=before_case, results=results, seed=seed, recalibrate=recalibrate)


def verify_impls(catalog: Catalog, executor: Executor, impls: Sequence[Impl], workloads: Sequence, *,
                 cpus: tuple[int, ...], console: Console, timeout: float | None = None,
                 build: bool = True) -> tuple[dict[str, Readiness], list[CaseResult]]:
    """`cmbench verify`: every implementation variant on every selected workload, smallest sizes, answers checked."""
    ready = prepare(executor, impls, console, build=build)
    ctx = RunContext(catalog, executor, console, timeout)
    results = []
    for impl in impls:
        if ready[impl.id].status != "ok":
            continue
        for variant in impl.variants:
            for w in workloads:
                if w.name in impl.workloads and variant.applies_to(w.name):
                    results.extend(kind_of(w.kind).verify(ctx, impl, variant, w, cpus))
    return ready, results
