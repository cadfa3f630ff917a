"""What a server phase records beyond rusage: the load generator's report and the phase's context.

`PhaseDetail` is the typed `detail` of a server case result; rows, the terminal table and
run.json (under a case's `extra`) read it, and it round-trips through JSON for results that
cross machines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .idle import IdleMeasurement
from .loadgen import LoadResult

DETAIL_SCHEMA = 1


@dataclass(frozen=True)
class LoadSummary:
    """A primer or warm-up load: only how much it sent."""

    requests: int
    duration: float

    @property
    def qps(self) -> float:
        return self.requests / self.duration if self.duration > 0 else 0.0

    @classmethod
    def of(cls, load: LoadResult | None) -> LoadSummary | None:
        return None if load is None else cls(load.requests, load.duration)

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "duration": self.duration, "qps": round(self.qps, 1)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> LoadSummary | None:
        return None if d is None else cls(int(d["requests"]), float(d["duration"]))


@dataclass(frozen=True)
class PhaseDetail:
    """One measured server phase: closed or open loop (`load`) or idle connections (`idle`)."""

    phase: str  # "closed", "open" or "idle"
    requests_served: int  # every request the phase's server process answered (primer and warm-up too)
    host_loadavg: tuple[float, ...] = ()
    server_exit: int | None = None
    load: LoadResult | None = None  # the measured load
    primer: LoadSummary | None = None
    warmup: LoadSummary | None = None
    loadgen_cpu: float | None = None  # the generator's CPU time / (wall x its CPUs)
    target_qps: float | None = None  # open loop: the rate asked
    idle: IdleMeasurement | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": DETAIL_SCHEMA, "phase": self.phase, "requests_served": self.requests_served,
                               "host_loadavg": list(self.host_loadavg), "server_exit": self.server_exit}
        if self.load is not None:
            out.update(load=self.load.as_dict(), primer=_or_none(self.primer), warmup=_or_none(self.warmup),
                       loadgen_cpu=self.loadgen_cpu)
        if self.target_qps is not None:
            out["target_qps"] = self.target_qps
        if self.idle is not None:
            out["idle"] = self.idle.as_dict()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PhaseDetail:
        return cls(
            phase=d["phase"], requests_served=int(d["requests_served"]),
            host_loadavg=tuple(float(x) for x in d.get("host_loadavg", ())), server_exit=d.get("server_exit"),
            load=LoadResult.from_dict(d["load"]) if d.get("load") else None,
            primer=LoadSummary.from_dict(d.get("primer")), warmup=LoadSummary.from_dict(d.get("warmup")),
            loadgen_cpu=d.get("loadgen_cpu"), target_qps=d.get("target_qps"),
            idle=IdleMeasurement.from_dict(d["idle"]) if d.get("idle") else None,
        )


def _or_none(summary: LoadSummary | None) -> dict[str, Any] | None:
    return None if summary is None else summary.to_dict()
