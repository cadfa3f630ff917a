"""A run as data: the plan of cases, each a plain, versioned, JSON-round-trippable specification.

`cmbench plan` prints a plan, `cmbench plan --json` saves one, `cmbench run` executes one
(`--plan FILE` a saved one). A `CaseSpec` says everything a runner on any host needs to
measure a case and everything a reader needs to know what will run: workload, case label and
parameters, implementation and variant, CPUs, executor, the exact command line, processes and
iterations (or their minima, maxima, budget and target precision), the timeout, the calibrated
size or that it is calibrated at run time, and an estimate of how long it takes.

Kinds (harness/kinds.py) turn manifests into specs; runners (harness/runner.py) execute them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UserError
from .manifest import param_flag
from .outcome import CaseKey
from .vocab import fmt_duration, impl_label, params_text, render_table

if TYPE_CHECKING:
    from .calibration import Calibration, CalibrationStore
    from .catalog import Catalog
    from .console import Console
    from .executors import Executor

SPEC_SCHEMA = 2
PLAN_SCHEMA = 3
# Schema history of a case specification:
#   1: fixed repetitions; no calibrated size.
#   2: processes and iterations may be minima (max_processes, max_iterations, budget, precision), and the
#      size named by `calibrate` may be calibrated (`calibrated_for`). A spec of schema 1 reads as fixed.
# Schema history of a plan: 1: no shard; 2: `shard` says which part of which whole plan it is;
#   3: its cases are specifications of schema 2.
READS_SCHEMAS = (1, 2)
READS_PLAN_SCHEMAS = (1, 2, 3)

ParamValue = int | float | str


@dataclass(frozen=True)
class CaseSpec:
    """One case of a run: what to run, where, how often, and how long it should take."""

    kind: str  # the workload kind that plans and executes it (harness/kinds.py)
    workload: str
    case: str  # the profile's case label, shared by every implementation
    impl: str
    variant: str
    language: str
    model: str
    profile: str
    executor: str
    params: Mapping[str, ParamValue]  # the parameters this implementation runs (reduced or calibrated sizes)
    cpus: tuple[int, ...]  # the CPUs the implementation is pinned to
    command: tuple[str, ...]  # the first measured process's exact argv; `{<param>}` while a size is uncalibrated
    processes: int = 1  # adaptive specs: the minimum
    warmups: int = 0
    iterations: int = 0  # adaptive specs: measured iterations of the first processes (the minimum)
    max_processes: int = 0  # 0: exactly `processes`
    max_iterations: int = 0  # 0: exactly `iterations`
    budget: float = 0.0  # seconds of measurement past which no further process starts (0: none)
    precision: float = 0.0  # stop once the median's 95% CI is within this fraction of it (0: fixed repetitions)
    reach: float = 0.0  # stop once the budget left cannot bring that CI within reach x precision (0: never)
    calibrate: str = ""  # the parameter whose size is calibrated per implementation ("" : sizes as written)
    iteration_seconds: float = 0.0  # calibrated specs: the target seconds per iteration
    calibrated_for: str = ""  # the environment fingerprint whose stored size `params` holds ("": at run time)
    timeout: float = 0.0  # seconds per implementation process (batch) or per server start (server)
    load_cpus: tuple[int, ...] = ()  # server kinds: the load generator's CPUs, disjoint from `cpus`
    status: str = ""  # an outcome known when planning (`unsupported`), with its reason
    reason: str = ""
    estimate: float = 0.0  # seconds the case is expected to take
    estimate_from: str = "profile"  # "profile", or the run id whose duration it repeats
    schema: int = SPEC_SCHEMA

    @property
    def key(self) -> CaseKey:
        return CaseKey(self.workload, self.case, self.impl, self.variant)

    @property
    def label(self) -> str:
        return impl_label(self.impl, self.variant)

    @property
    def pending(self) -> bool:
        """Whether the size is calibrated at run time (the command holds a `{<param>}` placeholder)."""
        return bool(self.calibrate) and not self.calibrated_for

    @property
    def adaptive(self) -> bool:
        return self.precision > 0

    def sized(self, value: int, fingerprint: str) -> CaseSpec:
        """This spec at a calibrated size: `params` and the command's value after the parameter's flag."""
        return self._with_size(value, fingerprint)

    def unsized(self) -> CaseSpec:
        """The spec with its size left open (`{<param>}`): what stays the same whatever the calibration."""
        return self._with_size("{" + self.calibrate + "}", "") if self.calibrate else self

    def _with_size(self, value: ParamValue, fingerprint: str) -> CaseSpec:
        flag = param_flag(self.calibrate)
        at = [i + 1 for i, w in enumerate(self.command[:-1]) if w == flag]
        if len(at) != 1:
            raise ValueError(f"{self.label}: the command has {len(at)} {flag} flags, expected one")
        command = (*self.command[:at[0]], str(value), *self.command[at[0] + 1:])
        return replace(self, params={**self.params, self.calibrate: value}, command=command,
                       calibrated_for=fingerprint)

    @property
    def placement(self) -> dict[str, ParamValue]:
        """The parameters that say where the case ran (stored with every result)."""
        out: dict[str, ParamValue] = {"cpus": len(self.cpus)}
        if self.load_cpus:
            out["load_cpus"] = len(self.load_cpus)
        out["executor"] = self.executor
        return out

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(params=dict(self.params), cpus=list(self.cpus), command=list(self.command),
                   load_cpus=list(self.load_cpus))
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "case") -> CaseSpec:
        if not isinstance(d, Mapping):
            raise UserError(f"{where}: not a JSON object")
        schema = d.get("schema")
        if schema not in READS_SCHEMAS:
            raise UserError(f"{where}: schema {schema!r}; this cmbench reads case specifications of schema "
                            f"{', '.join(map(str, READS_SCHEMAS))}: plan again with this version")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise UserError(f"{where}: unknown field '{unknown[0]}' (fields: {', '.join(sorted(names))})")
        try:
            spec = cls(**{**d, "params": dict(d["params"]), "cpus": tuple(d["cpus"]), "command": tuple(d["command"]),
                          "load_cpus": tuple(d.get("load_cpus", ())), "schema": SPEC_SCHEMA})
        except (TypeError, KeyError) as e:
            raise UserError(f"{where}: {e}") from None
        return spec

    def same_case(self, other: CaseSpec) -> bool:
        """The same work in the same place (everything but the estimate and a calibrated size)."""
        def bare(s: CaseSpec) -> CaseSpec:
            return replace(s.unsized(), estimate=0.0, estimate_from="", calibrated_for="")

        return bare(self) == bare(other)


@dataclass(frozen=True)
class Shard:
    """Which part of a whole plan a plan is: shard `index` (1-based) of `count`, cut from the plan `of` (its digest)."""

    index: int
    count: int
    of: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "count": self.count, "of": self.of}

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class Plan:
    """Every case of a run, in the order they will run."""

    profile: str
    executor: str
    cpus: tuple[int, ...]
    cases: tuple[CaseSpec, ...]
    shard: Shard | None = None
    schema: int = PLAN_SCHEMA

    @property
    def estimate(self) -> float:
        return sum(c.estimate for c in self.cases)

    @property
    def impls(self) -> list[str]:
        return list(dict.fromkeys(c.impl for c in self.cases))

    def digest(self) -> str:
        """What the plan runs, as a hash: its cases, profile, executor and CPUs, without estimates.

        Two plans with the same digest run the same commands; a shard carries its whole plan's.
        """
        if self.shard is not None:
            return self.shard.of
        cases = [{k: v for k, v in c.to_dict().items() if k not in ("estimate", "estimate_from")} for c in self.cases]
        text = json.dumps({"profile": self.profile, "executor": self.executor, "cpus": list(self.cpus),
                           "cases": cases}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        """What run.json says of the plan it ran."""
        out: dict[str, Any] = {"cases": len(self.cases), "estimate_seconds": round(self.estimate),
                               "digest": self.digest()}
        if self.shard is not None:
            out["shard"] = {"index": self.shard.index, "count": self.shard.count}
        return out

    def to_dict(self) -> dict[str, Any]:
        out = {"schema": self.schema, "profile": self.profile, "executor": self.executor, "cpus": list(self.cpus),
               "estimate_seconds": round(self.estimate, 1), "cases": [c.to_dict() for c in self.cases]}
        if self.shard is not None:
            out["shard"] = self.shard.to_dict()
        return out

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    @classmethod
    def from_dict(cls, d: Any, where: str) -> Plan:
        if not isinstance(d, Mapping) or not isinstance(d.get("cases"), list):
            raise UserError(f"{where}: not a plan (an object with a 'cases' list, as `cmbench plan --json` writes)")
        if d.get("schema") not in READS_PLAN_SCHEMAS:
            raise UserError(f"{where}: plan schema {d.get('schema')!r}; this cmbench reads "
                            f"{', '.join(map(str, READS_PLAN_SCHEMAS))}: plan again with this version")
        cases = tuple(CaseSpec.from_dict(c, f"{where}: cases[{i}]") for i, c in enumerate(d["cases"]))
        try:
            shard = Shard(int(d["shard"]["index"]), int(d["shard"]["count"]), str(d["shard"]["of"])) \
                if d.get("shard") is not None else None
            plan = cls(profile=str(d["profile"]), executor=str(d["executor"]), cpus=tuple(int(c) for c in d["cpus"]),
                       cases=cases, shard=shard)
        except (KeyError, TypeError, ValueError) as e:
            raise UserError(f"{where}: missing or bad field {e}") from None
        if not cases and shard is None:  # a shard may be empty: more shards than units
            raise UserError(f"{where}: the plan has no cases")
        return plan

    @classmethod
    def load(cls, path: Path) -> Plan:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"--plan {path}: file not found; write one with `cmbench plan ... --json > FILE`") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise UserError(f"--plan {path}: not a JSON plan ({e})") from None
        return cls.from_dict(data, f"--plan {path}")


@dataclass(frozen=True)
class PlanContext:
    """What planning needs besides the manifests."""

    profile: str
    cpus: tuple[int, ...]
    executor: Executor
    allowed_cpus: tuple[int, ...] = field(default_factory=lambda: tuple(sorted(os.sched_getaffinity(0))))
    timeout: float | None = None  # --timeout: overrides the profile's per-process timeout
    fingerprint: str = ""  # the environment's (harness/hostinfo.py), whose stored calibrations apply
    calibrations: Mapping[str, Calibration] = field(default_factory=dict)  # stored sizes, by case key


@dataclass
class RunContext:
    """What executing specs needs: where to find manifests, where to run, whom to tell."""

    catalog: Catalog
    executor: Executor
    console: Console
    timeout: float | None = None
    seed: int = 0  # orders the processes of a unit (and seeds the bootstrap): recorded in run.json
    calibrations: CalibrationStore | None = None  # where calibrated sizes are read and stored (None: not stored)
    environment: Mapping[str, Any] = field(default_factory=dict)  # the run's metadata the fingerprint is made of
    fingerprint: str = ""
    recalibrate: bool = False  # --recalibrate: calibrate again even where a size is stored
    ran: dict[CaseKey, CaseSpec] = field(default_factory=dict)  # specs as run, where a kind changed them (sized)
    references: bool = False  # take the host's reference measurements before the cases (`cmbench run`, nightly)
    loadgen: Any = None  # server kinds: where the load generator runs (harness/http/generator.py); None: here


# --- estimates ---------------------------------------------------------------------------------


def _estimate_key(spec: CaseSpec) -> tuple:
    """What makes two cases take about the same time: the same case, implementation and place.

    A calibrated size is left open (it aims at the same seconds per iteration), and so are the
    repetitions: where they adapt, the host's noise decides more of the time than the profile.
    """
    s = spec.unsized()
    return (s.workload, s.case, s.impl, s.variant, s.profile, s.executor, len(s.cpus), params_text(s.params))


@dataclass(frozen=True)
class PastCase:
    """How long a case took in a stored run, its calibration apart (that is paid once per environment)."""

    seconds: float
    calibration: float
    run_id: str


def past_durations(results: Path, limit: int = 200) -> dict[tuple, PastCase]:
    """Case durations of the newest stored runs (up to `limit`), by `_estimate_key`.

    Damaged or foreign folders are skipped: an estimate is a convenience, never a reason to fail.
    """
    from .store import load_run  # the store reads run.json with its migrations

    out: dict[tuple, PastCase] = {}
    try:
        folders = sorted((p for p in results.iterdir() if (p / "run.json").is_file()), reverse=True)[:limit]
    except OSError:
        return out
    for folder in folders:  # newest first: the first duration seen for a key wins
        try:
            run = load_run(folder)
        except UserError:
            continue
        for c in run.get("cases", ()):
            spec = c.get("spec")
            if c.get("status") != "ok" or not isinstance(spec, dict):
                continue
            try:
                key = _estimate_key(CaseSpec.from_dict(spec))
            except (UserError, ValueError):
                continue
            extra = c.get("extra") if isinstance(c.get("extra"), dict) else {}
            calibration = extra.get("calibration") if isinstance(extra.get("calibration"), dict) else {}
            spent = float(calibration.get("seconds", 0.0)) if extra.get("calibrated") == "run" else 0.0
            seconds = float(c.get("seconds", 0.0))
            out.setdefault(key, PastCase(max(0.0, seconds - spent), spent, str(run.get("run_id", folder.name))))
    return out


def with_estimates(specs: Iterable[CaseSpec], past: Mapping[tuple, PastCase],
                   calibration_guess: float = 0.0) -> list[CaseSpec]:
    """Each spec with the duration of its last stored run where there is one (else the kind's guess stays).

    A case calibrated at run time adds its calibration: the time it took last, else `calibration_guess`.
    """
    out = []
    for s in specs:
        found = past.get(_estimate_key(s))
        if found and not s.status:
            calibrating = (found.calibration or calibration_guess) if s.pending else 0.0
            s = replace(s, estimate=found.seconds + calibrating, estimate_from=found.run_id)
        out.append(s)
    return out


# --- the terminal table -------------------------------------------------------------------------


def repetitions_text(s: CaseSpec) -> str:
    """`3x(2+5)`, or for an adaptive spec `3-10x(2+5-20) <=10 s`."""
    if s.status:
        return "—"
    if not s.iterations:
        return f"{s.processes} process"
    if not s.adaptive:
        return f"{s.processes}x({s.warmups}+{s.iterations})"
    most = max(s.max_iterations, s.iterations)
    its = f"{s.iterations}-{most}" if most > s.iterations else str(s.iterations)
    return (f"{s.processes}-{max(s.max_processes, s.processes)}x({s.warmups}+{its})"
            + (f" <={s.budget:g} s" if s.budget else ""))


def size_text(s: CaseSpec) -> str:
    """The calibrated size, `calibrated at run time`, or nothing for a size as written."""
    if not s.calibrate or s.status:
        return ""
    if s.pending:
        return f"{s.calibrate} calibrated at run time"
    return f"{s.calibrate}={s.params[s.calibrate]} (calibrated)"


def plan_table(plan: Plan) -> str:
    """One line per case, then the total count and estimated time."""
    rows = []
    for s in plan.cases:
        est = "—" if s.status else (("~" if s.estimate_from == "profile" else "") + fmt_duration(s.estimate))
        cpus = ",".join(map(str, s.cpus)) + (f" / load {','.join(map(str, s.load_cpus))}" if s.load_cpus else "")
        what = s.status.upper() + f": {s.reason}" if s.status else " ".join(s.command)
        rows.append([s.workload, s.case, s.label, cpus, s.executor, repetitions_text(s), size_text(s), est, what])
    table = render_table(["workload", "case", "implementation", "CPUs", "executor", "processes", "size", "estimate",
                          "command"], rows)
    measured = [s for s in plan.cases if not s.status]
    guessed = sum(1 for s in measured if s.estimate_from == "profile")
    if not guessed:
        note = "; every estimate repeats the last stored run of the same case"
    elif guessed == len(measured):
        note = "; no stored run has these cases, so every estimate (~) is a guess from the profile"
    else:
        note = f"; {guessed} estimate(s) (~) guessed from the profile, the rest repeat the last stored run"
    stopping = next((s for s in measured if s.adaptive), None)
    if stopping is not None:
        note += (f"\nprocesses: minimum-maximum x (warm-ups + iterations, minimum-maximum); more run until the "
                 f"median's 95% CI is within ±{stopping.precision:.0%} or the case's budget is spent")
    part = f" in shard {plan.shard.label} of plan {plan.shard.of}" if plan.shard else ""
    return (f"{table}\n\n{len(plan.cases)} cases ({len(measured)} measured){part}, profile {plan.profile}, executor "
            f"{plan.executor}: about {fmt_duration(plan.estimate)} plus builds{note if measured else ''}")

