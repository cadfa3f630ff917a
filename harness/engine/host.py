"""One host's part of a run: build once, verify each implementation variant once per workload, execute units."""

from __future__ import annotations

import platform
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from harness.engine.ready import Readiness, prepare
from harness.errors import UserError
from harness.host.gate import OthersWatch
from harness.host.info import host_metadata
from harness.kinds import by_kind, kind_of
from harness.kinds.base import PAUSE, Pause, RunContext
from harness.measure.affinity import kept_off
from harness.measure.outcome import CaseResult
from harness.plan.spec import CaseSpec, Plan
from harness.vocab import Status

READY_SCHEMA = 1


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


def _thrown(results: Iterator[Any]) -> Iterator[Any]:
    """A kind's paused results after a KeyboardInterrupt is thrown into them: whatever they still yield, then the
    interrupt (at once where the kind keeps nothing)."""
    try:
        first = results.throw(KeyboardInterrupt())
    except StopIteration:
        return
    yield first
    yield from results


def interrupted(units: Iterator[Any]) -> Iterator[Measured]:
    """What `units` (HostRun.execute_units or execute_unit, paused) still hand back once a KeyboardInterrupt is
    thrown into them: the cases they had under way, as they stand; nothing once they are done."""
    try:
        for got in _thrown(units):
            if got is not PAUSE:
                yield got
    except KeyboardInterrupt:
        return


class HostRun:
    """One host's part of a run: builds once, verifies each implementation variant once per workload, executes units.

    The local runner drives one; a cluster worker drives one per run it takes part in.
    `before_case`, when given, runs before each unit's first visit (a quiet-host gate, say) and returns flags
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
        return HostReport(name, host_metadata(catalog.root, plan.cpus), {i: self.ready[i] for i in plan.impls},
                          measured)

    def execute_units(self, units: Sequence[Sequence[CaseSpec]],
                      between: Callable[[], None] = lambda: None) -> Iterator[Measured]:
        """Every case of every unit, each as soon as it is known, the units' rounds taken in turn.

        A unit whose kind pauses between rounds (PAUSE, harness/kinds/base.py) goes to the back of the
        queue there: the first pass gives every unit its preparation and first round, the passes after
        it one more round of each case still measuring. So a case's processes sample the host over the
        whole run, not over the minute its unit would otherwise have lasted: a slow spell of the host
        touches a few processes of many cases instead of every process of a few, and a second run's
        medians land where the first's did. `between` runs before each visit of a unit.

        On KeyboardInterrupt (raised here or thrown in by the caller), every unit still under way gets it
        too and hands back its cases as they stand (`interrupted`), before it goes on to the caller.
        """
        queue = deque(self.execute_unit(unit, pausing=True) for unit in units)
        unit: Iterator[Measured | Pause] | None = None
        try:
            while queue:
                unit = queue.popleft()
                between()
                for measured in unit:
                    if measured is PAUSE:
                        queue.append(unit)
                        break
                    yield measured
        except KeyboardInterrupt:  # the run stops: what the paused units' cases measured so far is kept
            for other in dict.fromkeys(u for u in (unit, *queue) if u is not None):
                yield from interrupted(other)
            raise

    def execute_unit(self, unit: Sequence[CaseSpec], stop: Callable[[], bool] = lambda: False,
                     pausing: bool = False) -> Iterator[Measured | Pause]:
        """Every case of `unit`, each as soon as it is known; `stop` is asked before each verification and result.

        A unit may hold several implementations (the batch kind interleaves them): each is verified
        on its own, and a failure leaves out that implementation only. With `pausing`, the kind's PAUSE
        is passed on (execute_units); without, the unit runs to its end.
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
        # the harness's threads on the other CPUs, where the host has some; a load generator's CPUs are busy too
        measured = sorted({c for s in todo for c in (*s.cpus, *s.load_cpus)})
        results = kind.execute(self.ctx, todo)
        stopping = False
        while True:  # one visit: the threads go back between visits, another unit may measure other CPUs meanwhile
            try:
                with kept_off(measured):
                    for result in results:
                        if isinstance(result, Pause):
                            if pausing:
                                break
                            continue
                        if stop():
                            return
                        flags = gate + tuple(watch.flags())
                        if flags and result.status == Status.OK:
                            result = replace(result, flags=result.flags + flags)
                        ran = next(s for s in todo if s.key == result.key).as_ran(result.params,
                                                                                  self.ctx.fingerprint)
                        yield Measured(result, provenance[result.key.impl], ran)
                    else:
                        return
                yield PAUSE
            except KeyboardInterrupt:  # the run stops: the kind hands back its cases as they stand, then it goes on
                if stopping:
                    raise
                stopping, results = True, _thrown(results)
