"""What a load generator run produced, whichever tool ran it, and finding the tools.

wrk (closed loop) and oha (open loop) each parse their own machine-readable output into a
`LoadResult`; the phases only look at this type.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.kinds.server.settle import SETTLED, Settled
from harness.measure.process import child_env

# How to install each tool, for the messages of skipped phases.
INSTALL_HINTS = {
    "wrk": "apt-get install -y wrk (or make system-deps)",
    "oha": "cargo install --locked oha --version 1.16.0 (or make oha)",
}
REQUEST_TIMEOUT = 8.0  # seconds before a request counts as a timeout error (TechEmpower's wrk setting)


class LoadgenError(Exception):
    """The load generator failed or printed no report; the message says what it printed."""


def find_tool(name: str) -> str | None:
    """The tool's path on the PATH children get (this interpreter's bin folder first)."""
    return shutil.which(name, path=child_env()["PATH"])


@dataclass(frozen=True)
class SocketErrors:
    connect: int = 0
    read: int = 0
    write: int = 0
    timeout: int = 0
    other: Mapping[str, int] = field(default_factory=dict)  # oha's error messages and counts

    @property
    def total(self) -> int:
        return self.connect + self.read + self.write + self.timeout + sum(self.other.values())

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"connect": self.connect, "read": self.read, "write": self.write,
                                  "timeout": self.timeout}
        if self.other:
            out["other"] = dict(self.other)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SocketErrors:
        return cls(int(d["connect"]), int(d["read"]), int(d["write"]), int(d["timeout"]), dict(d.get("other", {})))


@dataclass(frozen=True)
class Latency:
    """Latency percentiles of one phase, in seconds (and the mean, where the tool gives it)."""

    p50: float
    p90: float
    p99: float
    p999: float
    max: float
    mean: float | None = None

    def as_dict(self) -> dict[str, float]:
        out = {"p50": self.p50, "p90": self.p90, "p99": self.p99, "p99.9": self.p999, "max": self.max}
        if self.mean is not None:
            out["mean"] = self.mean
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Latency:
        mean = d.get("mean")
        return cls(float(d["p50"]), float(d["p90"]), float(d["p99"]), float(d["p99.9"]), float(d["max"]),
                   None if mean is None else float(mean))


@dataclass(frozen=True)
class LoadResult:
    """One load generator process: what it sent, what came back, and what it cost its CPU."""

    tool: str
    argv: tuple[str, ...]
    requests: int  # completed requests (any status)
    duration: float  # seconds the tool measured over
    errors: SocketErrors
    non_2xx: int
    latency: Latency | None
    histogram: Mapping[str, object] | None  # histogram.described(...) or None when not kept
    cpu: float  # the tool's user + system CPU seconds
    wall: float  # the tool's wall seconds, start to exit
    pipeline: int = 1  # requests written at once per connection (wrk's latency is then per batch)
    bytes: int = 0  # response bytes read (wrk)
    settled: Settled | None = None  # how the measured run ended (settle.py); None for a fixed run

    @property
    def qps(self) -> float:
        return self.requests / self.duration if self.duration > 0 else 0.0

    @property
    def rate(self) -> float:
        """The figure a phase reports: the settled window's mean rate when the run stopped because it
        had settled (so the connections' opening, seconds at 10,000 of them, does not weigh on it),
        else requests / duration over the whole run."""
        s = self.settled
        if s is not None and s.reason == SETTLED and s.window and len(s.rates) >= s.window:
            return sum(s.rates[-s.window:]) / s.window
        return self.qps

    @property
    def cpu_utilisation(self) -> float:
        """The tool's CPU seconds per wall second (1.0 = one CPU fully busy)."""
        return self.cpu / self.wall if self.wall > 0 else 0.0

    def problems(self) -> list[str]:
        """Socket errors and non-2xx responses, which fail a phase."""
        out = []
        if self.errors.total:
            parts = [f"{k} {v}" for k, v in self.errors.as_dict().items() if k != "other" and v]
            parts += [f"{k!r} x{v}" for k, v in self.errors.other.items()]
            out.append(f"{self.errors.total} socket errors ({', '.join(parts)})")
            if self.errors.timeout and self.tool == "wrk":
                out.append(f"wrk counts a timeout each time (every 2 s) it finds a connection's request unanswered "
                           f"for over {REQUEST_TIMEOUT:g} s: the server left some connections waiting that long")
        if self.non_2xx:
            out.append(f"{self.non_2xx} non-2xx responses")
        return out

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "tool": self.tool, "argv": list(self.argv), "requests": self.requests,
            "duration": self.duration, "qps": round(self.qps, 3), "rate": round(self.rate, 3),
            "errors": self.errors.as_dict(),
            "non_2xx": self.non_2xx, "cpu": self.cpu, "wall": self.wall,
            "cpu_utilisation": round(self.cpu_utilisation, 4),
        }
        if self.latency:
            out["latency"] = self.latency.as_dict()
        if self.histogram:
            out["histogram"] = dict(self.histogram)
        if self.pipeline != 1:
            out["pipeline"] = self.pipeline
        if self.bytes:
            out["bytes"] = self.bytes
        if self.settled is not None:
            out["settled"] = self.settled.as_dict()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LoadResult:
        """The inverse of `as_dict` (qps and cpu_utilisation are derived, so not read back)."""
        return cls(tool=d["tool"], argv=tuple(d["argv"]), requests=int(d["requests"]), duration=float(d["duration"]),
                   errors=SocketErrors.from_dict(d["errors"]), non_2xx=int(d["non_2xx"]),
                   latency=Latency.from_dict(d["latency"]) if "latency" in d else None,
                   histogram=dict(d["histogram"]) if "histogram" in d else None,
                   cpu=float(d["cpu"]), wall=float(d["wall"]), pipeline=int(d.get("pipeline", 1)),
                   bytes=int(d.get("bytes", 0)),
                   settled=Settled.from_dict(d["settled"]) if d.get("settled") else None)
