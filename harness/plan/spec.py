"""A run as data: the plan of cases, each a plain, versioned, JSON-round-trippable specification.

`cmbench plan` prints a plan, `cmbench plan --json` saves one, `cmbench run` executes one
(`--plan FILE` a saved one). A `CaseSpec` says everything a runner on any host needs to
measure a case and everything a reader needs to know what will run: workload, case label and
parameters, implementation and variant, CPUs, executor, the exact command line, processes and
iterations (or their minima, maxima, budget and target precision), the timeout, the calibrated
size or that it is calibrated at run time, and an estimate of how long it takes.

Kinds (harness/kinds/base.py) turn manifests into specs; runners (harness/engine/) execute them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import UserError
from harness.manifests.model import param_flag
from harness.measure.outcome import CaseKey
from harness.vocab import impl_label

if TYPE_CHECKING:
    pass


SPEC_SCHEMA = 4
PLAN_SCHEMA = 5


# Schema history of a case specification:
#   1: fixed repetitions; no calibrated size.
#   2: processes and iterations may be minima (max_processes, max_iterations, budget, precision), and the
#      size named by `calibrate` may be calibrated (`calibrated_for`). A spec of schema 1 reads as fixed.
#   3: `settings`, what the case's kind resolved from the manifests besides the command (the calibration's
#      size bounds, a server profile's load settings), so that a spec runs without looking its profile up.
#      A spec of schema 1 or 2 has none: a saved plan gets them from the manifests when it is checked.
#   4: `warmup_seconds`, the least time a process's warm-ups last (harness/kinds/batch/repetition.py). A spec of an
#      older schema reads with 0: its warm-ups are counted only, as they were.
# Schema history of a plan: 1: no shard; 2: `shard` says which part of which whole plan it is;
#   3: its cases are specifications of schema 2; 4: of schema 3; 5: of schema 4.
READS_SCHEMAS = (1, 2, 3, 4)
READS_PLAN_SCHEMAS = (1, 2, 3, 4, 5)
ParamValue = int | float | str


@dataclass(frozen=True)
class CaseSpec:
    """One case of a run: what to run, where, how often, and how long it should take."""

    kind: str  # the workload kind that plans and executes it (harness/kinds/base.py)
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
    warmups: int = 0  # adaptive specs: the fewest; more where `warmup_seconds` asks for them
    iterations: int = 0  # adaptive specs: measured iterations of the first processes (the minimum)
    max_processes: int = 0  # 0: exactly `processes`
    max_iterations: int = 0  # 0: exactly `iterations`
    budget: float = 0.0  # seconds of measurement past which no further process starts (0: none)
    precision: float = 0.0  # stop once the median's 95% CI is within this fraction of it (0: fixed repetitions)
    reach: float = 0.0  # stop once the budget left cannot bring that CI within reach x precision (0: never)
    calibrate: str = ""  # the parameter whose size is calibrated per implementation ("" : sizes as written)
    iteration_seconds: float = 0.0  # calibrated specs: the target seconds per iteration
    warmup_seconds: float = 0.0  # adaptive specs: the least seconds of steady iterations a process warms up for
    calibrated_for: str = ""  # the environment fingerprint whose stored size `params` holds ("": at run time)
    timeout: float = 0.0  # seconds per implementation process (batch) or per server start (server)
    load_cpus: tuple[int, ...] = ()  # server kinds: the load generator's CPUs, disjoint from `cpus`
    settings: Mapping[str, Any] = field(default_factory=dict)  # what the kind resolved besides the command (JSON)
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

    def as_ran(self, params: Mapping[str, Any], fingerprint: str) -> CaseSpec | None:
        """This spec at the calibrated size a result's `params` say it ran at; None when that is the planned one."""
        value = params.get(self.calibrate) if self.calibrate else None
        if not isinstance(value, int) or (value == self.params.get(self.calibrate)
                                          and self.calibrated_for == fingerprint):
            return None
        return self.sized(value, fingerprint)

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
        if self.settings.get("placed_by"):  # who placed the threads of a case measured in a placement
            out["placed_by"] = str(self.settings["placed_by"])
        if self.load_cpus:
            out["load_cpus"] = len(self.load_cpus)
        out["executor"] = self.executor
        return out

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(params=dict(self.params), cpus=list(self.cpus), command=list(self.command),
                   load_cpus=list(self.load_cpus), settings=dict(self.settings))
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
                          "load_cpus": tuple(d.get("load_cpus", ())), "settings": dict(d.get("settings") or {}),
                          "schema": SPEC_SCHEMA})
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
