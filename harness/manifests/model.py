"""The manifests' value types: workloads, implementations, variants, profiles, frozen once loaded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.vocab import params_text

SCHEMA = 1
PROFILES = ("verify", "smoke", "quick", "full")
BUILD_TIMEOUT = 1800.0  # seconds a build may take unless its impl.toml says otherwise
# Where the threads of a batch case run (workloads/README.md "Placement"): `one`, every thread on one CPU
# (the harness pins the process there); `spread`, the run's CPUs, threads pinned one per CPU by a program
# that can pin them (impl.toml `placement`), else placed by its runtime and the OS.
PLACEMENTS = ("one", "spread")
PLACEMENT_PARAM = "placement"  # the case parameter that carries it


@dataclass(frozen=True)
class ProfileShape:
    """How a profile repeats a batch case: processes, warm-ups, iterations, and when to stop.

    With `precision` 0 the repetition is fixed: `processes` x (`warmups` + `iterations`). Otherwise
    `processes` and `iterations` are minima: more processes run, and later ones run up to
    `max_iterations` iterations, until the 95% confidence interval of the median is within
    `precision` (a fraction of the median), or `max_processes` ran, or `budget` seconds are spent
    (harness/kinds/batch/repetition.py); once a run has taken `time_limit` seconds no case runs more than its
    minimum processes (harness/kinds/batch/bank.py). Cases of a calibrated workload size each implementation so one
    iteration lasts about `iteration_seconds` (harness/kinds/batch/calibrate.py); 0 keeps the written sizes.
    `warmup_seconds` (what the warm-ups last at the target iteration) raises the warm-ups of a case whose
    iterations are much shorter than that target, so that a short iteration is not measured cold.
    """

    processes: int
    warmups: int
    iterations: int
    timeout: float  # seconds per process
    max_processes: int = 0  # 0: exactly `processes`
    max_iterations: int = 0  # 0: exactly `iterations`
    budget: float = 0.0  # seconds of measurement per case (0: no limit)
    precision: float = 0.0  # the target half-width of the median's 95% CI, relative (0: fixed repetitions)
    reach: float = 0.0  # give a case up once its budget cannot bring the CI within reach x precision (0: never)
    iteration_seconds: float = 0.0  # calibrated workloads: target seconds per iteration (0: sizes as written)
    # seconds from a run's start after which no case runs rounds beyond its minimum (0: no limit; kinds/batch/bank.py)
    time_limit: float = 0.0

    @property
    def adaptive(self) -> bool:
        return self.precision > 0

    @property
    def warmup_seconds(self) -> float:
        """How long a process's warm-ups last at the target iteration: the least a case with shorter iterations
        warms up for (0 where there is no target)."""
        return self.warmups * self.iteration_seconds


PROFILE_SHAPES: dict[str, ProfileShape] = {
    # a warm-up and two iterations: the warm-up lines are checked, and so is state an iteration leaves to the next
    "verify": ProfileShape(processes=1, warmups=1, iterations=2, timeout=120.0),
    # one process, three values per case: the fewest the claims ledger judges (reports/claims_evidence.py MIN_N)
    "smoke": ProfileShape(processes=1, warmups=1, iterations=3, timeout=180.0),
    # quick ends within 15 minutes: its rounds beyond a case's minimum stop at 14 (the last rounds in flight, the
    # host's last probe and the tables take the rest)
    "quick": ProfileShape(processes=3, warmups=2, iterations=5, timeout=600.0, max_processes=10, max_iterations=20,
                          budget=5.0, precision=0.02, reach=1.5, iteration_seconds=0.05, time_limit=840.0),
    "full": ProfileShape(processes=5, warmups=3, iterations=10, timeout=1800.0, max_processes=30, max_iterations=50,
                         budget=90.0, precision=0.01, iteration_seconds=0.3),
}


ParamValue = int | str


@dataclass(frozen=True)
class Param:
    name: str
    help: str
    choices: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return param_flag(self.name)


def param_flag(name: str) -> str:
    """The command-line flag of a parameter: `sleep_ms` -> `--sleep-ms`."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class Scaling:
    """A workload whose figure is per operation and does not depend on the size: which parameter scales
    an iteration's work (calibrated per implementation), and the cases whose size is the point."""

    param: str
    keep: tuple[Mapping[str, ParamValue], ...] = ()  # cases matching one of these keep their written size

    def applies(self, params: Mapping[str, ParamValue]) -> bool:
        return not any(all(params.get(k) == v for k, v in m.items()) for m in self.keep)


@dataclass(frozen=True)
class Case:
    """One set of parameter values of a workload in a profile."""

    workload: str
    index: int
    params: tuple[tuple[str, ParamValue], ...]

    @property
    def label(self) -> str:
        return params_text(self.params)

    def as_dict(self) -> dict[str, ParamValue]:
        return dict(self.params)


