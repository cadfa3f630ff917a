"""Reading a TOML manifest: typed access to its tables, with errors that name the file and the field."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.manifests.model import PROFILES, SCHEMA, Param, ParamValue


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


def profile_tables(r: TableReader, help: str) -> dict[str, TableReader]:
    """The [profiles.<name>] tables of a workload.toml: every profile present, no other."""
    profiles = r.table_of("profiles", "one table per profile", required=True)
    profiles.allow(*PROFILES)
    profiles.reject_unknown()
    missing = [p for p in PROFILES if p not in profiles.table]
    if missing:
        raise profiles.fail(missing[0], f"is missing: every workload defines {', '.join(PROFILES)}")
    return {prof: profiles.table_of(prof, help) for prof in PROFILES}
