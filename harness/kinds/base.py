"""What a workload kind is: one small protocol, and the two contexts it plans and executes in.

The engine (harness/engine) only ever calls `Kind`; each kind lives in a sub-package of its own
(harness/kinds/batch, harness/kinds/server) and is listed once in `harness.kinds.KINDS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from harness.measure.metrics import Row
from harness.measure.outcome import CaseKey, CaseResult, Detail
from harness.plan.spec import CaseSpec

if TYPE_CHECKING:
    from harness.console import Console
    from harness.executors.base import Executor
    from harness.kinds.batch.bank import TimeBank
    from harness.manifests.model import Impl, Variant, Workload
    from harness.manifests.toml import TableReader
    from harness.store.calibration import Calibration, CalibrationStore


class Resolver(Protocol):
    """Where a spec's manifests are found again by name (the catalog)."""

    def resolve(self, spec: CaseSpec) -> tuple[Workload, Impl, Variant]: ...


class Pause:
    """What a kind's `execute` may yield between two of a unit's results: the unit can wait here while the
    runner measures other units, so that each case's processes spread over the whole run instead of one
    stretch of it (a spell of a busy or slow host then touches a few processes of many cases, not every
    process of a few). A runner that does not interleave units goes straight on."""

    def __repr__(self) -> str:
        return "PAUSE"


PAUSE = Pause()


@dataclass(frozen=True)
class PlanContext:
    """What planning needs besides the manifests."""

    profile: str
    cpus: tuple[int, ...]
    executor: Executor
    allowed_cpus: tuple[int, ...] = field(default_factory=lambda: tuple(sorted(os.sched_getaffinity(0))))
    timeout: float | None = None  # --timeout: overrides the profile's per-process timeout
    fingerprint: str = ""  # the environment's (harness/host/info.py), whose stored calibrations apply
    calibrations: Mapping[str, Calibration] = field(default_factory=dict)  # stored sizes, by case key


@dataclass(frozen=True)
class RunContext:
    """What executing specs needs: where to find manifests, where to run, whom to tell."""

    catalog: Resolver
    executor: Executor
    console: Console
    timeout: float | None = None
    seed: int = 0  # orders the processes of a unit (and seeds the bootstrap): recorded in run.json
    calibrations: CalibrationStore | None = None  # where calibrated sizes are read and stored (None: not stored)
    environment: Mapping[str, Any] = field(default_factory=dict)  # the run's metadata the fingerprint is made of
    fingerprint: str = ""
    recalibrate: bool = False  # --recalibrate: calibrate again even where a size is stored
    references: bool = False  # take the host's reference measurements before the cases (`cmbench run`, nightly)
    loadgen: Any = None  # server kinds: where the load generator runs (harness/kinds/server/generator.py); None: here
    bank: TimeBank | None = None  # seconds of measurement the run lends between its cases (kinds/batch/bank.py)
    # whether the host's latest probes found it in a slow spell (harness/host/drift.py); None: not probed
    host_spell: Callable[[], bool] | None = None


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

    def execute(self, ctx: RunContext, unit: Sequence[CaseSpec]) -> Iterator[CaseResult | Pause]:
        """Measure a unit's cases; each result as soon as it is known. Never raises for a bad implementation.

        It may yield PAUSE where the unit can wait while other units are measured. When the run stops (a
        KeyboardInterrupt raised in it, or thrown in at a yield), it may yield the cases it has under way as
        they stand before the interrupt goes on: the runner reads it to the end."""

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
