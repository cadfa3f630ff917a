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
    """How many processes, warm-ups and measured iterations a profile runs per case."""

    processes: int
    warmups: int
    iterations: int
    timeout: float  # seconds per process


PROFILE_SHAPES: dict[str, ProfileShape] = {
    "verify": ProfileShape(processes=1, warmups=0, iterations=1, timeout=120.0),
    "smoke": ProfileShape(processes=2, warmups=1, iterations=3, timeout=180.0),
    "quick": ProfileShape(processes=3, warmups=2, iterations=5, timeout=600.0),
    "full": ProfileShape(processes=5, warmups=3, iterations=10, timeout=1800.0),
}

ParamValue = int | str


@dataclass(frozen=True)
class Param:
    name: str
    help: str
    choices: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


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
    """Load phases of a server workload for one profile."""

    connections: tuple[int, ...]
    rates: tuple[float, ...]
    duration: float
    warmup: float
    idle_connections: int
    idle_hold: float = 7.0  # seconds the idle connections stay silent before they must still answer


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

    def matches(self, workload: str, params: Mapping[str, ParamValue]) -> bool:
        return workload == self.workload and all(
            params.get(k) == v for k, v in self.params.items()
        )


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

    def unsupported_reason(self, workload: str, params: Mapping[str, ParamValue]) -> str | None:
        for u in self.unsupported:
            if u.matches(workload, params):
                return u.reason
        return None


# --- validation ---------------------------------------------------------------------------


class _Reader:
    """Typed access to one TOML table that reports mistakes with the file and dotted field."""

    def __init__(self, path: Path, table: Mapping[str, Any], prefix: str = "") -> None:
        self.path = path
        self.table = table
        self.prefix = prefix

    def fail(self, key: str, need: str) -> UserError:
        return UserError(f"{self.path}: field '{self.prefix}{key}' {need}")

    def _get(self, key: str, required: bool, default: Any) -> Any:
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

    def table_of(self, key: str, help: str, *, required: bool = False) -> _Reader:
        value = self._get(key, required, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table ({help})")
        return _Reader(self.path, value, f"{self.prefix}{key}.")

    def string_map(self, key: str, help: str) -> dict[str, str]:
        sub = self.table_of(key, help)
        for k, v in sub.table.items():
            if not isinstance(v, str):
                raise sub.fail(k, f"must be a string ({help})")
        return dict(sub.table)

    def tables(self, key: str, help: str) -> list[_Reader]:
        value = self._get(key, False, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"must be an array of tables, [[{key}]] ({help})")
        return [_Reader(self.path, v, f"{self.prefix}{key}[{i}].") for i, v in enumerate(value)]


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; a missing or malformed file is a UserError naming it."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: not valid TOML: {e}") from None


def _check_schema(r: _Reader) -> None:
    schema = r.int("schema", f"the manifest format version, currently {SCHEMA}")
    if schema > SCHEMA:
        raise r.fail("schema", f"is {schema}, newer than this cmbench understands ({SCHEMA}): update cmbench")


