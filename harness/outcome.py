"""Measurements as immutable value objects: what one case produced, and how it ended."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .process import Rusage


@dataclass(frozen=True)
class Iteration:
    index: int
    warmup: bool
    elapsed: float  # seconds
    info: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessRun:
    """One implementation process: its iterations and its rusage."""

    iterations: tuple[Iteration, ...]
    rusage: Rusage
    wall: float  # seconds from spawn to reaped
    cgroup_peak: int = 0  # bytes, in a container only: the cgroup's peak (page cache and wrapper included)

    @property
    def measured(self) -> tuple[Iteration, ...]:
        return tuple(i for i in self.iterations if not i.warmup)


@dataclass(frozen=True)
class CaseKey:
    """Which case: the workload's case label (profile sizes) and the implementation/variant."""

    workload: str
    case: str
    impl: str
    variant: str


@dataclass(frozen=True)
class CaseResult:
    key: CaseKey
    language: str
    model: str
    params: Mapping[str, int | str | float]  # the values actually run, plus cpus and executor
    status: str
    error: str = ""
    operations: int = 0  # operations per iteration
    processes: tuple[ProcessRun, ...] = ()
    baseline: Rusage | None = None
    seconds: float = 0.0  # wall time of the whole case in the harness
    extra: Mapping[str, object] = field(default_factory=dict)  # server phases and the like

    @property
    def harness_overhead(self) -> float:
        """Time the case spent outside implementation processes (spawn, parse, check)."""
        inside = sum(p.wall for p in self.processes)
        return max(0.0, self.seconds - inside) if self.processes else 0.0
