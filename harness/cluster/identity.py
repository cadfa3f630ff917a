"""What a benchmark host must share with the controller (commit, toolchains, CPUs), and the resources it offers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.engine.ready import Readiness
from harness.errors import UserError

if TYPE_CHECKING:
    pass


CLUSTER_SCHEMA = 1
CONNECT_TIMEOUT = 30.0  # seconds to reach the scheduler
BENCH = "bench"  # the resource every benchmark host offers once: one unit at a time
LOADGEN = "loadgen"  # offered by `cmbench worker --loadgen`: a host that drives load in `--loadgen-host` runs
PLUGIN = "cmbench"


@dataclass(frozen=True)
class Expectation:
    """What the controller runs, which every host must match before it gets work."""

    commit: str
    executor: str
    toolchains: Mapping[str, str]  # impl id -> version of its toolchain ("" when it is missing)
    cpus: tuple[int, ...]
    schema: int = CLUSTER_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "commit": self.commit,
            "executor": self.executor,
            "toolchains": dict(self.toolchains),
            "cpus": list(self.cpus),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Expectation:
        if d.get("schema") != CLUSTER_SCHEMA:
            raise UserError(
                f"cluster request: schema {d.get('schema')!r}, this cmbench reads {CLUSTER_SCHEMA}; "
                "run the same cmbench commit everywhere"
            )
        return cls(str(d["commit"]), str(d["executor"]), dict(d["toolchains"]), tuple(d["cpus"]))


def toolchain_versions(ready: Mapping[str, Readiness]) -> dict[str, str]:
    return {impl: (r.version if r.status == "ok" else "") for impl, r in ready.items()}


def differences(
    expected: Expectation, commit: str, started_at: str, toolchains: Mapping[str, str], allowed_cpus: Sequence[int],
    dirty: bool | None = False,
) -> list[str]:
    """Why a host may not run the controller's plan (empty when it may), each reason one phrase.

    `dirty`: the host's checkout has uncommitted changes (`git status`), so it runs other code than its commit."""
    out = []
    if dirty:
        out.append("its checkout has uncommitted changes (see `git status` there): commit, stash or drop them so "
                   "that it runs the controller's commit as committed, and restart the worker")
    if commit != started_at:
        out.append(
            f"the checkout is at commit {commit[:12]} but this worker started at {started_at[:12]}: "
            "restart `cmbench worker`"
        )
    elif commit != expected.commit:
        out.append(
            f"runs commit {commit[:12]}, the controller runs {expected.commit[:12]}: check out the same "
            "commit on both and restart the worker"
        )
    for impl, version in expected.toolchains.items():
        mine = toolchains.get(impl, "")
        if mine != version:
            out.append(f"{impl}: toolchain {mine or 'missing'!r} here, {version or 'missing'!r} on the controller")
    outside = sorted(set(expected.cpus) - set(allowed_cpus))
    if outside:
        out.append(f"the plan pins to CPUs {list(expected.cpus)}, this host allows {sorted(allowed_cpus)}")
    return out


def run_resource(run: str) -> str:
    """The Dask resource a host offers once it is checked and built for run `run`."""
    return f"cmbench-run-{run}"
