"""The environment fingerprint of a run, and what else changed in the environment between two runs.

A series of nightly figures only ever compares runs with the same fingerprint: the same CPU model
and count, kernel, executor, CPUs used (`--cpus`) and profile. `fingerprint` is the one
definition, used by the history store (reports/history/store.py) and by change-point detection
(reports/history/changes.py). Everything else that describes the environment (governor, hostname,
Python, toolchain versions, the commit) may change inside a series; `differences` names it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

# Host facts compared between two runs besides the fingerprint (`loadavg` changes every run).
HOST_FACTS = ("hostname", "governor", "memory_bytes", "machine", "python", "cpus_allowed")


@dataclass(frozen=True)
class Fingerprint:
    cpu_model: str
    cpu_count: int
    kernel: str
    executor: str
    cpus: str  # the CPU ids the run pinned to, e.g. "0,1"
    profile: str

    @property
    def key(self) -> str:
        """A short stable id (12 hex digits of a SHA-256 over the fields)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def text(self) -> str:
        n = len(self.cpus.split(",")) if self.cpus else 0
        return (f"{self.cpu_model} x{self.cpu_count}, {self.kernel}, {self.executor}, "
                f"{n} CPU{'s' if n != 1 else ''} ({self.cpus}), profile {self.profile}")


def fingerprint(meta: Mapping[str, Any], host: Mapping[str, Any] | None = None) -> Fingerprint:
    """The fingerprint of a run from its run.json (`host`, `executor`, `cpus`, `profile`).

    `host`: the metadata of the host that measured a case, when a run has several (run.json `hosts`).
    """
    host = host if host is not None else meta.get("host") or {}
    cpus = meta.get("cpus")
    return Fingerprint(
        cpu_model=str(host.get("cpu_model") or "unknown"),
        cpu_count=int(host.get("cpu_count") or 0),
        kernel=str(host.get("kernel") or "unknown"),
        executor=str(meta.get("executor") or "native"),
        cpus=",".join(str(c) for c in cpus) if isinstance(cpus, list) else str(cpus or ""),
        profile=str(meta.get("profile") or ""),
    )


def fingerprint_differences(a: Fingerprint, b: Fingerprint) -> list[str]:
    """`kernel: Linux 6.1 -> Linux 6.12`, one line per field that differs."""
    da, db = asdict(a), asdict(b)
    return [f"{k}: {da[k]} -> {db[k]}" for k in da if da[k] != db[k]]


def toolchain_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Implementation id -> (old version, new version) for each toolchain whose version text changed."""
    tb, ta = before.get("toolchains") or {}, after.get("toolchains") or {}
    return {impl: (str(tb[impl]), str(ta[impl])) for impl in sorted(set(tb) & set(ta)) if tb[impl] != ta[impl]}


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What differs between two runs' environments: fingerprint, host facts, toolchains, commit state."""
    out = fingerprint_differences(fingerprint(before), fingerprint(after))
    hb, ha = before.get("host") or {}, after.get("host") or {}
    out += [f"{k}: {hb.get(k)} -> {ha.get(k)}" for k in HOST_FACTS if hb.get(k) != ha.get(k)]
    out += [f"toolchain {impl}: {old} -> {new}" for impl, (old, new) in toolchain_changes(before, after).items()]
    out += system_changes(hb.get("system"), ha.get("system"))
    gb, ga = hb.get("git") or {}, ha.get("git") or {}
    if gb.get("dirty") != ga.get("dirty"):
        out.append(f"uncommitted changes: {bool(gb.get('dirty'))} -> {bool(ga.get('dirty'))}")
    return out


def system_changes(before: Any, after: Any) -> list[str]:
    """The checks of two runs' system reports (run.json `host.system`) whose status differs: a `cmbench system
    tune` or `reset`, or a setting changed by hand, between them. A state alone moves without a change of setting
    (the count of IRQs, say), so only a status change is named."""
    def checks(report: Any) -> dict[str, Mapping[str, Any]]:
        listed = report.get("checks") if isinstance(report, Mapping) else None
        return {str(c.get("name")): c for c in listed or () if isinstance(c, Mapping)}

    old, new = checks(before), checks(after)
    return [f"system {name}: {old[name].get('status')} ({old[name].get('state')}) -> {new[name].get('status')} "
            f"({new[name].get('state')})" for name in old if name in new
            and old[name].get("status") != new[name].get("status")]
