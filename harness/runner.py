"""Executing a plan: toolchains -> build -> verify -> measure -> store, in reusable steps.

The runner knows nothing of workload kinds beyond their protocol (harness/kinds.py): each
kind verifies an implementation, groups its cases into units, executes a unit and turns
results into rows. A run is two roles, which the local runner plays both of on one host and
the cluster runner (harness/cluster.py) splits between a controller and its workers:

- `HostRun`, the host's part: check toolchains and build once, verify each implementation
  variant once per workload, execute units (each result as soon as it is known);
- `Recorder`, the controller's part: create the run folder, store each finished case through
  the one `RunStore`, print progress, finish the run and print the tables.

Each step is a plain function or method over manifests and an executor, so the CLI stays thin
and tests can drive a run with a fake executor.
"""

from __future__ import annotations

import os
import platform
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from .calibration import CALIBRATION_GUESS, CalibrationStore
from .catalog import Catalog
from .console import Console
from .errors import UserError
from .executors import Executor
from .hostgate import OthersWatch
from .hostinfo import environment_fingerprint, host_metadata, local_environment
from .interrupts import Interrupts, signals_deferred
from .kinds import kind_of, plan_cases, plan_units
from .manifest import Impl
from .metrics import Row
from .outcome import CaseKey, CaseResult
from .plan import CaseSpec, Plan, PlanContext, RunContext, past_durations, with_estimates
from .store import RunStore, new_run_id
from .vocab import Status, fmt_duration

T = TypeVar("T", CaseSpec, CaseResult)
READY_SCHEMA = 1


@dataclass(frozen=True)
class Readiness:
    status: str  # "ok", "skipped" (toolchain missing), "timeout" (its check hung) or "build_failed"
    message: str = ""
    version: str = ""
    build_seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return Status(self.status).failed

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "version": self.version,
                "build_seconds": self.build_seconds}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Readiness:
        return cls(str(d["status"]), str(d["message"]), str(d["version"]), float(d["build_seconds"]))


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
        if tc.timed_out:
            why = f"toolchain check ({' '.join(impl.toolchain_check)}) timed out: {tc.version}"
            console.say(f"TIMEOUT {impl.id}: {why}")
            ready[impl.id] = Readiness("timeout", why, tc.version)
            continue
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
              stored_estimates: bool = True, recalibrate: bool = False) -> Plan:
    """Every case the selection holds, with the sizes calibrated in this environment and estimates from the
    newest stored runs under `results` (default: the project's results/); `recalibrate` ignores stored sizes.

    Without `stored_estimates` every estimate is the kind's guess from the profile and no stored
    size is used (sizes are calibrated where the case runs), so that the same manifests give the
    same plan on every machine (what shards planned apart rely on).
    """
    results = results if results is not None else catalog.root / "results"
    fingerprint = environment_fingerprint(local_environment(executor.name, cpus, profile))
    stored = CalibrationStore(results).sizes(fingerprint) if stored_estimates and not recalibrate else {}
    ctx = PlanContext(profile, cpus, executor, timeout=timeout, fingerprint=fingerprint, calibrations=stored)
    specs = plan_cases(ctx, impls, workloads)
    past = past_durations(results) if stored_estimates else {}
    return Plan(profile=profile, executor=executor.name, cpus=cpus,
                cases=tuple(with_estimates(specs, past, CALIBRATION_GUESS)))


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


# --- the host's part ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """A finished case as a host hands it back: the result and what identifies the artifact that ran."""

    result: CaseResult
    provenance: Mapping[str, str] = field(default_factory=dict)
    spec: CaseSpec | None = None  # the spec as it ran (a calibrated size), when it differs from the plan's


def status_result(spec: CaseSpec, status: str, error: str) -> CaseResult:
    """A case that ends without a measurement: its status and why."""
    return CaseResult(key=spec.key, language=spec.language, model=spec.model,
                      params={**spec.params, **spec.placement}, status=status, error=error, kind=spec.kind)


