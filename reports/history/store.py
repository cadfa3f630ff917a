"""The history store: every run's per-case summaries in one columnar store (Parquet, via pyarrow).

Layout, under the results folder:

    history/store.json               {"schema": 1, "layout": ...}: the store's format version
    history/runs/<run-id>.parquet    one file per run: its rows (SCHEMA below), and in the file's
                                     metadata the run's facts (RUN_KEY: fingerprint text, environment)

One row per (run, workload, case, implementation, metric) with the summary of harness/measure/stats.py
(computed by reports/samples.py, as the reports do), the case's status and flags, and the run's
environment: fingerprint (harness/host/fingerprint.py), commit, toolchain versions, profile,
executor and CPUs. A case without figures (failed, skipped, unsupported) has one row with an
empty metric. A run's file is written atomically and replaced whole, so appending a run twice
gives the same store (`append_run` is idempotent per run id); `rebuild` writes every file anew
from the run folders. Reports read history from here instead of every run's results.csv.

The store is derived from the run folders, so it repairs itself, each repair one warning line
(harness/errors.py `warn`): a run's file that cannot be read is written anew from its run folder
(moved aside to `<run-id>.parquet.corrupt-<time>` when no readable folder holds the run); a
damaged store.json is written anew; a nightly's run whose file is missing is appended again.
A damaged run folder (run.json or results.csv) is left out with a warning, keeping its stored
rows. A file or store.json of a newer schema is refused, never rewritten.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.errors import UserError, warn
from harness.host.fingerprint import fingerprint
from harness.store.folders import replace_folder
from harness.store.run import load_run, new_run_id, write_atomic
from harness.vocab import DEFAULT_VARIANT, impl_label, params_text
from reports.samples import empty_samples, read_samples, summarize_samples

HISTORY_SCHEMA = 1
HISTORY_DIR = "history"
SCHEMA_KEY = b"cmbench.history.schema"
RUN_KEY = b"cmbench.history.run"  # a file's run facts (JSON): id, start, status, fingerprint, environment
LAYOUT = "runs/<run-id>.parquet: one Parquet file per run, one row per run, case, implementation and metric"

SCHEMA = pa.schema([
    ("run_id", pa.string()), ("started", pa.string()), ("run_status", pa.string()),
    ("profile", pa.string()), ("executor", pa.string()), ("cpus", pa.string()),
    ("fingerprint", pa.string()),  # harness/host/fingerprint.py: the key; the text is in the run's facts
    ("git_commit", pa.string()), ("git_dirty", pa.bool_()),
    ("toolchain", pa.string()),  # this implementation's toolchain version text
    ("workload", pa.string()), ("case", pa.string()), ("impl", pa.string()), ("variant", pa.string()),
    ("implementation", pa.string()), ("language", pa.string()), ("model", pa.string()), ("params", pa.string()),
    ("status", pa.string()), ("flags", pa.string()), ("error", pa.string()),
    ("metric", pa.string()), ("unit", pa.string()), ("direction", pa.string()),
    ("n", pa.int64()), ("median", pa.float64()), ("q1", pa.float64()), ("q3", pa.float64()),
    ("iqr", pa.float64()), ("low", pa.float64()), ("high", pa.float64()), ("spread", pa.float64()),
    ("unstable", pa.bool_()),
], metadata={SCHEMA_KEY: str(HISTORY_SCHEMA).encode()})
COLUMNS = tuple(SCHEMA.names)
# What change detection and the History and Regressions pages read: a third less to load.
ANALYSIS_COLUMNS = ("run_id", "started", "fingerprint", "git_commit", "toolchain", "workload", "case", "impl",
                    "variant", "implementation", "status", "flags", "metric", "unit", "direction", "n", "median",
                    "q1", "q3", "unstable")
ERROR_CHARS = 500  # a failed case's error text, cut
HEALABLE = (pa.ArrowException, OSError, ValueError, KeyError)  # what reading a damaged Parquet file raises

# Older store versions -> a function turning such a frame into the next version (none yet).
MIGRATIONS: dict[int, Callable[[pd.DataFrame], pd.DataFrame]] = {}


def history_dir(results_dir: Path) -> Path:
    return Path(results_dir) / HISTORY_DIR


def run_folders(results_dir: Path) -> list[Path]:
    """Every run folder (one holding run.json) directly under `results_dir`."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return []
    return sorted(p for p in results_dir.iterdir() if (p / "run.json").is_file())


