"""Joining the runs of a plan's shards into one run, as if one host had run the whole plan.

`cmbench merge RUN_DIR... --out DIR` is for teams whose engine is their CI system's job matrix:
each job runs `cmbench run --shard I/N`, and the merged folder has what an unsharded run would
have: every case in run.json (each naming the host that measured it, `hosts` holding each
host's metadata), every row in results.csv (under the merged run's id), and the pyperf samples.
Runs of different plans, commits, profiles or executors are refused, and so is a set of shards
with one missing or repeated.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyperf

from harness.errors import UsageError, UserError
from harness.store.run import RESULTS_COLUMNS, RunStore, load_run, load_samples, new_run_id
from harness.vocab import impl_label

# run.json keys the merge writes itself; every other top-level key (a kind's run-level
# measurement, say) is taken from the first shard that has it.
OWN_KEYS = {
    "schema",
    "run_id",
    "status",
    "started",
    "finished",
    "cases",
    "argv",
    "host",
    "hosts",
    "plan",
    "toolchains",
    "builds",
    "stopped",
}


@dataclass(frozen=True)
class StoredRun:
    path: Path
    meta: dict[str, Any]
    rows: list[list[str]]
    benchmarks: list[pyperf.Benchmark]

    @property
    def shard(self) -> tuple[int, int] | None:
        s = self.meta.get("plan", {}).get("shard")
        return (int(s["index"]), int(s["count"])) if s else None

    @property
    def commit(self) -> str:
        return str(self.meta.get("host", {}).get("git", {}).get("commit", "unknown"))


def read_run(path: Path) -> StoredRun:
    meta = load_run(path)
    try:
        with open(path / "results.csv", newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = list(reader)
    except FileNotFoundError:
        raise UserError(f"{path / 'results.csv'}: not found; pass folders written by `cmbench run`") from None
    if header is None or tuple(header) != RESULTS_COLUMNS:
        raise UserError(f"{path / 'results.csv'}: columns {header} are not cmbench's; the file is damaged")
    return StoredRun(path, meta, rows, load_samples(path))


def _same(runs: Sequence[StoredRun], what: str, value, hint: str) -> None:
    first = value(runs[0])
    for run in runs[1:]:
        if value(run) != first:
            raise UserError(f"{run.path}: {what} {value(run)!r}, but {runs[0].path} has {first!r}; {hint}")


def check_mergeable(runs: Sequence[StoredRun]) -> int:
    """UserError unless `runs` are every shard of one plan, once each; returns the shard count."""
    if not runs:
        raise UsageError("merge: name the run folders of every shard")
    for run in runs:
        if not run.meta.get("plan", {}).get("digest"):
            raise UserError(f"{run.path}: records no plan digest (written by an older cmbench); run it again")
        if run.shard is None:
            raise UserError(
                f"{run.path}: is not a shard (it ran a whole plan); merge joins the runs of `cmbench run --shard I/N`"
            )
    _same(runs, "ran the plan", lambda r: r.meta["plan"]["digest"], "shards must be cut from the same plan")
    _same(runs, "ran commit", lambda r: r.commit, "every shard must run the same cmbench commit")
    _same(runs, "ran profile", lambda r: r.meta.get("profile"), "shards must come from one plan")
    _same(runs, "ran executor", lambda r: r.meta.get("executor"), "shards must come from one plan")
    _same(runs, "was cut into", lambda r: r.shard[1], "shards must come from one `--shard I/N` split")
    count = runs[0].shard[1]
    seen: dict[int, Path] = {}
    for run in runs:
        index = run.shard[0]
        if index in seen:
            raise UserError(f"{run.path}: is shard {index}/{count} again ({seen[index]} is too); name each once")
        seen[index] = run.path
    missing = [i for i in range(1, count + 1) if i not in seen]
    if missing:
        raise UserError(f"merge: shard {missing[0]}/{count} is missing; name the run folders of all {count} shards")
    return count


def merge_runs(paths: Sequence[Path], out: Path, argv: Sequence[str] = ()) -> Path:
    """Merge the shard runs in `paths` into a new run folder `out`; returns it."""
    runs = sorted((read_run(p) for p in paths), key=lambda r: r.shard or (0, 0))
    check_mergeable(runs)
    first = runs[0].meta
    hosts: dict[str, Any] = {}
    for run in runs:
        hosts.update(run.meta.get("hosts", {}))
    builds: dict[str, Any] = {}
    toolchains: dict[str, Any] = {}
    for run in runs:
        for impl, b in run.meta.get("builds", {}).items():
            builds.setdefault(impl, b)
        for impl, v in run.meta.get("toolchains", {}).items():
            toolchains.setdefault(impl, v)
    meta: dict[str, Any] = {
        "profile": first.get("profile"),
        "executor": first.get("executor"),
        "cpus": first.get("cpus"),
        "argv": list(argv),
        "host": first.get("host", {}),
        "hosts": hosts,
        "plan": {
            "cases": sum(r.meta["plan"]["cases"] for r in runs),
            "estimate_seconds": sum(r.meta["plan"].get("estimate_seconds", 0) for r in runs),
            "digest": first["plan"]["digest"],
        },
        "toolchains": toolchains,
        "builds": builds,
        "merged_from": [
            {
                "run_id": r.meta.get("run_id"),
                "shard": r.meta["plan"]["shard"],
                "status": r.meta.get("status"),
                "started": r.meta.get("started"),
                "finished": r.meta.get("finished"),
                "path": str(r.path),
            }
            for r in runs
        ],
    }
    for run in runs:
        for key, value in run.meta.items():
            if key not in OWN_KEYS and key not in meta:
                meta[key] = value
    store = RunStore.create(out, new_run_id(), meta)
    store.meta["started"] = min(str(r.meta.get("started")) for r in runs)
    for run in runs:
        by_case: dict[tuple[str, str, str, str], list[list[str]]] = {}
        for row in run.rows:
            by_case.setdefault((row[1], row[2], row[3], row[6]), []).append(row)
        names: dict[str, list[pyperf.Benchmark]] = {}
        for bench in run.benchmarks:
            names.setdefault(bench.get_name().rsplit(" ", 1)[0], []).append(bench)
        for entry in run.meta.get("cases", ()):
            key = (entry["workload"], entry["case"], entry["impl"], entry["variant"])
            name = f"{entry['workload']}[{entry['case']}] {impl_label(entry['impl'], entry['variant'])}"
            store.adopt(entry, by_case.pop(key, []), names.pop(name, []), flush=False)
    complete = all(r.meta.get("status") == "complete" for r in runs)
    store.finish("complete" if complete else "interrupted")
    store.meta["finished"] = max(str(r.meta.get("finished")) for r in runs)
    store.flush()
    return out
