"""The orchestration of a run: toolchains -> build -> verify -> measure -> store.

Each step is a plain function over the catalog's manifests and an executor, so the CLI stays
thin and tests can drive a run with a fake executor.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .batch import BatchPlan, run_batch_case
from .catalog import Catalog
from .console import Console, comparison_tables
from .errors import UserError
from .executors import Executor
from .hostinfo import host_metadata
from .http import (
    Setup,
    iter_server_cases,
    make_setup,
    measure_headroom,
    phases_for,
    server_rows,
    server_table,
    split_cpus,
    status_cases,
    verify_case,
)
from .manifest import Impl, Variant, Workload
from .metrics import case_rows
from .outcome import CaseKey, CaseResult
from .store import RunStore, new_run_id
from .vocab import FAILED


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


@dataclass(frozen=True)
class Group:
    """The cases of one implementation variant on one workload."""

    impl: Impl
    variant: Variant
    workload: Workload
    plans: tuple[BatchPlan, ...]
    unsupported: tuple[tuple[BatchPlan, str], ...] = ()


def plan_groups(impls: Sequence[Impl], workloads: Sequence[Workload], profile: str,
                cpus: tuple[int, ...], executor_name: str) -> Iterator[Group]:
    for impl in impls:
        for variant in impl.variants:
            for w in workloads:
                if w.name not in impl.workloads or not variant.applies_to(w.name):
                    continue
                if w.kind == "server":  # its phases are planned by harness.http
                    yield Group(impl, variant, w, ())
                    continue
                labels = [c.label for c in w.cases_for(profile)]
                plans, unsupported = [], []
                for label, case in zip(labels, w.cases_for(profile, reduced=impl.reduced_sizes)):
                    plan = BatchPlan(w, case, label, impl, variant, w.shape_for(profile), cpus, executor_name)
                    reason = impl.unsupported_reason(w.name, case.as_dict())
                    if reason:
                        unsupported.append((plan, reason))
                    else:
                        plans.append(plan)
                yield Group(impl, variant, w, tuple(plans), tuple(unsupported))


def _status_only(plan: BatchPlan, status: str, error: str) -> CaseResult:
    return CaseResult(key=plan.key, language=plan.impl.language, model=plan.impl.model,
                      params=plan.params, status=status, error=error)


def verify_group(executor: Executor, group: Group, cpus: tuple[int, ...], executor_name: str,
                 timeout: float | None) -> list[CaseResult]:
    """Run the group's verify-profile cases once each (smallest sizes, every answer checked)."""
    if group.workload.kind == "server":  # verification only, no load
        return [verify_case(_server_setup(executor, group, "verify", cpus, executor_name, timeout))]
    results = []
    for g in plan_groups([group.impl], [group.workload], "verify", cpus, executor_name):
        if g.variant != group.variant:
            continue
        for plan in g.plans:
            results.append(run_batch_case(executor, plan, timeout=timeout))
        results.extend(_status_only(p, "unsupported", why) for p, why in g.unsupported)
    return results


def _server_setup(executor: Executor, group: Group, profile: str, cpus: tuple[int, ...], executor_name: str,
                  timeout: float | None) -> Setup:
    server, load = split_cpus(cpus, sorted(os.sched_getaffinity(0)))
    return make_setup(executor, group.impl, group.variant, group.workload, profile, server, load, timeout=timeout,
                      executor_name=executor_name)


def _server_cases(executor: Executor, group: Group, state: Readiness, profile: str, cpus: tuple[int, ...],
                  timeout: float | None) -> Iterator[CaseResult]:
    """Every phase of a server workload (harness.http), or each with the build's status when it cannot run."""
    setup = _server_setup(executor, group, profile, cpus, executor.name, timeout)
    if state.status != "ok":
        return status_cases(setup, state.status, state.message)
    return iter_server_cases(setup)


@dataclass
class RunOutcome:
    results: list[CaseResult] = field(default_factory=list)
    rows: dict[CaseKey, list] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.status in FAILED]