def environment_of(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What a run says of its environment: host (without the load average), toolchains, executor, CPUs, profile.

    The shape of run.json's own keys, so harness/host/fingerprint.py reads it like a run.json.
    """
    host = {k: v for k, v in (meta.get("host") or {}).items() if k != "loadavg"}
    return {"host": host, "toolchains": meta.get("toolchains") or {}, "executor": meta.get("executor"),
            "cpus": meta.get("cpus"), "profile": meta.get("profile")}


def run_facts(meta: Mapping[str, Any]) -> dict[str, Any]:
    fp = fingerprint(meta)
    return {"run_id": str(meta.get("run_id") or ""), "started": str(meta.get("started") or ""),
            "status": str(meta.get("status") or ""), "fingerprint": fp.key, "fingerprint_text": fp.text,
            "environment": environment_of(meta)}


def run_rows(folder: Path, samples: pd.DataFrame | None = None) -> pd.DataFrame:
    """The store's rows for one run folder: summaries of its samples, its cases, its environment.

    `samples`: the run's samples when the caller has read them already (else its results.csv is read)."""
    folder = Path(folder)
    meta = load_run(folder)
    run_id = str(meta.get("run_id") or "")
    if not run_id:
        raise UserError(f"{folder / 'run.json'}: has no run_id; the file is damaged")
    cases = meta.get("cases") or []
    path = folder / "results.csv"
    if samples is None:
        samples = read_samples(path, run_id) if path.exists() else empty_samples()
    summaries = summarize_samples(samples)
    by_case: dict[tuple[str, str, str, str], Mapping[str, Any]] = {}
    for c in cases:
        if isinstance(c, dict) and all(k in c for k in ("workload", "case", "impl", "status")):
            by_case[(str(c["workload"]), str(c["case"]), str(c["impl"]), str(c.get("variant") or DEFAULT_VARIANT))] = c

    def flags_of(c: Mapping[str, Any] | None) -> str:
        own = (c or {}).get("flags") or []  # run.json schema 2 on: a list per case (load_run migrates older)
        return "; ".join(str(f) for f in own)

    rows = []
    for s in summaries.itertuples(index=False):
        c = by_case.get((s.workload, s.case, s.impl, s.variant))
        rows.append({"workload": s.workload, "case": s.case, "impl": s.impl, "variant": s.variant,
                     "implementation": s.implementation, "language": s.language, "model": s.model,
                     "params": s.params, "status": str((c or {}).get("status", "ok")), "flags": flags_of(c),
                     "error": "", "metric": s.metric, "unit": s.unit, "direction": s.direction, "n": s.n,
                     "median": s.median, "q1": s.q1, "q3": s.q3, "iqr": s.q3 - s.q1, "low": s.low, "high": s.high,
                     "spread": s.spread, "unstable": bool(s.unstable)})
    measured = set(zip(summaries["workload"], summaries["case"], summaries["impl"], summaries["variant"]))
    for key, c in by_case.items():
        if key in measured:
            continue
        params = c.get("params") or {}
        rows.append({"workload": key[0], "case": key[1], "impl": key[2], "variant": key[3],
                     "implementation": impl_label(key[2], key[3]), "language": str(c.get("language", "")),
                     "model": str(c.get("model", "")),
                     "params": params_text(params) if isinstance(params, dict) else str(params),
                     "status": str(c["status"]), "flags": flags_of(c),
                     "error": str(c.get("error") or "")[:ERROR_CHARS], "metric": "", "unit": "", "direction": ""})
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in RUN_COLUMNS])
    git = (meta.get("host") or {}).get("git") or {}
    fp = fingerprint(meta)
    toolchains = meta.get("toolchains") or {}
    run = {"run_id": run_id, "started": str(meta.get("started") or ""), "run_status": str(meta.get("status") or ""),
           "profile": fp.profile, "executor": fp.executor, "cpus": fp.cpus, "fingerprint": fp.key,
           "git_commit": str(git.get("commit") or ""), "git_dirty": bool(git.get("dirty"))}
    for k, v in run.items():
        frame[k] = v
    hosts = meta.get("hosts") or {}
    if len(hosts) > 1:  # a cluster run: each case's environment is its own host's
        case_host = {key: str(c.get("host") or "") for key, c in by_case.items()}
        names = [case_host.get(k, "") for k in zip(frame["workload"], frame["case"], frame["impl"], frame["variant"])]
        prints = {n: fingerprint(meta, hosts[n]).key for n in set(names) if n in hosts}
        frame["fingerprint"] = [prints.get(n, fp.key) for n in names]
    frame["toolchain"] = [str(toolchains.get(i, "")) for i in frame["impl"]]
    return frame[list(COLUMNS)]