@dataclass(frozen=True)
class ServerProfile:
    """Load phases of a server workload for one profile (validated in harness/kinds/server/kind.py)."""

    connections: tuple[int, ...]  # closed loop, one request at a time per connection
    rates: tuple[float, ...]  # open loop, fractions of saturation
    min_duration: float  # seconds a measured load runs at least ...
    warmup: float
    idle_connections: int
    idle_hold: float = 7.0  # seconds the idle connections stay silent before they must still answer
    max_duration: float = 0.0  # ... and at most, stopping once its rate has settled (0: min_duration)
    settle_window: float = 3.0  # seconds of per-second rates that must agree ...
    settle_tolerance: float = 0.05  # ... within this fraction of their mean
    pipelined_connections: tuple[int, ...] = ()  # closed loop with HTTP/1.1 pipelining
    pipeline_depth: int = 16  # requests written at once on each pipelined connection
    startup_runs: int = 0  # fresh starts timed to the first answer (0: no start-up phase)
    # A run of this profile: seconds its verification holds an idle keep-alive connection (0: the
    # verify profile's idle_hold, and at least 7 s, past Node's keep-alive timeout; smoke holds less)
    verify_idle_hold: float = 0.0
    # Measured repetitions of the closed-loop, pipelined and idle phases, each one value of the phase's figure:
    # the loads in one server's life (a rate is the server's in steady state), the idle readings on fresh servers
    repeats: int = 1

    @property
    def longest(self) -> float:
        """The most seconds a measured load may run."""
        return max(self.min_duration, self.max_duration)

    def as_settings(self) -> dict[str, Any]:
        """These settings as JSON values (a case specification carries them: harness/plan/spec.py)."""
        return {f.name: list(v) if isinstance(v, tuple) else v for f in fields(self) for v in [getattr(self, f.name)]}

    @classmethod
    def from_settings(cls, d: Mapping[str, Any]) -> ServerProfile:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass(frozen=True)
class Workload:
    name: str
    path: Path
    summary: str
    kind: str  # "batch" or "server"
    operation: str
    operations: tuple[str, ...] = ()
    result_fields: tuple[str, ...] = ()
    info_fields: tuple[str, ...] = ()
    memory_per: str = ""
    key_metrics: tuple[str, ...] = ()  # [report]: the metrics that answer the workload's question, the first ranks
    params: tuple[Param, ...] = ()
    cases: Mapping[str, tuple[Case, ...]] = field(default_factory=dict)
    reduced: Mapping[str, Mapping[str, ParamValue]] = field(default_factory=dict)
    servers: Mapping[str, ServerProfile] = field(default_factory=dict)
    shapes: Mapping[str, ProfileShape] = field(default_factory=dict)  # profiles that repeat less than usual
    calibrate: Scaling | None = None  # batch: the parameter calibrated per implementation, if any
    placements: tuple[str, ...] = ()  # batch: each case is measured in these placements (none: the run's CPUs)

    def shape_for(self, profile: str) -> ProfileShape:
        """Processes, warm-ups and iterations of `profile` for this workload."""
        return self.shapes.get(profile, PROFILE_SHAPES[profile])

    def cases_for(self, profile: str, *, reduced: bool = False) -> tuple[Case, ...]:
        """The cases of `profile`, with the profile's reduced sizes applied when asked."""
        cases = self.cases.get(profile, ())
        overrides = self.reduced.get(profile, {}) if reduced else {}
        if not overrides:
            return cases
        return tuple(
            Case(c.workload, c.index, tuple((k, overrides.get(k, v)) for k, v in c.params))
            for c in cases
        )

    def operations_per_iteration(self, params: Mapping[str, ParamValue]) -> int:
        total = 1
        for name in self.operations:
            total *= int(params[name])
        return total


@dataclass(frozen=True)
class Variant:
    name: str
    help: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()  # empty: every workload of the implementation
    profiles: tuple[str, ...] = ()  # the profiles whose runs plan it unless it is named (empty: every profile)

    def applies_to(self, workload: str) -> bool:
        return not self.workloads or workload in self.workloads

    def runs_in(self, profile: str) -> bool:
        return not self.profiles or profile in self.profiles


DEFAULT_VARIANT = Variant(name="default", help="as built, no extra settings")


@dataclass(frozen=True)
class Unsupported:
    workload: str
    params: Mapping[str, ParamValue]
    reason: str
    variants: tuple[str, ...] = ()  # empty: every variant

    def matches(self, workload: str, params: Mapping[str, ParamValue], variant: str) -> bool:
        return (workload == self.workload and (not self.variants or variant in self.variants)
                and all(params.get(k) == v for k, v in self.params.items()))


@dataclass(frozen=True)
class Impl:
    id: str  # "<language>/<model>"
    path: Path
    language: str
    model: str
    description: str
    workloads: tuple[str, ...]
    toolchain_check: tuple[str, ...]
    toolchain_hint: str
    run: tuple[str, ...]
    build: tuple[str, ...] = ()
    build_timeout: float = BUILD_TIMEOUT  # seconds the build may take (`[build] timeout`)
    reduced_sizes: bool = False
    knobs: Mapping[str, str] = field(default_factory=dict)
    variants: tuple[Variant, ...] = (DEFAULT_VARIANT,)
    unsupported: tuple[Unsupported, ...] = ()
    placement: tuple[str, ...] = ()  # the placements the program makes itself (`spread`: it pins its threads)

    def unsupported_reason(self, workload: str, params: Mapping[str, ParamValue], variant: str) -> str | None:
        for u in self.unsupported:
            if u.matches(workload, params, variant):
                return u.reason
        return None
