"""Manifests as data: workload.toml and impl.toml, validated once at load into frozen dataclasses.

Every error names the file, the field and what the field must hold, so a researcher adding an
implementation can fix the file from the message alone.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError
from .vocab import params_text

SCHEMA = 1
PROFILES = ("verify", "smoke", "quick", "full")


@dataclass(frozen=True)
class ProfileShape:
    """How a profile repeats a batch case: processes, warm-ups, iterations, and when to stop.

    With `precision` 0 the repetition is fixed: `processes` x (`warmups` + `iterations`). Otherwise
    `processes` and `iterations` are minima: more processes run, and later ones run up to
    `max_iterations` iterations, until the 95% confidence interval of the median is within
    `precision` (a fraction of the median), or `max_processes` ran, or `budget` seconds are spent
    (harness/repetition.py). Cases of a calibrated workload size each implementation so one
    iteration lasts about `iteration_seconds` (harness/calibration.py); 0 keeps the written sizes.
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

    @property
    def adaptive(self) -> bool:
        return self.precision > 0


PROFILE_SHAPES: dict[str, ProfileShape] = {
    "verify": ProfileShape(processes=1, warmups=0, iterations=1, timeout=120.0),
    "smoke": ProfileShape(processes=2, warmups=1, iterations=3, timeout=180.0),
    "quick": ProfileShape(processes=3, warmups=2, iterations=5, timeout=600.0, max_processes=10, max_iterations=20,
                          budget=5.0, precision=0.02, reach=1.5, iteration_seconds=0.1),
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
    """Load phases of a server workload for one profile (validated in harness/http/kind.py)."""

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

    @property
    def longest(self) -> float:
        """The most seconds a measured load may run."""
        return max(self.min_duration, self.max_duration)


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
    params: tuple[Param, ...] = ()
    cases: Mapping[str, tuple[Case, ...]] = field(default_factory=dict)
    reduced: Mapping[str, Mapping[str, ParamValue]] = field(default_factory=dict)
    servers: Mapping[str, ServerProfile] = field(default_factory=dict)
    shapes: Mapping[str, ProfileShape] = field(default_factory=dict)  # profiles that repeat less than usual
    calibrate: Scaling | None = None  # batch: the parameter calibrated per implementation, if any

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

    def applies_to(self, workload: str) -> bool:
        return not self.workloads or workload in self.workloads


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
    reduced_sizes: bool = False
    knobs: Mapping[str, str] = field(default_factory=dict)
    variants: tuple[Variant, ...] = (DEFAULT_VARIANT,)
    unsupported: tuple[Unsupported, ...] = ()

    def unsupported_reason(self, workload: str, params: Mapping[str, ParamValue], variant: str) -> str | None:
        for u in self.unsupported:
            if u.matches(workload, params, variant):
                return u.reason
        return None


# --- validation ---------------------------------------------------------------------------


class TableReader:
    """Typed access to one TOML table that reports mistakes with the file and dotted field.

    Every key read (or offered with a default) is allowed; `reject_unknown` then refuses any other
    key in the table, naming the keys allowed there, so a misspelt key is never silently ignored.
    """

    def __init__(self, path: Path, table: Mapping[str, Any], prefix: str = "") -> None:
        self.path = path
        self.table = table
        self.prefix = prefix
        self.allowed: list[str] = []

    def fail(self, key: str, need: str) -> UserError:
        return UserError(f"{self.path}: field '{self.prefix}{key}' {need}")

    def allow(self, *keys: str) -> None:
        self.allowed.extend(k for k in keys if k not in self.allowed)

    def reject_unknown(self) -> None:
        for key in self.table:
            if key not in self.allowed:
                where = f"[{self.prefix.rstrip('.')}]" if self.prefix else "the top level"
                raise UserError(f"{self.path}: unknown key '{self.prefix}{key}'; allowed in {where}: "
                                f"{', '.join(self.allowed) or '(none)'}")

    def _get(self, key: str, required: bool, default: Any) -> Any:
        self.allow(key)
        if key not in self.table:
            if required:
                raise self.fail(key, "is missing")
            return default
        return self.table[key]

    def str(self, key: str, help: str, *, required: bool = True, default: str = "") -> str:
        value = self._get(key, required, default)
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(key, f"must be a non-empty string ({help})")
        return value

    def int(self, key: str, help: str, *, required: bool = True, default: int = 0) -> int:
        value = self._get(key, required, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, f"must be a whole number >= 0 ({help})")
        return value

    def number(self, key: str, help: str, *, required: bool = True, default: float = 0.0) -> float:
        value = self._get(key, required, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.fail(key, f"must be a number >= 0 ({help})")
        return float(value)

    def bool(self, key: str, help: str, *, default: bool = False) -> bool:
        value = self._get(key, False, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false ({help})")
        return value

    def strings(self, key: str, help: str, *, required: bool = True, nonempty: bool = True) -> tuple[str, ...]:
        value = self._get(key, required, [])
        if (
            not isinstance(value, list)
            or not all(isinstance(v, str) and v for v in value)
            or (required and nonempty and not value)
        ):
            raise self.fail(key, f"must be a list of strings ({help})")
        return tuple(value)

    def numbers(self, key: str, help: str) -> tuple[float, ...]:
        value = self._get(key, False, [])
        if not isinstance(value, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in value
        ):
            raise self.fail(key, f"must be a list of numbers > 0 ({help})")
        return tuple(value)

    def table_of(self, key: str, help: str, *, required: bool = False) -> TableReader:
        value = self._get(key, required, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table ({help})")
        return TableReader(self.path, value, f"{self.prefix}{key}.")

    def string_map(self, key: str, help: str) -> dict[str, str]:
        sub = self.table_of(key, help)
        for k, v in sub.table.items():
            if not isinstance(v, str):
                raise sub.fail(k, f"must be a string ({help})")
        return dict(sub.table)

    def tables(self, key: str, help: str) -> list[TableReader]:
        value = self._get(key, False, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"must be an array of tables, [[{key}]] ({help})")
        return [TableReader(self.path, v, f"{self.prefix}{key}[{i}].") for i, v in enumerate(value)]


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; a missing or malformed file is a UserError naming it."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: not valid TOML: {e}") from None


def check_schema(r: TableReader) -> None:
    schema = r.int("schema", f"the manifest format version, currently {SCHEMA}")
    if schema > SCHEMA:
        raise r.fail("schema", f"is {schema}, newer than this cmbench understands ({SCHEMA}): update cmbench")


def param_value(r: TableReader, key: str, value: Any, param: Param | None) -> ParamValue:
    """A parameter value as a case or an [[unsupported]] entry gives it, checked against its declaration."""
    if param is None:
        raise r.fail(key, "is not a parameter declared under [params]")
    if param.choices:
        if value not in param.choices:
            raise r.fail(key, f"must be one of {', '.join(param.choices)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise r.fail(key, f"must be a whole number >= 0 ({param.help})")
    return value


def load_workload(path: Path) -> Workload:
    """Load and validate `<dir>/workload.toml`: the fields every kind shares here, the rest by its kind."""
    from .kinds import KINDS  # the kinds import this module

    r = TableReader(path, read_toml(path))
    check_schema(r)
    name = r.str("name", "the workload's name, the same as its folder")
    if name != path.parent.name:
        raise r.fail("name", f"must match its folder name '{path.parent.name}'")
    kind = r.str("kind", f"one of {', '.join(KINDS)}", required=False, default="batch")
    if kind not in KINDS:
        raise r.fail("kind", f"must be one of {', '.join(KINDS)}")
    common = {"name": name, "path": path.parent, "kind": kind,
              "summary": r.str("summary", "one line describing the work"),
              "operation": r.str("operation", "what one operation is, e.g. 'task'")}
    workload = KINDS[kind].read_workload(r, common)
    r.reject_unknown()
    return workload


def profile_tables(r: TableReader, help: str) -> dict[str, TableReader]:
    """The [profiles.<name>] tables of a workload.toml: every profile present, no other."""
    profiles = r.table_of("profiles", "one table per profile", required=True)
    profiles.allow(*PROFILES)
    profiles.reject_unknown()
    missing = [p for p in PROFILES if p not in profiles.table]
    if missing:
        raise profiles.fail(missing[0], f"is missing: every workload defines {', '.join(PROFILES)}")
    return {prof: profiles.table_of(prof, help) for prof in PROFILES}


def load_impl(path: Path, root: Path, known_workloads: Mapping[str, Workload]) -> Impl:
    """Load and validate `impls/<language>/<model>/impl.toml`."""
    r = TableReader(path, read_toml(path))
    check_schema(r)
    folder = path.parent
    language = r.str("language", "the language, the same as the parent folder, e.g. 'go'")
    model = r.str("model", "the concurrency model, the same as the folder, e.g. 'goroutines'")
    expected_id = folder.relative_to(root).as_posix()
    if f"{language}/{model}" != expected_id:
        raise r.fail("language", f"and 'model' must match the folder: expected '{expected_id}'")
    workloads = r.strings("workloads", "the workloads this implementation serves")
    for w in workloads:
        if w not in known_workloads:
            raise r.fail("workloads", f"names unknown workload '{w}' (known: {', '.join(sorted(known_workloads))})")
    toolchain = r.table_of("toolchain", "how to tell whether the toolchain is present", required=True)
    build = r.table_of("build", "how to build it")
    run = r.table_of("run", "how to start it", required=True)

    variants = [DEFAULT_VARIANT]
    for v in r.tables("variants", "extra settings run as their own rows"):
        vname = v.str("name", "a short name, e.g. 'uvloop'")
        if vname in {x.name for x in variants}:
            raise v.fail("name", f"'{vname}' is used twice")
        vworkloads = v.strings("workloads", "the workloads this variant applies to", required=False)
        for w in vworkloads:
            if w not in workloads:
                raise v.fail("workloads", f"names '{w}', which is not in this implementation's workloads")
        variants.append(Variant(name=vname, help=v.str("help", "what the variant changes", required=False),
                                env=v.string_map("env", "environment variables"),
                                args=v.strings("args", "extra arguments", required=False, nonempty=False),
                                workloads=vworkloads))
        v.reject_unknown()

    unsupported = [_unsupported(u, workloads, known_workloads, [x.name for x in variants])
                   for u in r.tables("unsupported", "cases without meaning in this model")]

    impl = Impl(
        id=expected_id, path=folder, language=language, model=model,
        description=r.str("description", "one line: the primitives used", required=False),
        workloads=workloads,
        toolchain_check=toolchain.strings("check", "a command that exits 0 when the toolchain is present"),
        toolchain_hint=toolchain.str("hint", "what to do when the toolchain is missing"),
        build=build.strings("command", "the build command, run in the folder", required=False),
        run=run.strings("command", "the command that starts the program"),
        reduced_sizes=r.bool("reduced_sizes", "run the workloads' reduced sizes"),
        knobs=r.string_map("knobs", "runtime settings, stated for the reader"),
        variants=tuple(variants), unsupported=tuple(unsupported),
    )
    for table in (toolchain, build, run, r):
        table.reject_unknown()
    return impl


def _unsupported(u: TableReader, workloads: tuple[str, ...], known: Mapping[str, Workload],
                 variants: list[str]) -> Unsupported:
    uw = u.str("workload", "the workload")
    if uw not in workloads:
        raise u.fail("workload", f"names '{uw}', which is not in this implementation's workloads")
    params = u.table_of("params", "parameter values that select the unsupported cases (none: every case)")
    declared = {p.name: p for p in known[uw].params}
    values = {k: param_value(params, k, v, declared.get(k)) for k, v in params.table.items()}
    names = u.strings("variants", "the variants it applies to (default: every variant)", required=False)
    for name in names:
        if name not in variants:
            raise u.fail("variants", f"names '{name}', which is not a variant of this implementation "
                                     f"(variants: {', '.join(variants)})")
    reason = u.str("reason", "why the case has no meaning here")
    u.reject_unknown()
    return Unsupported(uw, values, reason, names)
