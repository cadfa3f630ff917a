"""Workload kinds: one small protocol, two implementations (batch, server), one explicit registry.

A kind knows how its workloads are written down (the kind-specific part of workload.toml), how
to plan their cases, how to verify an implementation, how to execute a unit of cases, how a
result becomes tidy rows, and how the terminal shows it. The runner only ever calls this
protocol; a new kind is one new module and one line in `KINDS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .errors import UserError
from .metrics import Row
from .outcome import CaseKey, CaseResult, Detail
from .plan import CaseSpec, Plan, PlanContext, RunContext

if TYPE_CHECKING:
    from .manifest import Impl, TableReader, Variant, Workload


class Kind(Protocol):
    name: str

    def read_workload(self, r: TableReader, common: Mapping[str, Any]) -> Workload:
        """The workload of a workload.toml with this `kind`; `common` holds the fields every kind shares."""

    def plan(self, ctx: PlanContext, impl: Impl, variant: Variant, workload: Workload) -> list[CaseSpec]:
        """The cases of one implementation variant on one workload, in the profile of `ctx`."""

    def units(self, specs: Sequence[CaseSpec]) -> list[list[CaseSpec]]:
        """The specs grouped into what must run together, in one place, in order."""

    def verify(self, ctx: RunContext, impl: Impl, variant: Variant, workload: Workload,
               cpus: tuple[int, ...]) -> list[CaseResult]:
        """Correctness before timing, on `cpus` (the run's): the smallest checks, every answer checked."""

    def execute(self, ctx: RunContext, unit: Sequence[CaseSpec]) -> Iterator[CaseResult]:
        """Measure a unit's cases; each result as soon as it is known. Never raises for a bad implementation."""

    def rows(self, result: CaseResult, workload: Workload) -> Iterator[Row]:
        """The tidy rows of a finished case (none unless it is ok)."""

    def progress(self, result: CaseResult) -> str:
        """What the progress line shows of an ok case."""

    def table(self, results: Sequence[CaseResult], rows: Mapping[CaseKey, Sequence[Row]]) -> str:
        """The terminal table of this kind's results; empty text when there are none."""

    def read_detail(self, d: Mapping[str, Any]) -> Detail:
        """The kind's typed `detail` from its JSON form."""

    def before_run(self, ctx: RunContext, specs: Sequence[CaseSpec]) -> dict[str, Any]:
        """Measurements the run records once, before its cases (run.json metadata)."""


def _registry() -> dict[str, Kind]:
    from .batch import BatchKind
    from .http.kind import ServerKind

    return {"batch": BatchKind(), "server": ServerKind()}


class _Kinds(Mapping[str, Kind]):
    """The registry, filled on first use (the kinds import the manifests, which look kinds up)."""

    def __init__(self) -> None:
        self._kinds: dict[str, Kind] | None = None

    def _all(self) -> dict[str, Kind]:
        if self._kinds is None:
            self._kinds = _registry()
        return self._kinds

    def __getitem__(self, name: str) -> Kind:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


KINDS: Mapping[str, Kind] = _Kinds()


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise UserError(f"unknown workload kind '{name}'; known: {', '.join(KINDS)}") from None


def plan_cases(ctx: PlanContext, impls: Iterable[Impl], workloads: Iterable[Workload]) -> list[CaseSpec]:
    """Every case of the selection: implementation by implementation, variant by variant, workload by workload."""
    workloads = list(workloads)
    specs = []
    for impl in impls:
        for variant in impl.variants:
            for w in workloads:
                if w.name in impl.workloads and variant.applies_to(w.name):
                    specs.extend(kind_of(w.kind).plan(ctx, impl, variant, w))
    return specs


def plan_units(plan: Plan) -> list[list[CaseSpec]]:
    """The plan's cases grouped by their kinds into units, in the plan's order of first appearance.

    A unit is what must run together, in one place, in order: the grain of sharding and of
    sending work to a cluster host.
    """
    groups: dict[str, list[CaseSpec]] = {}
    for s in plan.cases:
        groups.setdefault(s.kind, []).append(s)
    units = [u for kind, specs in groups.items() for u in kind_of(kind).units(specs)]
    order = {s.key: i for i, s in enumerate(plan.cases)}
    return sorted(units, key=lambda u: min(order[s.key] for s in u))


def result_from_dict(d: Mapping[str, Any]) -> CaseResult:
    """A CaseResult from its JSON form, its detail read by its kind."""
    return CaseResult.from_dict(d, kind_of(str(d.get("kind"))).read_detail)
