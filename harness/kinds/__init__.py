"""Workload kinds: one small protocol (base.py), two implementations (batch, server), one explicit registry.

A kind knows how its workloads are written down (the kind-specific part of workload.toml), how
to plan their cases, how to verify an implementation, how to execute a unit of cases, how a
result becomes tidy rows, and how the terminal shows it. The engine only ever calls this
protocol; a new kind is one new sub-package and one line in `KINDS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from harness.errors import UserError
from harness.kinds.base import Kind, PlanContext
from harness.kinds.batch.kind import BatchKind
from harness.kinds.server.kind import ServerKind
from harness.manifests.model import Impl, Workload
from harness.measure.outcome import CaseResult
from harness.plan.spec import CaseSpec, Plan

T = TypeVar("T", CaseSpec, CaseResult)

KINDS: Mapping[str, Kind] = {"batch": BatchKind(), "server": ServerKind()}


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise UserError(f"unknown workload kind '{name}'; known: {', '.join(KINDS)}") from None


def plan_cases(ctx: PlanContext, impls: Iterable[Impl], workloads: Iterable[Workload]) -> list[CaseSpec]:
    """Every case of the selection: implementation by implementation, variant by variant, workload by workload
    (a variant whose impl.toml names `profiles` only in runs of those, unless the selection names it)."""
    workloads = list(workloads)
    specs = []
    for impl in impls:
        for variant in (v for v in impl.variants if v.runs_in(ctx.profile)):
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


def by_kind(items: Iterable[T]) -> dict[str, list[T]]:
    """Specs or results by the name of their kind, in order of first appearance."""
    out: dict[str, list[T]] = {}
    for item in items:
        out.setdefault(item.kind, []).append(item)  # type: ignore[attr-defined]
    return out
