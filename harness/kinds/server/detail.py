"""What a server phase records beyond rusage: the load generator's report and the phase's context.

`PhaseDetail` is the typed `detail` of a server case result; rows, the terminal table and
run.json (under a case's `extra`) read it, and it round-trips through JSON for results that
cross machines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.kinds.server.idle import IdleMeasurement
from harness.kinds.server.loadgen import Latency, LoadResult
from harness.measure.memory import MemoryPeaks

DETAIL_SCHEMA = 3  # 2: bound, ceiling, probe, peak memory, start-up times, open-loop reference; 3: layout


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
    """One measured server phase: start-up, closed or pipelined or open loop (`load`), or idle connections."""

    phase: str  # "startup", "closed", "pipelined", "open" or "idle"
    requests_served: int  # every request the phase's server process answered (primer and warm-up too)
    host_loadavg: tuple[float, ...] = ()
    server_exit: int | None = None
    load: LoadResult | None = None  # the measured load
    primer: LoadSummary | None = None
    warmup: LoadSummary | None = None
    loadgen_cpu: float | None = None  # the generator's CPU time / (wall x its CPUs)
    target_qps: float | None = None  # open loop: the rate asked
    idle: IdleMeasurement | None = None
    bound: bool = False  # closed/pipelined: the load generator, not the server, set the rate (bound.py)
    ceiling_qps: float | None = None  # the generator's ceiling in this layout that the rate was compared with
    probe_qps: float | None = None  # one connection, one request at a time, just before the load
    reference_qps: float | None = None  # open loop: the rate the fractions apply to
    reference: str = ""  # open loop: what that rate is (the server's saturation or the generator's cap)
    rate_short: bool = False  # open loop: achieved below the target (its latencies are not the server's)
    peak_memory: MemoryPeaks | None = None  # the server tree's largest memory readings during the phase
    startup_seconds: tuple[float, ...] = ()  # start-up phase: process start -> first 200 response, per start
    layout: str = ""  # load phases: where the generator ran, generator.py SAME_HOST or SEPARATE ("": no generator)
    loadgen_host: str = ""  # SEPARATE: the generator's host
    relay: Mapping[str, Any] | None = None  # SEPARATE: the relay's cpu and wall seconds and cpu_per_request
    repeat_rates: tuple[float, ...] = ()  # closed/pipelined: the rates of the repeated measured loads after `load`
    idle_repeats: tuple[IdleMeasurement, ...] = ()  # idle: the readings on the repeated fresh servers after `idle`

    @property
    def server_latency(self) -> Latency | None:
        """The load's latency where it describes the server: not an open loop short of its rate (the
        generator's backlog) nor a pipelined one (wrk times whole batches; see rows.py)."""
        if self.load is None or self.rate_short or self.phase == "pipelined":
            return None
        return self.load.latency

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": DETAIL_SCHEMA, "phase": self.phase, "requests_served": self.requests_served,
                               "host_loadavg": list(self.host_loadavg), "server_exit": self.server_exit}
        if self.load is not None:
            out.update(load=self.load.as_dict(), primer=_or_none(self.primer), warmup=_or_none(self.warmup),
                       loadgen_cpu=self.loadgen_cpu, bound=self.bound, ceiling_qps=self.ceiling_qps,
                       probe_qps=self.probe_qps)
        if self.target_qps is not None:
            out.update(target_qps=self.target_qps, reference_qps=self.reference_qps, reference=self.reference,
                       rate_short=self.rate_short)
        if self.idle is not None:
            out["idle"] = self.idle.as_dict()
        if self.peak_memory is not None:
            out["peak_memory"] = {"rss": self.peak_memory.rss, "pss": self.peak_memory.pss,
                                  "samples": self.peak_memory.samples}
        if self.startup_seconds:
            out["startup_seconds"] = list(self.startup_seconds)
        if self.layout:
            out.update(layout=self.layout, loadgen_host=self.loadgen_host)
        if self.relay is not None:
            out["relay"] = dict(self.relay)
        if self.repeat_rates:
            out["repeat_rates"] = [round(r, 1) for r in self.repeat_rates]
        if self.idle_repeats:
            out["idle_repeats"] = [m.as_dict() for m in self.idle_repeats]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PhaseDetail:
        peak = d.get("peak_memory")
        return cls(
            phase=d["phase"], requests_served=int(d["requests_served"]),
            host_loadavg=tuple(float(x) for x in d.get("host_loadavg", ())), server_exit=d.get("server_exit"),
            load=LoadResult.from_dict(d["load"]) if d.get("load") else None,
            primer=LoadSummary.from_dict(d.get("primer")), warmup=LoadSummary.from_dict(d.get("warmup")),
            loadgen_cpu=d.get("loadgen_cpu"), target_qps=d.get("target_qps"),
            idle=IdleMeasurement.from_dict(d["idle"]) if d.get("idle") else None,
            bound=bool(d.get("bound", False)), ceiling_qps=d.get("ceiling_qps"), probe_qps=d.get("probe_qps"),
            reference_qps=d.get("reference_qps"), reference=d.get("reference", ""),
            rate_short=bool(d.get("rate_short", False)),
            peak_memory=MemoryPeaks(int(peak["rss"]), peak.get("pss"), int(peak["samples"])) if peak else None,
            startup_seconds=tuple(float(x) for x in d.get("startup_seconds", ())),
            layout=str(d.get("layout", "")), loadgen_host=str(d.get("loadgen_host", "")),
            relay=dict(d["relay"]) if d.get("relay") else None,
            repeat_rates=tuple(float(x) for x in d.get("repeat_rates", ())),
            idle_repeats=tuple(IdleMeasurement.from_dict(m) for m in d.get("idle_repeats", ())),
        )


def _or_none(summary: LoadSummary | None) -> dict[str, Any] | None:
    return None if summary is None else summary.to_dict()