RUN_COLUMNS = ("run_id", "started", "run_status", "profile", "executor", "cpus", "fingerprint", "git_commit",
               "git_dirty", "toolchain")


def _table(frame: pd.DataFrame, facts: Mapping[str, Any]) -> pa.Table:
    schema = SCHEMA.with_metadata({**SCHEMA.metadata, RUN_KEY: json.dumps(facts, sort_keys=True).encode()})
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def _write_parquet(table: pa.Table, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _check_store(folder: Path, create: bool) -> None:
    marker = folder / "store.json"
    if not marker.exists():
        if not create:
            return
        (folder / "runs").mkdir(parents=True, exist_ok=True)
        write_atomic(marker, json.dumps({"schema": HISTORY_SCHEMA, "layout": LAYOUT}, indent=2) + "\n")
        return
    try:
        schema = json.loads(marker.read_text(encoding="utf-8")).get("schema")
    except (ValueError, AttributeError):  # not UTF-8, not JSON, not an object
        schema = None
    if isinstance(schema, int) and schema > HISTORY_SCHEMA:
        raise UserError(f"{marker}: history schema {schema!r} is newer than this cmbench reads ({HISTORY_SCHEMA}); "
                        "update cmbench")
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    if schema != HISTORY_SCHEMA:  # each run's file carries its own version: the marker can be written anew
        write_atomic(marker, json.dumps({"schema": HISTORY_SCHEMA, "layout": LAYOUT}, indent=2) + "\n")
        warn(f"{marker}: damaged; written anew (history schema {HISTORY_SCHEMA}), the stored runs kept")


def _run_file(store: Path, run_id: str) -> Path:
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise UserError(f"run id {run_id!r}: cannot name a history file; the run.json is damaged")
    return store / "runs" / f"{run_id}.parquet"


@dataclass(frozen=True)
class Appended:
    run_id: str
    rows: int
    path: Path
    bytes: int


def append_run(results_dir: Path, run_folder: Path) -> Appended:
    """Add (or replace) one run's rows in the store under `results_dir`; idempotent per run id."""
    store = history_dir(results_dir)
    _check_store(store, create=True)
    frame = run_rows(run_folder)
    facts = run_facts(load_run(Path(run_folder)))
    path = _run_file(store, facts["run_id"])
    _write_parquet(_table(frame, facts), path)
    run_id = facts["run_id"]
    return Appended(run_id, len(frame), path, path.stat().st_size)


@dataclass(frozen=True)
class Rebuilt:
    runs: int
    rows: int
    bytes: int
    seconds: float
    path: Path


def rebuild(results_dir: Path, progress: Callable[[str], None] | None = None) -> Rebuilt:
    """Write the whole store anew from the run folders under `results_dir`, then swap it in.

    A damaged run folder is left out with a warning; the rows the store held for it (its file named
    by the folder, when readable) are kept.
    """
    began = time.perf_counter()
    results_dir = Path(results_dir)
    folders = run_folders(results_dir)
    if not folders:
        raise UserError(f"--results {results_dir}: no run folders (with run.json) found; run `cmbench run` first")
    final = history_dir(results_dir)
    if final.exists():
        _check_store(final, create=False)
    tmp = Path(tempfile.mkdtemp(dir=results_dir, prefix=f".{HISTORY_DIR}.new-"))
    try:
        _check_store(tmp, create=True)
        rows = 0
        seen: dict[str, Path] = {}
        for i, folder in enumerate(folders):
            try:
                frame = run_rows(folder)
                facts = run_facts(load_run(folder))
            except UserError as e:
                rows += _keep_stored(e, folder, final, tmp)
                continue
            run_id = facts["run_id"]
            if run_id in seen:
                raise UserError(f"run {run_id} is in two folders ({seen[run_id]} and {folder}); keep one")
            seen[run_id] = folder
            _write_parquet(_table(frame, facts), _run_file(tmp, run_id))
            rows += len(frame)
            if progress:
                progress(f"[{i + 1}/{len(folders)}] {run_id}: {len(frame)} rows")
        runs = len(list((tmp / "runs").glob("*.parquet")))
        if not runs:
            raise UserError(f"--results {results_dir}: no run folder could be read (each is named above); "
                            "the history store is left as it was")
        os.chmod(tmp, 0o755)
        replace_folder(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in (final / "runs").glob("*.parquet"))
    return Rebuilt(runs, rows, size, time.perf_counter() - began, final)


def _keep_stored(error: UserError, folder: Path, final: Path, tmp: Path) -> int:
    """A damaged run folder during `rebuild`: its stored file (named by its run.json's run id, else by the
    folder), if readable, goes into the new store unchanged. Returns the rows kept; warns either way."""
    try:
        run_id = str(load_run(folder).get("run_id") or folder.name)
    except UserError:
        run_id = folder.name
    old = final / "runs" / f"{run_id}.parquet"
    try:
        kept = pq.read_metadata(old).num_rows if "/" not in run_id else None
    except HEALABLE:
        kept = None
    if kept is None:
        warn(f"{error}; run folder {folder} left out of the history store")
        return 0
    shutil.copy2(old, tmp / "runs" / old.name)
    warn(f"{error}; run folder {folder} left out, its {kept} stored rows kept")
    return kept


def stored_runs(results_dir: Path) -> dict[str, Path]:
    """Run id -> its file in the store."""
    runs = history_dir(results_dir) / "runs"
    return {p.stem: p for p in runs.glob("*.parquet")} if runs.is_dir() else {}


def sync(results_dir: Path) -> list[str]:
    """Append every run folder the store lacks, or whose run.json is newer than its stored rows.

    A damaged run folder is left out with a warning (its stored rows stay). A run a nightly stored
    before (its folder holds alerts.json) whose file is missing is appended again with a warning.
    """
    stored = stored_runs(results_dir)
    added = []
    for folder in run_folders(results_dir):
        try:
            path = stored.get(folder.name)  # a run folder is usually named by its run id
            if path is None:
                path = stored.get(str(load_run(folder).get("run_id") or ""))
            if path is None or path.stat().st_mtime < (folder / "run.json").stat().st_mtime:
                appended = append_run(results_dir, folder)
                added.append(appended.run_id)
                if path is None and (folder / "alerts.json").is_file():
                    warn(f"{appended.path}: missing; rebuilt from {folder}")
        except UserError as e:
            warn(f"{e}; run folder {folder} left out of the history store")
    return added


def _run_folder(results_dir: Path, run_id: str) -> Path | None:
    """The folder of run `run_id`: the one named by it (even when damaged), else one whose run.json names it."""
    direct = Path(results_dir) / run_id
    if (direct / "run.json").is_file():
        return direct
    for folder in run_folders(results_dir):
        try:
            if str(load_run(folder).get("run_id") or "") == run_id:
                return folder
        except UserError:
            continue
    return None


def _heal(results_dir: Path, path: Path, error: Exception) -> Path | None:
    """A stored file that cannot be read: written anew from its run folder (its path returned), else moved
    aside (None: the run is left out). One warning either way."""
    run_id = path.stem
    why = f"unreadable ({' '.join(str(error).split())[:200]})"
    folder = _run_folder(results_dir, run_id)
    if folder is None:
        cause = f"no run folder under {results_dir} holds run {run_id}"
    else:
        try:
            appended = append_run(results_dir, folder)
        except UserError as e:
            cause = f"its run folder is damaged too ({e})"
        except OSError as e:
            raise UserError(f"{path}: {why}; cannot write it anew from {folder} ({e.strerror or e})") from None
        else:
            if appended.path == path:
                warn(f"{path}: {why}; rebuilt from {folder}")
                return path
            cause = f"{folder} holds run {appended.run_id}"
    aside = path.with_name(f"{path.name}.corrupt-{new_run_id()}")
    try:
        os.replace(path, aside)
    except OSError as e:
        raise UserError(f"{path}: {why} and {cause}; cannot move it aside ({e.strerror or e})") from None
    warn(f"{path}: {why} and {cause}; moved aside to {aside}, the run left out of history")
    return None


def _migrate(table: pa.Table, path: Path) -> pa.Table:
    """Bring one stored file to this code's schema; a newer file is refused."""
    version = int((table.schema.metadata or {}).get(SCHEMA_KEY, b"0"))
    if version > HISTORY_SCHEMA:
        raise UserError(f"{path}: history schema {version} is newer than this cmbench reads ({HISTORY_SCHEMA}); "
                        "update cmbench")
    if version == HISTORY_SCHEMA:
        return table
    facts = json.loads((table.schema.metadata or {}).get(RUN_KEY, b"{}"))
    frame = table.to_pandas()
    while version < HISTORY_SCHEMA:
        frame, version = MIGRATIONS[version](frame), version + 1
    return _table(frame, facts)


def load_history(results_dir: Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Every stored row, oldest run first (by start time, then id); an empty frame when there is no store.

    `n` is a nullable integer and `unstable` a boolean (false on rows without figures). A run's file that
    cannot be read is written anew from its run folder, else moved aside and left out (one warning each).
    """
    store = history_dir(results_dir)
    _check_store(store, create=False)
    wanted = list(columns) if columns is not None else list(COLUMNS)
    unknown = [c for c in wanted if c not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown history columns: {unknown}")
    tables = []

    def read(path: Path) -> pa.Table:
        with pq.ParquetFile(path) as f:
            version = int((f.schema_arrow.metadata or {}).get(SCHEMA_KEY, b"0"))
            return f.read(columns=wanted) if version == HISTORY_SCHEMA else _migrate(f.read(), path).select(wanted)

    for path in sorted(stored_runs(results_dir).values()):
        try:
            table = read(path)
        except HEALABLE as e:
            if _heal(results_dir, path, e) is None:
                continue
            try:
                table = read(path)
            except HEALABLE as again:
                raise UserError(f"{path}: unreadable even written anew ({again})") from None
        tables.append(table.replace_schema_metadata(None))
    table = pa.concat_tables(tables) if tables else SCHEMA.empty_table().select(wanted)
    del tables
    if "unstable" in wanted:
        i = wanted.index("unstable")
        table = table.set_column(i, "unstable", pc.fill_null(table["unstable"], False))
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    if "n" in frame:
        frame["n"] = frame["n"].astype("Int64")
    if {"started", "run_id"} <= set(frame.columns):
        frame = frame.sort_values(["started", "run_id"], kind="stable", ignore_index=True)
    return frame


def run_environments(results_dir: Path) -> dict[str, dict[str, Any]]:
    """Run id -> its environment (see `environment_of`), for naming what changed between two runs."""
    return {run_id: facts.get("environment") or {} for run_id, facts in load_runs(results_dir).items()}


def load_runs(results_dir: Path) -> dict[str, dict[str, Any]]:
    """Run id -> the run's facts (start, status, fingerprint and its text, environment), from file footers only."""
    out = {}

    def read(path: Path) -> dict[str, Any]:
        facts = json.loads((pq.read_schema(path).metadata or {}).get(RUN_KEY, b"{}"))
        if not isinstance(facts, dict):
            raise ValueError(f"{RUN_KEY.decode()} is not a JSON object")
        return facts

    for run_id, path in sorted(stored_runs(results_dir).items()):
        try:
            out[run_id] = read(path)
        except HEALABLE as e:
            if _heal(results_dir, path, e) is None:
                continue
            try:
                out[run_id] = read(path)
            except HEALABLE as again:
                raise UserError(f"{path}: unreadable even written anew ({again})") from None
    return out
