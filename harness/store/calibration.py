"""Calibrated sizes as stored: `calibration.json`, one size per case, implementation and environment.

Where the size is not the point, each implementation runs the size at which one iteration lasts
about the profile's `iteration_seconds` (the search: harness/kinds/batch/calibrate.py). A size is
stored per environment fingerprint (harness/host/info.py) in `calibration.json` next to the run
folders, and reused, so a nightly series keeps its sizes from night to night; it changes only
with `cmbench run --recalibrate` or when the fingerprint changes. A cluster run ships the
controller's file to its hosts, and each size a host finds comes back with the case it sized, to be
stored by the controller.

A damaged file is moved aside (`calibration.json.corrupt-<time>`) with a warning, and its sizes are
calibrated again; damaged entries alone are dropped the same way, the others kept. A file of a
newer schema is refused, never rewritten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError, warn
from harness.store.run import new_run_id, now_iso, write_atomic
from harness.vocab import impl_label

CALIBRATION_SCHEMA = 1
FILE_NAME = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    """The size found for one case of one implementation in one environment."""

    param: str
    value: int
    target: float  # seconds per iteration asked
    iteration_seconds: float  # seconds per iteration expected at `value` (scaled from the last attempt)
    steps: tuple[tuple[int, float], ...]  # (size, seconds per iteration: the median of the measured ones) per attempt
    seconds: float  # wall time the search took
    calibrated: str = field(default_factory=now_iso)

    def to_dict(self) -> dict[str, Any]:
        return {"param": self.param, "value": self.value, "target_seconds": self.target,
                "iteration_seconds": self.iteration_seconds, "steps": [list(s) for s in self.steps],
                "seconds": self.seconds, "calibrated": self.calibrated}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibration:
        return cls(param=str(d["param"]), value=int(d["value"]), target=float(d["target_seconds"]),
                   iteration_seconds=float(d["iteration_seconds"]),
                   steps=tuple((int(n), float(t)) for n, t in d["steps"]), seconds=float(d["seconds"]),
                   calibrated=str(d["calibrated"]))


def case_key(workload: str, case: str, impl: str, variant: str) -> str:
    """How calibration.json names a case: `ping_pong[roundtrips=200000] go/goroutines:gomaxprocs1`."""
    return f"{workload}[{case}] {impl_label(impl, variant)}"


def _put(data: dict[str, Any], fingerprint: str, environment: Mapping[str, Any], key: str,
         calibration: Calibration) -> None:
    """Add or replace one case's size in calibration.json's data."""
    env = data["environments"].setdefault(fingerprint, {"sizes": {}})
    env["environment"] = dict(environment)
    env.setdefault("sizes", {})[key] = calibration.to_dict()


def _drop_damaged(environments: dict[str, Any]) -> list[str]:
    """Remove what `Calibration.from_dict` (or `_put`) cannot read from calibration.json's environments;
    returns what was removed, named."""
    dropped = []
    for fp, env in list(environments.items()):
        if not isinstance(env, dict) or not isinstance(env.get("sizes", {}), dict):
            del environments[fp]
            dropped.append(f"environment {fp!r}")
            continue
        for key, d in list((env.get("sizes") or {}).items()):
            try:
                Calibration.from_dict(d)
            except (KeyError, TypeError, ValueError, OverflowError):
                del env["sizes"][key]
                dropped.append(f"entry {key!r}")
    return dropped


class CalibrationStore:
    """`calibration.json`: sizes per environment fingerprint, then per case; rewritten atomically.

    ```
    {"schema": 1, "environments": {"<fingerprint>": {"environment": {cpu_model, ...},
                                                      "sizes": {"<case key>": {calibration}}}}}
    ```
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME

    def _read(self) -> dict[str, Any]:
        """The file's data; a damaged file is moved aside (see `_set_aside`), a newer one refused."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"schema": CALIBRATION_SCHEMA, "environments": {}}
        except (UnicodeDecodeError, ValueError) as e:  # not UTF-8, not JSON
            return self._set_aside(f"not a calibration file ({' '.join(str(e).split())[:200]})")
        except OSError as e:
            raise UserError(f"{self.path}: cannot read it ({e.strerror or e})") from None
        schema = data.get("schema") if isinstance(data, dict) else None
        if isinstance(schema, int) and not isinstance(schema, bool) and schema > CALIBRATION_SCHEMA:
            raise UserError(f"{self.path}: schema {schema} is newer than this cmbench reads "
                            f"({CALIBRATION_SCHEMA}); update cmbench")
        if schema != CALIBRATION_SCHEMA or not isinstance(data.get("environments"), dict):
            return self._set_aside(f"not a calibration file of schema {CALIBRATION_SCHEMA}")
        damaged = _drop_damaged(data["environments"])
        if damaged:
            more = f" and {len(damaged) - 3} more" if len(damaged) > 3 else ""
            return self._set_aside(f"{', '.join(damaged[:3])}{more} damaged", keep=data)
        return data

    def _set_aside(self, why: str, keep: dict[str, Any] | None = None) -> dict[str, Any]:
        """Move the damaged file to `calibration.json.corrupt-<time>` and warn; `keep` (what was sound in it)
        is written in its place. Returns the data to go on with: `keep`, else none (sizes calibrate again)."""
        stamp = new_run_id()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        try:
            os.rename(self.path, aside)
        except OSError as e:
            raise UserError(f"{self.path}: {why}; cannot move it aside ({e.strerror or e}); "
                            "delete it to calibrate again") from None
        if keep is not None:
            write_atomic(self.path, json.dumps(keep, indent=1, sort_keys=True) + "\n")
        warn(f"{self.path}: {why}; moved aside to {aside}, "
             + ("the other sizes kept, those calibrate again" if keep is not None else "sizes calibrate again"))
        return keep if keep is not None else {"schema": CALIBRATION_SCHEMA, "environments": {}}

    def environments(self) -> dict[str, Any]:
        """The file's `environments`, as plain data (what a cluster run ships to its hosts)."""
        return self._read()["environments"]

    def sizes(self, fingerprint: str) -> dict[str, Calibration]:
        """Every stored calibration of one environment, by case key."""
        env = self._read()["environments"].get(fingerprint) or {}
        out = {}
        for key, d in (env.get("sizes") or {}).items():
            try:
                out[key] = Calibration.from_dict(d)
            except (KeyError, TypeError, ValueError):
                raise UserError(f"{self.path}: entry {key!r} is damaged; delete it (or the file) to calibrate "
                                "again") from None
        return out

    def save(self, fingerprint: str, environment: Mapping[str, Any], key: str, calibration: Calibration) -> None:
        """Add or replace one case's size (read, change, write: other environments and cases stay)."""
        data = self._read()
        _put(data, fingerprint, environment, key, calibration)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")

    def save_found(self, found: list[Mapping[str, Any]]) -> None:
        """Store the sizes a cluster host found (`ShippedCalibrations.drain`)."""
        for f in found:
            self.save(str(f["fingerprint"]), f["environment"], str(f["key"]), Calibration.from_dict(f["calibration"]))


class ShippedCalibrations(CalibrationStore):
    """A cluster host's view of the controller's calibration.json: read from the copy the controller sent,
    and each size found here kept in memory until `drain` hands it back to be stored by the controller."""

    def __init__(self, environments: Mapping[str, Any]) -> None:
        self.path = Path(f"<the controller's {FILE_NAME}>")
        self.data = {"schema": CALIBRATION_SCHEMA, "environments": json.loads(json.dumps(environments))}
        self.found: list[dict[str, Any]] = []

    def _read(self) -> dict[str, Any]:
        return self.data

    def save(self, fingerprint: str, environment: Mapping[str, Any], key: str, calibration: Calibration) -> None:
        _put(self.data, fingerprint, environment, key, calibration)
        self.found.append({"fingerprint": fingerprint, "environment": dict(environment), "key": key,
                           "calibration": calibration.to_dict()})

    def drain(self) -> list[dict[str, Any]]:
        """The sizes found since the last call, as plain data for `CalibrationStore.save_found`."""
        found, self.found = self.found, []
        return found