def preset_result(spec: CaseSpec, ready: Mapping[str, Readiness]) -> CaseResult | None:
    """The outcome of a case known without running it (unsupported, toolchain missing, build failed), else None."""
    if spec.status:
        return status_result(spec, spec.status, spec.reason)
    state = ready.get(spec.impl)
    if state is not None and state.status != "ok":
        return status_result(spec, state.status, state.message)
    return None


@dataclass(frozen=True)
class HostReport:
    """What a host did before measuring: its metadata, toolchains, builds and run-level measurements."""

    name: str
    metadata: Mapping[str, Any]
    ready: Mapping[str, Readiness]
    measured: Mapping[str, Any] = field(default_factory=dict)  # the kinds' `before_run` figures
    schema: int = READY_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema, "name": self.name, "metadata": dict(self.metadata),
                "ready": {k: v.to_dict() for k, v in self.ready.items()}, "measured": dict(self.measured)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HostReport:
        if d.get("schema") != READY_SCHEMA:
            raise UserError(f"host report: schema {d.get('schema')!r}, this cmbench reads {READY_SCHEMA}; "
                            "run the same cmbench version everywhere")
        return cls(str(d["name"]), dict(d["metadata"]), {k: Readiness.from_dict(v) for k, v in d["ready"].items()},
                   dict(d["measured"]))


def this_host() -> str:
    """The name a local run gives the host it measures on."""
    return platform.node() or "localhost"


class HostRun:
    """One host's part of a run: builds once, verifies each implementation variant once per workload, executes units.

    The local runner drives one; a cluster worker drives one per run it takes part in.
    `before_case`, when given, runs before each unit (a quiet-host gate, say) and returns flags
    that every ok result of that unit carries.
    """

    def __init__(self, ctx: RunContext, cpus: tuple[int, ...],
                 before_case: Callable[[CaseSpec], Sequence[str]] | None = None) -> None:
        self.ctx = ctx
        self.cpus = cpus  # the run's CPUs, where implementations are verified
        self.before_case = before_case
        self.ready: dict[str, Readiness] = {}
        self._verified: dict[tuple[str, str, str], CaseResult | None] = {}

    def prepare(self, plan: Plan, name: str, *, ready: Mapping[str, Readiness] | None = None) -> HostReport:
        """Toolchains and builds of the plan's implementations (reusing `ready` ones), then the kinds' `before_run`."""
        catalog, executor = self.ctx.catalog, self.ctx.executor
        known = dict(ready or {})
        todo = [catalog.impls[i] for i in plan.impls if i not in known]
        self.ready = {**known, **prepare(executor, todo, self.ctx.console)}
        runnable = [s for s in plan.cases if not s.status and self.ready[s.impl].status == "ok"]
        measured: dict[str, Any] = {}
        for kind, specs in by_kind(runnable).items():
            measured.update(kind_of(kind).before_run(self.ctx, specs))
        return HostReport(name, host_metadata(catalog.root), {i: self.ready[i] for i in plan.impls}, measured)

    def execute_unit(self, unit: Sequence[CaseSpec], stop: Callable[[], bool] = lambda: False) -> Iterator[Measured]:
        """Every case of `unit`, each as soon as it is known; `stop` is asked before each verification and result.

        A unit may hold several implementations (the batch kind interleaves them): each is verified
        on its own, and a failure leaves out that implementation only.
        """
        catalog, executor = self.ctx.catalog, self.ctx.executor
        todo = []
        provenance: dict[str, Mapping[str, str]] = {}
        for spec in unit:
            known = preset_result(spec, self.ready)
            if known is not None:
                yield Measured(known)
                continue
            if stop():
                return
            workload, impl, variant = catalog.resolve(spec)
            vkey = (workload.name, impl.id, variant.name)
            if vkey not in self._verified:
                verified = kind_of(workload.kind).verify(self.ctx, impl, variant, workload, self.cpus)
                failures = [r for r in verified if r.failed]
                self._verified[vkey] = failures[0] if failures else None
            bad = self._verified[vkey]
            if bad is not None:
                yield Measured(status_result(spec, bad.status, f"verify [{bad.key.case}]: {bad.error}"))
                continue
            if impl.id not in provenance:
                provenance[impl.id] = executor.provenance(impl)
            todo.append(spec)
        if not todo or stop():
            return
        kind = kind_of(catalog.resolve(todo[0])[0].kind)
        gate = tuple(self.before_case(todo[0])) if self.before_case else ()
        watch = OthersWatch()  # other processes' CPU while each result was measured (read after each)
        for result in kind.execute(self.ctx, todo):
            if stop():
                return
            flags = gate + tuple(watch.flags())
            if flags and result.status == Status.OK:
                result = replace(result, flags=result.flags + flags)
            yield Measured(result, provenance[result.key.impl], self.ctx.ran.pop(result.key, None))