def loadgen_headroom(workload: Workload, profile: str, cpus: tuple[int, ...], console: Console) -> dict:
    """wrk's ceiling on the load CPUs against a trivial responder on the server CPUs, for the report."""
    server, load = split_cpus(cpus, sorted(os.sched_getaffinity(0)))
    prof = workload.servers[profile]
    if not load or not prof.connections:
        return {"error": "no CPU left for the load generator" if not load else "no closed-loop phase"}
    try:
        found = measure_headroom(server, load, duration=prof.duration, connections=[max(prof.connections)],
                                 tools=("wrk",))
    except UserError as e:
        return {"error": str(e)}
    best = max(found, key=lambda h: h.load.qps)
    console.say(f"load generator headroom: wrk {best.load.qps:,.0f} req/s against a trivial responder "
                f"(wrk CPU {best.loadgen_cpu:.2f}, responder CPU {best.responder_cpu:.2f})")
    return {"runs": [h.as_dict() for h in found]}


def _raise_interrupt(signum, frame):  # SIGTERM behaves like Ctrl-C: reap, keep what is finished
    raise KeyboardInterrupt


def run_cases(catalog: Catalog, executor: Executor, impls: Sequence[Impl], workloads: Sequence[Workload],
              *, profile: str, cpus: tuple[int, ...], out: Path | None, console: Console,
              timeout: float | None = None, argv: Sequence[str] = ()) -> RunOutcome:
    """Build, verify and measure every selected case; store each one as soon as it is done."""
    run_id = new_run_id()
    out = out or catalog.root / "results" / run_id
    host = host_metadata(catalog.root)
    store = RunStore.create(out, run_id, {"profile": profile, "executor": executor.name, "cpus": list(cpus),
                                          "argv": list(argv), "host": host})
    outcome = RunOutcome()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        ready = prepare(executor, impls, console)
        store.meta["toolchains"] = {k: v.version for k, v in ready.items()}
        store.meta["builds"] = {k: {"status": v.status, "seconds": round(v.build_seconds, 2), "error": v.message}
                                for k, v in ready.items()}
        groups = list(plan_groups(impls, workloads, profile, cpus, executor.name))
        servers = [w for w in workloads if w.kind == "server"]
        if servers and any(g.workload.kind == "server" and ready[g.impl.id].status == "ok" for g in groups):
            store.meta["loadgen_headroom"] = loadgen_headroom(servers[0], profile, cpus, console)
            store.flush()
        total = sum(len(g.plans) + len(g.unsupported) for g in groups)
        total += sum(len(phases_for(g.workload.servers[profile])) for g in groups if g.workload.kind == "server")
        done = 0

        def record(result: CaseResult, memory_per: str = "", rows: list | None = None) -> None:
            nonlocal done
            rows = list(case_rows(result, memory_per)) if rows is None else rows
            store.add(result, rows)
            outcome.results.append(result)
            outcome.rows[result.key] = rows
            done += 1
            console.case_done(done, total, result)

        for g in groups:
            if g.workload.kind == "server":
                for result in _server_cases(executor, g, ready[g.impl.id], profile, cpus, timeout):
                    record(result, rows=list(server_rows(result)))
                continue
            for plan, why in g.unsupported:
                record(_status_only(plan, "unsupported", why))
            state = ready[g.impl.id]
            if state.status != "ok":
                for plan in g.plans:
                    record(_status_only(plan, state.status, state.message))
                continue
            bad = [r for r in verify_group(executor, g, cpus, executor.name, timeout) if r.status in FAILED]
            for plan in g.plans:
                if bad:
                    record(_status_only(plan, bad[0].status, f"verify [{bad[0].key.case}]: {bad[0].error}"))
                else:
                    record(run_batch_case(executor, plan, timeout=timeout), g.workload.memory_per)
        store.finish("complete")
    except KeyboardInterrupt:
        outcome.interrupted = True
        store.finish("interrupted")
    finally:
        signal.signal(signal.SIGTERM, previous)
    servers = {w.name for w in workloads if w.kind == "server"}
    tables = (comparison_tables([r for r in outcome.results if r.key.workload not in servers], outcome.rows),
              server_table(outcome.results, outcome.rows))
    outcome_text = "\n\n".join(t for t in tables if t)
    if outcome_text:
        print(outcome_text)
    console.say(f"results: {out}")
    return outcome
