"""`cmbench hosts ADDRESS`: the fleet as a controller of this checkout would find it.

Every worker the scheduler knows is asked, outside Dask's task queue (`Client.run`, so a host
that is measuring answers too, from a thread beside its unit), for its commit, whether its
checkout has uncommitted changes, its toolchain versions for the catalog's implementations (the
same probe `run --cluster` makes) and its CPUs. Each is then judged against this checkout as
`run --cluster` judges a host (identity.differences), which gives its state:

- `ready`: a cmbench worker that a run from here would accept, idle;
- `busy`: such a worker, measuring or generating load now;
- `refused`: a run from here would send it nothing (`why` says what differs), or it is a Dask
  worker that is not a cmbench worker;
- `connected`: known to the scheduler, but it did not answer within the wait.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.catalog import Catalog
from harness.cluster.identity import BENCH, LOADGEN, PLUGIN, Expectation, differences, toolchain_versions
from harness.cluster.session import DaskLog, connect
from harness.console import Console
from harness.engine.ready import prepare
from harness.executors.base import Executor
from harness.host.info import git_commit
from harness.measure.ccache import cache_dir
from harness.vocab import render_table

if TYPE_CHECKING:
    from distributed.security import Security

ANSWER_WAIT = 60.0  # seconds for every host's answer (its toolchain probe runs then)
STATES = ("ready", "busy", "refused", "connected")


async def host_facts(executor: str, wait: float, dask_worker=None) -> dict[str, Any]:
    """Runs on a worker's event loop (`Client.run`); the probe itself in a thread, so the worker stays responsive."""
    plugin = dask_worker.plugins.get(PLUGIN) if dask_worker is not None else None
    service = getattr(plugin, "service", None)
    if service is None:
        return {"cmbench": False}
    return await asyncio.wait_for(asyncio.to_thread(service.facts, executor), wait)


def list_hosts(address: str, security: Security | None, catalog: Catalog, executor: Executor,
               wait: float = ANSWER_WAIT) -> list[dict[str, Any]]:
    """One entry per worker of the scheduler at `address`, judged against this checkout (module docstring)."""
    DaskLog.install().to(cache_dir() / "hosts-dask.log")
    impls = list(catalog.impls.values())
    ready = prepare(executor, impls, Console(io.StringIO()), build=False)
    commit = git_commit(catalog.root)["commit"]
    expected = Expectation(commit, executor.name, toolchain_versions(ready), ())
    client = connect(address, security, flag="")
    try:
        workers = client.scheduler_info(n_workers=-1).get("workers", {})
        try:
            answers = client.run(host_facts, executor.name, wait, on_error="return")
        except (OSError, TimeoutError) as e:
            answers = {a: e for a in workers}
    finally:
        client.close()
    return sorted((judge(address_, info, answers.get(address_), expected) for address_, info in workers.items()),
                  key=lambda h: h["host"])


def judge(address: str, info: Mapping[str, Any], facts: Any, expected: Expectation) -> dict[str, Any]:
    """A worker's entry: what the scheduler says of it and what it answered, and its state."""
    resources = dict(info.get("resources") or {})
    role = "loadgen" if resources.get(LOADGEN) else "bench" if resources.get(BENCH) else ""
    entry: dict[str, Any] = {"host": str(info.get("name", address)), "address": address, "role": role,
                             "state": "connected", "commit": "", "dirty": None, "toolchains": {},
                             "cpus": [], "why": ""}
    if not isinstance(facts, Mapping):
        entry["why"] = f"did not answer: {str(facts)[:200]}" if facts is not None else "did not answer"
        return entry
    if not facts.get("cmbench") or not role:
        entry.update(state="refused", why="a Dask worker, not a cmbench worker: start it with `cmbench worker`")
        return entry
    entry.update(commit=facts["commit"], dirty=facts["dirty"], toolchains=dict(facts["toolchains"]),
                 cpus=list(facts["cpus"]))
    mine = dict(facts["toolchains"]) if role == BENCH else dict(expected.toolchains)  # a generator builds nothing
    why = differences(expected, facts["commit"], facts["started_at"], mine, facts["cpus"], facts["dirty"])
    if why:
        entry.update(state="refused", why="; ".join(why))
    else:
        entry["state"] = "busy" if facts["busy"] else "ready"
    return entry


def hosts_table(hosts: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for h in hosts:
        present = sum(1 for v in h["toolchains"].values() if v)
        rows.append([h["host"], h["role"], h["state"], (h["commit"][:12] + ("+dirty" if h["dirty"] else "")) or "-",
                     f"{present}/{len(h['toolchains'])}" if h["toolchains"] else "-",
                     str(len(h["cpus"])) if h["cpus"] else "-", h["why"]])
    return render_table(["host", "role", "state", "commit", "toolchains", "CPUs", "why refused"], rows)


def service_facts(service: Any, executor: str) -> dict[str, Any]:
    """What `hosts` asks of a host (HostService.facts): its checkout, toolchains, CPUs and whether it is busy."""
    git = git_commit(service.root)
    ready = prepare(service.executor(executor), list(service.catalog.impls.values()), Console(io.StringIO()),
                    build=False)
    return {"cmbench": True, "name": service.host, "commit": git["commit"], "dirty": git["dirty"],
            "started_at": service.started_at, "toolchains": toolchain_versions(ready),
            "cpus": sorted(os.sched_getaffinity(0)), "busy": service.busy}