# --- the controller's part ---------------------------------------------------------------------


@dataclass
class RunOutcome:
    results: list[CaseResult] = field(default_factory=list)
    rows: dict[CaseKey, list[Row]] = field(default_factory=dict)
    interrupted: bool = False
    out: Path | None = None
    stopped: str = ""  # why an interrupted run stopped when it was not the user (the scheduler went away, ...)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.failed]


@dataclass
class _Progress:
    """Cases done, and the time left: the plan's estimates, scaled by how the finished ones compared."""

    plan: Plan
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


class Recorder:
    """Stores every finished case of a plan through one RunStore and prints its progress line.

    Hosts are noted as they report (`hosts` in run.json); the first one's toolchains, builds and
    run-level measurements are also the run's (every host of a run has the same toolchains).
    """

    def __init__(self, plan: Plan, catalog: Catalog, store: RunStore, console: Console) -> None:
        self.plan = plan
        self.catalog = catalog
        self.store = store
        self.console = console
        self.specs = {s.key: s for s in plan.cases}
        self.outcome = RunOutcome(out=store.out)
        self.progress = _Progress(plan)
        store.meta.setdefault("hosts", {})

    @classmethod
    def start(cls, plan: Plan, catalog: Catalog, *, out: Path | None, console: Console,
              meta: Mapping[str, Any]) -> Recorder:
        """A new run folder (default results/<run-id>) whose run.json says what the run is."""
        run_id = new_run_id()
        out = out or catalog.root / "results" / run_id
        store = RunStore.create(out, run_id, {"profile": plan.profile, "executor": plan.executor,
                                              "cpus": list(plan.cpus), **meta, "plan": plan.summary()},
                                say=console.say)
        return cls(plan, catalog, store, console)

    @property
    def recorded(self) -> set[CaseKey]:
        return set(self.outcome.rows)

    def note_host(self, report: HostReport) -> None:
        meta = self.store.meta
        builds = {k: {"status": v.status, "seconds": round(v.build_seconds, 2), "error": v.message}
                  for k, v in report.ready.items()}
        if not meta["hosts"]:
            meta.setdefault("host", dict(report.metadata))
            # a cluster run's environment is its hosts' (a local run set it from this host already)
            meta.setdefault("environment_fingerprint", environment_fingerprint({**meta, "host": report.metadata}))
            meta["toolchains"] = {k: v.version for k, v in report.ready.items()}
            meta["builds"] = builds
            meta.update(report.measured)
        meta["hosts"][report.name] = {**report.metadata, "builds": builds, "measured": dict(report.measured)}
        self.store.flush()

    def record(self, measured: Measured, host: str = "") -> None:
        result = measured.result
        planned = self.specs[result.key]
        spec = measured.spec or planned  # with the size it ran at, where calibrated
        rows = list(kind_of(result.kind).rows(result, self.catalog.workloads[spec.workload]))
        self.store.add(result, rows, spec, {**measured.provenance, "host": host})  # "": no host measured it
        self.outcome.results.append(result)
        self.outcome.rows[result.key] = rows
        self.progress.done += 1
        figures = kind_of(result.kind).progress(result) if result.status == Status.OK else ""
        eta = self.progress.eta(planned, result.seconds)
        self.console.case_done(self.progress.done, len(self.plan.cases), result, figures, eta,
                               host=host if len(self.store.meta["hosts"]) > 1 else "")

    def finish(self, status: str, stopped: str = "") -> RunOutcome:
        """Close the run (`complete` or `interrupted`), print each kind's table and where the results are."""
        self.outcome.interrupted = status != "complete"
        self.outcome.stopped = stopped
        if stopped:
            self.store.meta["stopped"] = stopped
        with signals_deferred():  # a signal now waits until run.json says how the run ended
            self.store.finish(status)
        results = self.outcome.results
        tables = [kind_of(kind).table(rs, self.outcome.rows) for kind, rs in by_kind(results).items()]
        text = "\n\n".join(t for t in tables if t)
        if text:
            print(text)
        self.console.say(f"results: {self.store.out}")
        return self.outcome


