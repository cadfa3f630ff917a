"""A run on this host: plan the selection, check a saved plan, run it, and verify implementations.

The runner knows nothing of workload kinds beyond their protocol (harness/kinds/base.py): each
kind verifies an implementation, groups its cases into units, executes a unit and turns results
into rows. A run is two roles, which a local run plays both of on one host and a cluster run
(harness/cluster) splits between a controller and its workers: the host's part
(harness/engine/host.py) and the recorder's (harness/engine/recorder.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.catalog import Catalog
from harness.console import Console
from harness.engine.host import HostRun, Measured, interrupted, this_host
from harness.engine.ready import Readiness, prepare
from harness.engine.recorder import Recorder, RunOutcome
from harness.errors import UsageError, UserError
from harness.executors.base import Executor
from harness.host.drift import HostDrift
from harness.host.info import environment_fingerprint, host_metadata, local_environment
from harness.kinds import kind_of, plan_cases, plan_units
from harness.kinds.base import PlanContext, RunContext
from harness.kinds.batch.bank import TimeBank
from harness.kinds.batch.calibrate import CALIBRATION_GUESS
from harness.kinds.batch.kind import REFERENCE_PROFILES
from harness.manifests.model import Impl
from harness.measure.interrupts import Interrupts
from harness.measure.outcome import CaseResult
from harness.plan.estimates import with_estimates
from harness.plan.spec import CaseSpec, Plan
from harness.store.calibration import CalibrationStore
from harness.store.past import past_durations
from harness.vocab import fmt_duration


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


def check_plan(plan: Plan, catalog: Catalog, executor: Executor) -> Plan:
    """Refuse a saved plan that no longer matches the manifests here (UserError naming the first difference).

    The plan is planned again from this catalog; every case must come out the same, so that a
    run executes exactly the commands the plan shows. Returns the plan to run: the saved one, with
    the `settings` of a spec of an older schema (which has none) filled in from the same planning.
    """
    if plan.executor != executor.name:
        raise UsageError(f"--plan: made for the {plan.executor} executor; pass --executor {plan.executor}")
    for s in plan.cases:
        catalog.resolve(s)  # every manifest the plan names exists here
    impls = [catalog.impls[i] for i in dict.fromkeys(s.impl for s in plan.cases)]
    workloads = [catalog.workloads[w] for w in dict.fromkeys(s.workload for s in plan.cases)]
    fresh = {s.key: s for s in plan_cases(PlanContext(plan.profile, plan.cpus, executor), impls, workloads)}
    cases = []
    for s in plan.cases:
        now = fresh.get(s.key)
        if now is not None:  # how long to wait is the plan's to say (`plan --timeout`), not what runs
            now = replace(now, timeout=s.timeout)
        if now is not None and not s.warmup_seconds:  # an older spec's warm-ups are counted only, as planned
            now = replace(now, warmup_seconds=0.0)
        if now is not None and not s.settings:  # an older spec: what it runs is checked, its settings are today's
            s = replace(s, settings=now.settings)
        if now is None or not now.same_case(s):
            why = "is no longer planned" if now is None else _difference(s, now)
            raise UserError(f"--plan: case {s.workload}[{s.case}] {s.label} {why}; the manifests changed since "
                            "it was planned: plan again")
        cases.append(s)
    return replace(plan, cases=tuple(cases))


def _difference(old: CaseSpec, new: CaseSpec) -> str:
    a, b = old.to_dict(), new.to_dict()
    name = next(k for k in a if a[k] != b[k] and k not in ("estimate", "estimate_from"))
    return f"has {name} {b[name]!r} now, the plan says {a[name]!r}"




@dataclass(frozen=True)
class RunOptions:
    """How a run is carried out, beyond its plan: one value that `cmbench run`, the nightly and a fleet share."""

    out: Path | None = None  # the run folder (default: results/<run-id>)
    timeout: float | None = None  # --timeout: seconds per implementation process (default: the profile's)
    argv: tuple[str, ...] = ()  # the command line, recorded in run.json
    results: Path | None = None  # stored runs and calibration.json (default: the folder holding `out`)
    seed: int | None = None  # orders the processes of each unit (default: a random one; recorded either way)
    recalibrate: bool = False  # size calibrated cases again, replacing the stored sizes
    references: bool = False  # also take the kinds' run-level reference measurements (the host's OS costs)

    def with_fields(self, **fields: Any) -> RunOptions:
        """These options with some fields changed (a field this value does not have is a TypeError)."""
        if "argv" in fields:
            fields["argv"] = tuple(fields["argv"])
        return replace(self, **fields)

    @property
    def results_dir(self) -> Path | None:
        """Where stored runs and calibration.json are: `results`, else the folder that holds `out`."""
        return self.results if self.results is not None else (self.out.parent if self.out is not None else None)


def run_plan(plan: Plan, catalog: Catalog, executor: Executor, options: RunOptions | None = None, *,
             console: Console, before_case: Callable[[CaseSpec], Sequence[str]] | None = None,
             **fields: Any) -> RunOutcome:
    """Build, verify and measure every case of `plan` on this host; store each one as soon as it is done.

    `options` says how (RunOptions); keyword `fields` of RunOptions change it for this call.
    `before_case`, when given, runs before each unit's first visit (the nightly's quiet-host gate) and
    returns flags its results carry. The units' rounds are taken in turn (HostRun.execute_units).
    """
    options = (options or RunOptions()).with_fields(**fields)
    bank = TimeBank.for_profile(plan.profile)  # the run's time limit counts from here, builds included
    seed = random.randrange(2**31) if options.seed is None else options.seed
    recorder = Recorder.start(plan, catalog, out=options.out, console=console,
                              meta={"argv": list(options.argv), "host": host_metadata(catalog.root, plan.cpus),
                                    "seed": seed, "interleave": "run",
                                    **({"time_limit": bank.limit} if bank.limit else {})})
    if bank.closes is not None:
        recorder.progress.until_limit = lambda: bank.closes - bank.clock()
    meta = recorder.store.meta
    meta["environment_fingerprint"] = fingerprint = environment_fingerprint(meta)
    store = CalibrationStore(options.results if options.results is not None else recorder.store.out.parent)
    # the host's own steadiness, between visits of units, where the run takes its reference measurements
    drift = (HostDrift(plan.cpus[0], other=plan.cpus[1] if len(plan.cpus) > 1 else None)
             if options.references and plan.profile in REFERENCE_PROFILES else None)
    ctx = RunContext(catalog, executor, console, options.timeout, seed=seed, calibrations=store, environment=meta,
                     fingerprint=fingerprint, recalibrate=options.recalibrate, references=options.references,
                     bank=bank, host_spell=drift.in_spell if drift is not None else None)
    host = HostRun(ctx, plan.cpus, before_case)
    name = this_host()
    status = "complete"
    told = False  # whether the console was told that the time limit passed

    def between() -> None:
        nonlocal told
        _probe(drift, meta)
        if bank.closed() and not told:
            told = True
            console.say(f"the run's {fmt_duration(bank.limit)} time limit (profile {plan.profile}) has passed: cases "
                        "short of their precision stop after their minimum processes, flagged unconverged")

    units = host.execute_units(plan_units(plan), between=between)
    measured: Measured | None = None
    with Interrupts():  # Ctrl-C, SIGTERM and SIGHUP: reap, keep what is finished and what cases measured so far
        try:
            recorder.note_host(host.prepare(plan, name))
            for measured in units:
                recorder.record(measured, name)
            _probe(drift, meta)
            if drift is not None and drift.text():
                console.say(drift.text())
        except KeyboardInterrupt:
            status = "interrupted"
            for later in interrupted(units):  # the cases under way, as they stand
                recorder.record(later, name)
            if measured is not None and measured.result.key not in recorder.recorded:  # the signal cut its record
                recorder.record(measured, name)
            recorder.not_run("the run stopped before it (interrupted)")  # every planned case is in run.json
    return recorder.finish(status)


def _probe(drift: HostDrift | None, meta: dict[str, Any]) -> None:
    """One probe of the host's steadiness, recorded in run.json (written with the next case, or at the end)."""
    if drift is not None:
        drift.probe()
        meta["host_drift"] = drift.as_dict()


def run_cases(catalog: Catalog, executor: Executor, impls: Sequence[Impl], workloads: Sequence, *, profile: str,
              cpus: tuple[int, ...], console: Console, options: RunOptions | None = None,
              before_case: Callable[[CaseSpec], Sequence[str]] | None = None, **fields: Any) -> RunOutcome:
    """Plan the selection, then run the plan (what `cmbench run` does without --plan).

    The stored runs (estimates) and calibration.json are in `options.results_dir`, else the project's results/.
    """
    options = (options or RunOptions()).with_fields(**fields)
    plan = make_plan(catalog, executor, impls, workloads, profile=profile, cpus=cpus, timeout=options.timeout,
                     results=options.results_dir, recalibrate=options.recalibrate)
    return run_plan(plan, catalog, executor, replace(options, results=options.results_dir), console=console,
                    before_case=before_case)


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
