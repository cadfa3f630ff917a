"""Figures limited by the load generator rather than the server, and the generator's ceilings.

On a small host the fastest servers answer as fast as wrk can ask: their closed-loop figure is
then wrk's ceiling, a lower bound on theirs. A closed-loop or pipelined phase is
**load-generator bound** when, in its measured run,

- the generator kept at least `SATURATED` (90%) of its CPUs busy, or
- its rate reached `NEAR_CEILING` (90%) of the generator's ceiling in the same layout: the
  same tool, pipelining depth and CPUs, measured against a trivial responder (headroom.py) at
  the same connection count (else the highest ceiling measured at any count).

Such a result stays `ok` and keeps its figure, with a flag starting with `BOUND_PREFIX`: every
report shows it as "≥ X (load-generator bound)", never ranks it above another bound figure, and
draws it apart. An open-loop phase whose achieved rate fell short of its target carries a flag
starting with `SHORT_PREFIX`; its latencies describe the generator's backlog, not the server, and
are kept in run.json but not emitted as `latency_*` figures.

The prefixes are stable, machine-readable API: reports and the claims ledger test
`is_bound(flags)` / `is_short(flags)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BOUND_PREFIX = "load-generator bound:"
LEGACY_BOUND = "load generator saturated: wrk"  # how runs before the prefix flagged a saturated closed loop
SHORT_PREFIX = "rate short of target:"
SATURATED = 0.9  # generator CPU time / (wall time x its CPUs)
NEAR_CEILING = 0.9  # phase rate / the generator's measured ceiling
OPEN_CAP = 0.8  # open-loop targets stay below this fraction of oha's ceiling


def _flags(flags: str | Iterable[str]) -> list[str]:
    if isinstance(flags, str):
        return [f.strip() for f in flags.split(";")]
    return [str(f) for f in flags]


def is_bound(flags: str | Iterable[str]) -> bool:
    """Whether a case's flags (a list, or run.json's text joined with '; ') mark it load-generator bound."""
    return any(f.startswith((BOUND_PREFIX, LEGACY_BOUND)) for f in _flags(flags))


def is_short(flags: str | Iterable[str]) -> bool:
    """Whether an open-loop case fell short of its target rate."""
    return any(f.startswith(SHORT_PREFIX) for f in _flags(flags))


@dataclass(frozen=True)
class Ceiling:
    """One generator run against the trivial responder: how fast it asked."""

    tool: str
    pipeline: int  # requests per connection written at once (1: none)
    connections: int
    qps: float
    bottleneck: str  # headroom.py: "load generator", "responder", "both", "neither (...)"

    @property
    def mode(self) -> str:
        return "pipelined" if self.pipeline > 1 else "closed"


@dataclass(frozen=True)
class Ceilings:
    """The ceilings measured for one CPU layout (server CPUs, load CPUs)."""

    runs: tuple[Ceiling, ...] = ()
    error: str = ""

    def of(self, tool: str, pipeline: int, connections: int) -> Ceiling | None:
        """The ceiling at `connections`, else the highest at any count, for this tool and depth."""
        same = [c for c in self.runs if c.tool == tool and c.pipeline == pipeline]
        exact = [c for c in same if c.connections == connections]
        pool = exact or same
        return max(pool, key=lambda c: c.qps) if pool else None

    @classmethod
    def from_record(cls, d: Mapping[str, Any]) -> Ceilings:
        """From run.json's `loadgen_headroom` record (headroom.Headroom.as_dict per run)."""
        runs = tuple(Ceiling(str(r["tool"]), int(r.get("pipeline", 1)), int(r["connections"]), float(r["qps"]),
                             str(r.get("bottleneck", ""))) for r in d.get("runs", ()))
        return cls(runs, str(d.get("error", "")))


def bound_flag(tool: str, loadgen_cpu: float, cpus: int, qps: float, ceiling: Ceiling | None) -> str | None:
    """The flag of a generator-bound phase, or None when the generator had room to spare."""
    reasons = []
    if loadgen_cpu >= SATURATED:
        reasons.append(f"{tool} kept {loadgen_cpu:.0%} of its {cpus} CPU(s) busy")
    if ceiling is not None and ceiling.qps > 0 and qps >= NEAR_CEILING * ceiling.qps:
        where = f"against a trivial responder at {ceiling.connections} connections"
        if qps > ceiling.qps:  # the ceiling run had less of the host than this phase: a lower bound of the ceiling
            reasons.append(f"{qps:,.0f} req/s is above {tool}'s measured ceiling on these CPUs ({ceiling.qps:,.0f} "
                           f"req/s {where}, bottleneck: {ceiling.bottleneck or 'unknown'}), so at it")
        else:
            reasons.append(f"{qps:,.0f} req/s is {qps / ceiling.qps:.0%} of {tool}'s ceiling on these CPUs "
                           f"({ceiling.qps:,.0f} req/s {where})")
    if not reasons:
        return None
    return f"{BOUND_PREFIX} {'; '.join(reasons)}: the server may be faster; read the figure as a lower bound"


def open_target(rate: float, best_qps: float, ceiling: Ceiling | None) -> tuple[float, float, str]:
    """(target req/s, the reference it is a fraction of, what the reference is).

    The reference is the server's best closed-loop rate, unless that is above what oha can
    sustain (`OPEN_CAP` x its ceiling): then the cap, so the generator never sets the pace.
    """
    if ceiling is not None and ceiling.qps > 0 and best_qps > OPEN_CAP * ceiling.qps:
        cap = OPEN_CAP * ceiling.qps
        return rate * cap, cap, (f"{OPEN_CAP:.0%} of {ceiling.tool}'s ceiling ({ceiling.qps:,.0f} req/s at "
                                 f"{ceiling.connections} connections), below this server's {best_qps:,.0f} req/s")
    return rate * best_qps, best_qps, "this server's best closed-loop rate"


def rank_bounds(values: Sequence[tuple[float, bool]], direction: str = "higher") -> int | None:
    """The index of the best of (value, bound) figures, or None when the bounds leave it unknown.

    A bound figure is a lower bound (its true value may be anything above). The best is known
    only when one figure beats every other figure's best case: with two or more bound figures,
    or one bound figure that is not the highest, there is no best.
    """
    if not values:
        return None
    pick = (max if direction == "higher" else min)(range(len(values)), key=lambda i: values[i][0])
    others = [b for i, (_, b) in enumerate(values) if i != pick]
    if any(others):
        return None
    return pick