def _param_value(r: _Reader, key: str, value: Any, param: Param | None) -> ParamValue:
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
    """Load and validate `<dir>/workload.toml`."""
    r = _Reader(path, read_toml(path))
    _check_schema(r)
    name = r.str("name", "the workload's name, the same as its folder")
    if name != path.parent.name:
        raise r.fail("name", f"must match its folder name '{path.parent.name}'")
    kind = r.str("kind", "batch or server", required=False, default="batch")
    if kind not in ("batch", "server"):
        raise r.fail("kind", "must be 'batch' or 'server'")
    summary = r.str("summary", "one line describing the work")
    operation = r.str("operation", "what one operation is, e.g. 'task'")
    profiles = r.table_of("profiles", "one table per profile", required=True)
    missing = [p for p in PROFILES if p not in profiles.table]
    if missing:
        raise profiles.fail(missing[0], f"is missing: every workload defines {', '.join(PROFILES)}")

    if kind == "server":
        servers = {}
        for prof in PROFILES:
            p = profiles.table_of(prof, "the load phases of this profile")
            servers[prof] = ServerProfile(
                connections=tuple(int(c) for c in p.numbers("connections", "closed-loop connection counts")),
                rates=p.numbers("rates", "open-loop rates as fractions of saturation"),
                duration=p.number("duration", "seconds per load phase"),
                warmup=p.number("warmup", "seconds of warm-up load"),
                idle_connections=p.int("idle_connections", "idle keep-alive connections for memory"),
                idle_hold=p.number("idle_hold", "seconds the idle connections are held before each must still "
                                   "answer; longer than common keep-alive timeouts (Node 5 s)", required=False,
                                   default=7.0),
            )
        return Workload(name=name, path=path.parent, summary=summary, kind=kind,
                        operation=operation, servers=servers)

    params_table = r.table_of("params", "one table per parameter", required=True)
    params = []
    for pname in params_table.table:
        p = params_table.table_of(pname, "the parameter's help and choices")
        params.append(Param(pname, p.str("help", "what the parameter means"),
                            p.strings("choices", "allowed words", required=False)))
    by_name = {p.name: p for p in params}
    operations = r.strings("operations", "parameters whose product is the operations per iteration")
    for op in operations:
        if op not in by_name:
            raise r.fail("operations", f"names '{op}', which is not under [params]")
    memory_per = r.str("memory_per", "parameter counting live tasks", required=False)
    if memory_per and memory_per not in by_name:
        raise r.fail("memory_per", f"names '{memory_per}', which is not under [params]")

    cases: dict[str, tuple[Case, ...]] = {}
    reduced: dict[str, dict[str, ParamValue]] = {}
    shapes: dict[str, ProfileShape] = {}
    for prof in PROFILES:
        p = profiles.table_of(prof, "the cases of this profile")
        default = PROFILE_SHAPES[prof]
        shape = ProfileShape(
            processes=p.int("processes", "processes per case", required=False, default=default.processes),
            warmups=p.int("warmups", "warm-up iterations per process", required=False, default=default.warmups),
            iterations=p.int("iterations", "measured iterations per process", required=False,
                             default=default.iterations),
            timeout=p.number("timeout", "seconds per process", required=False, default=default.timeout))
        if shape.processes < 1 or shape.iterations < 1:
            raise p.fail("processes", "and 'iterations' must be at least 1")
        if shape != default:
            shapes[prof] = shape
        raw_cases = p.tables("cases", "one inline table of parameter values per case")
        if not raw_cases:
            raise p.fail("cases", "must list at least one case")
        built = []
        for i, c in enumerate(raw_cases):
            values = {k: _param_value(c, k, v, by_name.get(k)) for k, v in c.table.items()}
            absent = [n for n in by_name if n not in values]
            if absent:
                raise c.fail(absent[0], "is missing: every case sets every parameter")
            built.append(Case(name, i, tuple((n, values[n]) for n in by_name)))
        cases[prof] = tuple(built)
        red = p.table_of("reduced", "smaller sizes for implementations with reduced_sizes = true")
        reduced[prof] = {k: _param_value(red, k, v, by_name.get(k)) for k, v in red.table.items()}

    return Workload(
        name=name, path=path.parent, summary=summary, kind=kind, operation=operation,
        operations=operations,
        result_fields=r.strings("result_fields", "the fields every iteration prints and the harness checks"),
        info_fields=r.strings("info_fields", "fields recorded but not checked", required=False),
        memory_per=memory_per, params=tuple(params), cases=cases, reduced=reduced, shapes=shapes,
    )


def load_impl(path: Path, root: Path, known_workloads: Mapping[str, Workload]) -> Impl:
    """Load and validate `impls/<language>/<model>/impl.toml`."""
    r = _Reader(path, read_toml(path))
    _check_schema(r)
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

    unsupported = []
    for u in r.tables("unsupported", "cases without meaning in this model"):
        uw = u.str("workload", "the workload")
        if uw not in workloads:
            raise u.fail("workload", f"names '{uw}', which is not in this implementation's workloads")
        params = u.table_of("params", "parameter values that select the unsupported cases").table
        unsupported.append(Unsupported(uw, dict(params), u.str("reason", "why the case has no meaning here")))

    return Impl(
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
