"""A run as data: the plan of cases, each a plain, versioned, JSON-round-trippable specification.

`cmbench plan` prints a plan, `cmbench plan --json` saves one, `cmbench run` executes one
(`--plan FILE` a saved one). A `CaseSpec` says everything a runner on any host needs to
measure a case and everything a reader needs to know what will run: workload, case label and
parameters, implementation and variant, CPUs, executor, the exact command line, processes and
iterations, the timeout, and an estimate of how long it takes.

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
from .outcome import CaseKey
from .vocab import fmt_duration, impl_label, params_text, render_table

if TYPE_CHECKING:
    from .catalog import Catalog
    from .console import Console
    from .executors import Executor

SPEC_SCHEMA = 1
PLAN_SCHEMA = 2
# Schema history of a plan: 1: no shard; 2: `shard` says which part of which whole plan it is.

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
    params: Mapping[str, ParamValue]  # the parameters this implementation runs (reduced sizes applied)
    cpus: tuple[int, ...]  # the CPUs the implementation is pinned to
    command: tuple[str, ...]  # the measured process's exact argv, placeholders expanded
    processes: int = 1
    warmups: int = 0
    iterations: int = 0
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
        if schema != SPEC_SCHEMA:
            raise UserError(f"{where}: schema {schema!r}; this cmbench reads case specifications of schema "
                            f"{SPEC_SCHEMA}: plan again with this version")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise UserError(f"{where}: unknown field '{unknown[0]}' (fields: {', '.join(sorted(names))})")
        try:
            spec = cls(**{**d, "params": dict(d["params"]), "cpus": tuple(d["cpus"]), "command": tuple(d["command"]),
                          "load_cpus": tuple(d.get("load_cpus", ()))})
        except (TypeError, KeyError) as e:
            raise UserError(f"{where}: {e}") from None
        return spec

    def same_case(self, other: CaseSpec) -> bool:
        """The same work in the same place (everything but the estimate)."""
        return replace(self, estimate=0.0, estimate_from="") == replace(other, estimate=0.0, estimate_from="")


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
        if d.get("schema") not in (1, PLAN_SCHEMA):
            raise UserError(f"{where}: plan schema {d.get('schema')!r}; this cmbench reads 1 to {PLAN_SCHEMA}: "
                            "plan again with this version")
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


@dataclass
class RunContext:
    """What executing specs needs: where to find manifests, where to run, whom to tell."""

    catalog: Catalog
    executor: Executor
    console: Console
    timeout: float | None = None
    loadgen: Any = None  # server kinds: where the load generator runs (harness/http/generator.py); None: here


# --- estimates ---------------------------------------------------------------------------------


def _estimate_key(spec: CaseSpec) -> tuple:
    return (spec.workload, spec.case, spec.impl, spec.variant, spec.profile, spec.executor, len(spec.cpus),
            spec.processes, spec.warmups, spec.iterations, params_text(spec.params))


def past_durations(results: Path, limit: int = 200) -> dict[tuple, tuple[float, str]]:
    """Case durations of the newest stored runs (up to `limit`): key -> (seconds, run id).

    Damaged or foreign folders are skipped: an estimate is a convenience, never a reason to fail.
    """
    from .store import load_run  # the store reads run.json with its migrations

    out: dict[tuple, tuple[float, str]] = {}
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
            except UserError:
                continue
            out.setdefault(key, (float(c.get("seconds", 0.0)), str(run.get("run_id", folder.name))))
    return out


def with_estimates(specs: Iterable[CaseSpec], past: Mapping[tuple, tuple[float, str]]) -> list[CaseSpec]:
    """Each spec with the duration of its last stored run where there is one (else the kind's guess stays)."""
    out = []
    for s in specs:
        found = past.get(_estimate_key(s))
        out.append(replace(s, estimate=found[0], estimate_from=found[1]) if found and not s.status else s)
    return out


# --- the terminal table -------------------------------------------------------------------------


def plan_table(plan: Plan) -> str:
    """One line per case, then the total count and estimated time."""
    rows = []
    for s in plan.cases:
        reps = "—" if s.status else (f"{s.processes}x({s.warmups}+{s.iterations})" if s.iterations else
                                     f"{s.processes} process")
        est = "—" if s.status else (("~" if s.estimate_from == "profile" else "") + fmt_duration(s.estimate))
        cpus = ",".join(map(str, s.cpus)) + (f" / load {','.join(map(str, s.load_cpus))}" if s.load_cpus else "")
        what = s.status.upper() + f": {s.reason}" if s.status else " ".join(s.command)
        rows.append([s.workload, s.case, s.label, cpus, s.executor, reps, est, what])
    table = render_table(["workload", "case", "implementation", "CPUs", "executor", "processes", "estimate",
                          "command"], rows)
    measured = [s for s in plan.cases if not s.status]
    guessed = sum(1 for s in measured if s.estimate_from == "profile")
    if not guessed:
        note = "; every estimate repeats the last stored run of the same case"
    elif guessed == len(measured):
        note = "; no stored run has these cases, so every estimate (~) is a guess from the profile"
    else:
        note = f"; {guessed} estimate(s) (~) guessed from the profile, the rest repeat the last stored run"
    part = f" in shard {plan.shard.label} of plan {plan.shard.of}" if plan.shard else ""
    return (f"{table}\n\n{len(plan.cases)} cases ({len(measured)} measured){part}, profile {plan.profile}, executor "
            f"{plan.executor}: about {fmt_duration(plan.estimate)} plus builds{note if measured else ''}")