def by_kind(items: Iterable[T]) -> dict[str, list[T]]:
    """Specs or results by the name of their kind, in order of first appearance."""
    out: dict[str, list[T]] = {}
    for item in items:
        out.setdefault(item.kind, []).append(item)  # type: ignore[attr-defined]
    return out


def run_plan(plan: Plan, catalog: Catalog, executor: Executor, *, out: Path | None, console: Console,
             timeout: float | None = None, argv: Sequence[str] = (),
             before_case: Callable[[CaseSpec], Sequence[str]] | None = None, results: Path | None = None,
             seed: int | None = None, recalibrate: bool = False, references: bool = False) -> RunOutcome:
    """Build, verify and measure every case of `plan` on this host; store each one as soon as it is done.

    Calibrated sizes are read from and stored in `results` (default: the folder holding the run
    folder); `seed` orders the processes of each unit (default: a random one; either way recorded
    in run.json). `references`: the kinds also take their run-level reference measurements (the
    host's switch and creation costs in quick and full runs, for the claims ledger).
    """
    seed = random.randrange(2**31) if seed is None else seed
    recorder = Recorder.start(plan, catalog, out=out, console=console,
                              meta={"argv": list(argv), "host": host_metadata(catalog.root), "seed": seed})
    meta = recorder.store.meta
    meta["environment_fingerprint"] = fingerprint = environment_fingerprint(meta)
    store = CalibrationStore(results if results is not None else recorder.store.out.parent)
    ctx = RunContext(catalog, executor, console, timeout, seed=seed, calibrations=store, environment=meta,
                     fingerprint=fingerprint, recalibrate=recalibrate, references=references)
    host = HostRun(ctx, plan.cpus, before_case)
    name = this_host()
    status = "complete"
    with Interrupts():  # Ctrl-C, SIGTERM and SIGHUP: reap, keep what is finished
        try:
            recorder.note_host(host.prepare(plan, name))
            for unit in plan_units(plan):
                for measured in host.execute_unit(unit):
                    recorder.record(measured, name)
        except KeyboardInterrupt:
            status = "interrupted"
    return recorder.finish(status)


def run_cases(catalog: Catalog, executor: Executor, impls: Sequence[Impl], workloads: Sequence, *, profile: str,
              cpus: tuple[int, ...], out: Path | None, console: Console, timeout: float | None = None,
              argv: Sequence[str] = (), before_case: Callable[[CaseSpec], Sequence[str]] | None = None,
              results: Path | None = None, seed: int | None = None, recalibrate: bool = False,
              references: bool = False) -> RunOutcome:
    """Plan the selection, then run the plan (what `cmbench run` does without --plan).

    `results` holds the stored runs (estimates) and calibration.json: by default the folder that
    holds `out`, else the project's results/.
    """
    results = results if results is not None else (out.parent if out is not None else None)
    plan = make_plan(catalog, executor, impls, workloads, profile=profile, cpus=cpus, timeout=timeout,
                     results=results, recalibrate=recalibrate)
    return run_plan(plan, catalog, executor, out=out, console=console, timeout=timeout, argv=argv,
                    before_case=before_case, results=results, seed=seed, recalibrate=recalibrate,
                    references=references)


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
