"""Measurements as immutable value objects: what one case produced, and how it ended.

A `CaseResult` is the unit that crosses processes and machines (a cluster worker sends it back
to the controller): `to_dict` gives plain JSON values with a format version, `from_dict` reads
them back. The kind-specific part (`detail`, e.g. a server phase's load generator report) is
typed by its kind, which passes its own reader to `from_dict`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from harness.errors import UserError
from harness.measure.process import Rusage
from harness.vocab import Status

RESULT_SCHEMA = 1


class CaseFailure(Exception):
    """Ends a case with `status` and a message; it never becomes a figure."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


class Detail(Protocol):
    """What a kind records of a case beyond processes and iterations (typed; JSON via to_dict)."""

    def to_dict(self) -> dict[str, Any]: ...


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
    started: float = 0.0  # when it was spawned, seconds since the epoch (0: not recorded)

    @property
    def measured(self) -> tuple[Iteration, ...]:
        return tuple(i for i in self.iterations if not i.warmup)

    def to_dict(self) -> dict[str, Any]:
        return {"iterations": [[i.index, i.warmup, i.elapsed, dict(i.info)] for i in self.iterations],
                "rusage": asdict(self.rusage), "wall": self.wall, "cgroup_peak": self.cgroup_peak,
                "started": self.started}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ProcessRun:
        its = tuple(Iteration(int(k), bool(w), float(e), dict(info)) for k, w, e, info in d["iterations"])
        return cls(its, Rusage(**d["rusage"]), float(d["wall"]), int(d.get("cgroup_peak", 0)),
                   float(d.get("started", 0.0)))


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
    operations: int = 0  # operations per iteration (batch) or requests served (server)
    processes: tuple[ProcessRun, ...] = ()
    baseline: Rusage | None = None
    seconds: float = 0.0  # wall time of the whole case in the harness
    kind: str = "batch"  # the workload kind that produced it (harness/kinds/base.py)
    flags: tuple[str, ...] = ()  # why an ok figure should be read with care (generator bound, busy host, ...)
    detail: Detail | None = None  # the kind's typed record of the case

    @property
    def harness_overhead(self) -> float:
        """Time the case spent outside implementation processes (spawn, parse, check)."""
        inside = sum(p.wall for p in self.processes)
        return max(0.0, self.seconds - inside) if self.processes else 0.0

    @property
    def failed(self) -> bool:
        return Status(self.status).failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA, "kind": self.kind, "key": asdict(self.key), "language": self.language,
            "model": self.model, "params": dict(self.params), "status": self.status, "error": self.error,
            "operations": self.operations, "processes": [p.to_dict() for p in self.processes],
            "baseline": asdict(self.baseline) if self.baseline else None, "seconds": self.seconds,
            "flags": list(self.flags), "detail": self.detail.to_dict() if self.detail is not None else None,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any],
                  read_detail: Callable[[Mapping[str, Any]], Detail] | None = None) -> CaseResult:
        schema = d.get("schema")
        if schema != RESULT_SCHEMA:
            raise UserError(f"case result: schema {schema!r}, this cmbench reads {RESULT_SCHEMA}; "
                            "run the same cmbench version everywhere")
        detail = d.get("detail")
        return cls(
            key=CaseKey(**d["key"]), language=d["language"], model=d["model"], params=dict(d["params"]),
            status=d["status"], error=d["error"], operations=int(d["operations"]),
            processes=tuple(ProcessRun.from_dict(p) for p in d["processes"]),
            baseline=Rusage(**d["baseline"]) if d.get("baseline") else None, seconds=float(d["seconds"]),
            kind=d["kind"], flags=tuple(d.get("flags", ())),
            detail=read_detail(detail) if detail is not None and read_detail else None,
        )
