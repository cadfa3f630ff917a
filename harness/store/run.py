"""The results store: results/<run-id>/ with run.json, results.csv and pyperf samples (one file per metric).

Everything is rewritten after every case, and the files always agree: each is first written in
full to a temporary file, and only when all are written are they renamed into place (run.json
last), with Ctrl-C, SIGTERM and SIGHUP held meanwhile. A failed write (a full
disk) renames nothing, so the folder keeps the cases before; the run then stops with one line
naming the file. So an interrupted run keeps every case it finished.

run.json records the harness's pid, start time, host and boot, so that a run left `running` by
a harness that is gone (killed, or its host rebooted) is marked `abandoned` by the next run
started beside it. Formats are versioned: `load_run` refuses a run.json newer than this code.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as dist_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyperf

from harness.errors import UserError
from harness.measure.interrupts import signals_deferred
from harness.measure.liveness import gone, identity
from harness.measure.metrics import Row
from harness.measure.outcome import CaseResult
from harness.vocab import impl_label, params_text

if TYPE_CHECKING:
    from harness.plan.spec import CaseSpec

RUN_SCHEMA = 6
# Schema history of run.json:
#   1: cases without kind, flags, command or spec; an ok case's flags were its `error` text.
#   2: each case records its kind, flags (a list), the exact command, its spec, and for docker its image.
#   3: `hosts` maps each host that measured to its metadata, and each case names its `host`
#      (a cluster or merged run has several); `plan` carries the plan's digest (and shard).
#   4: run.json as in 3; the pyperf samples beside it are one file per metric (samples_file), each
#      pyperf run carrying its process's duration and start and the run's metadata (pyperf_metadata),
#      where schema 3 had them all in one samples.pyperf.json without (load_samples reads both).
#   5: `interleave` says how far a batch case's processes spread: over the whole run ("run": a local
#      run takes the rounds of its units in turn) or over its unit ("unit": a cluster host runs a unit
#      whole, as every run did before); migrated runs read "unit". A run may record `host_drift`, and a
#      batch case's extra its `cold` processes (absent before: none recorded).
#   6: a batch case's extra records its `spell` processes, set aside as measured in a slow spell of the
#      host (absent before: none set aside), and `host_drift` the probes that found one (`spells`); the
#      median of `extra.ci` weighs each process 1 (its `method` says so; before, all iterations pooled).
RESULTS_COLUMNS = (
    "run_id", "workload", "case", "impl", "language", "model", "variant", "executor", "params",
    "metric", "unit", "direction", "process", "iteration", "value",
)
RUN_STATUSES = ("running", "complete", "interrupted", "failed", "abandoned")
# Metrics kept as pyperf benchmarks too, with pyperf's unit names. One file per metric: pyperf's
# compare_to takes a geometric mean over every benchmark of a file, which only means something
# within one quantity (and all four are lower-is-better, which is what pyperf assumes).
PYPERF_UNITS = {"wall_time": "second", "peak_rss": "byte",
                "ctx_switches_voluntary": "integer", "ctx_switches_involuntary": "integer"}
LEGACY_SAMPLES = "samples.pyperf.json"  # run.json schema 3 and before: every metric in one file


def samples_file(metric: str) -> str:
    """The name of a metric's pyperf file in a run folder."""
    return f"samples.{metric}.pyperf.json"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename, with interrupts held until done."""
    with signals_deferred():
        os.replace(_stage(path, _text(text)), path)


def _text(text: str) -> Callable[[Path], None]:
    return lambda tmp: tmp.write_text(text, encoding="utf-8", newline="")


def _pyperf(benchmarks: list[pyperf.Benchmark]) -> Callable[[Path], None]:
    return lambda tmp: pyperf.BenchmarkSuite(benchmarks).dump(str(tmp), replace=True)


def _stage(path: Path, fill: Callable[[Path], None]) -> Path:
    """A new temporary file beside `path`, filled by `fill`; removed again if that fails.

    An OSError names `path` (a full disk while writing names no file otherwise).
    """
    tmp = None
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        os.close(fd)
        tmp = Path(name)
        tmp.chmod(0o644)
        fill(tmp)
    except BaseException as e:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise
    return tmp


def abandon_stale(parent: Path) -> list[str]:
    """Mark `abandoned` every run under `parent` left `running` by a harness that is gone; what was marked, why."""
    notes = []
    try:
        folders = sorted(p.parent for p in parent.glob("*/run.json"))
    except OSError:
        return notes
    for folder in folders:
        path = folder / "run.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("status") != "running":
            continue
        why = gone(data.get("harness"))
        if not why:
            continue
        data.update(status="abandoned", abandoned={"noticed": now_iso(), "why": why})
        try:
            write_atomic(path, json.dumps(data, indent=2) + "\n")
            for tmp in folder.glob(".*.*"):  # temporary files its writes left
                if tmp.name.startswith((".run.json.", ".results.csv.", ".samples.")):
                    tmp.unlink(missing_ok=True)
        except OSError:
            continue
        notes.append(f"{folder}: marked abandoned: {why}")
    return notes


class StoreError(UserError):
    """A run folder could not be written (a full disk, say): the run stops, the cases before are kept."""


@dataclass
class RunStore:
    out: Path
    run_id: str
    meta: dict[str, Any]
    cases: list[dict[str, Any]] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    benchmarks: list[pyperf.Benchmark] = field(default_factory=list)

    @classmethod
    def create(cls, out: Path, run_id: str, meta: Mapping[str, Any],
               say: Callable[[str], None] | None = None) -> RunStore:
        """A new run folder at `out`; runs beside it whose harness is gone are marked abandoned first."""
        if (out / "run.json").exists():
            raise UserError(f"--out {out}: already holds a run (run.json); choose a new folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"--out {out}: cannot create the folder: {e.strerror}") from None
        for note in abandon_stale(out.parent):
            if say:
                say(note)
        store = cls(out, run_id, {"schema": RUN_SCHEMA, "run_id": run_id, "status": "running",
                                  "started": now_iso(), "finished": None, "harness": identity(), **meta})
        try:
            store._write()
        except OSError as e:
            raise UserError(f"--out {out}: cannot write there ({e.strerror}); choose a writable folder") from None
        return store

    def add(self, result: CaseResult, rows: Iterable[Row], spec: CaseSpec | None = None,
            provenance: Mapping[str, str] | None = None, *, flush: bool = True) -> None:
        """Store one case; StoreError (the folder as before) when it cannot be written (flush=False: later)."""
        p = result.params
        ident = (self.run_id, result.key.workload, result.key.case, result.key.impl, result.language,
                 result.model, result.key.variant, p.get("executor", ""), params_text(p))
        rows = list(rows)
        table = [(*ident, r.metric, r.unit, r.direction, "" if r.process is None else r.process,
                  "" if r.iteration is None else r.iteration, repr(float(r.value))) for r in rows]
        entry: dict[str, Any] = {
            "workload": result.key.workload, "case": result.key.case, "impl": result.key.impl,
            "variant": result.key.variant, "language": result.language, "model": result.model, "kind": result.kind,
            "params": dict(p), "status": result.status, "error": result.error, "flags": list(result.flags),
            "seconds": round(result.seconds, 3), "harness_overhead": round(result.harness_overhead, 4),
            "processes": len(result.processes),
        }
        if spec is not None:
            entry.update(command=list(spec.command), spec=spec.to_dict())
        entry.update(provenance or {})
        if result.detail is not None:
            entry["extra"] = result.detail.to_dict()
        self.adopt(entry, table, _pyperf_benchmarks(result, rows, pyperf_metadata(self.meta, entry)), flush=flush)

    def adopt(self, entry: Mapping[str, Any], rows: Iterable[Sequence], benchmarks: Iterable[pyperf.Benchmark],
              *, flush: bool = True) -> None:
        """Store a case already in stored form: its run.json entry, results.csv rows (this run's id is set) and
        pyperf benchmarks (what `add` does after converting, and what merging runs does as is).

        When the files cannot be written, the case is taken back out, so that what is in memory stays what
        is on disk, and StoreError says so."""
        before = (len(self.cases), len(self.rows), len(self.benchmarks))
        self.cases.append(dict(entry))
        self.rows.extend((self.run_id, *tuple(r)[1:]) for r in rows)
        self.benchmarks.extend(benchmarks)
        if not flush:
            return
        try:
            self._write()
        except OSError as e:
            del self.cases[before[0]:], self.rows[before[1]:], self.benchmarks[before[2]:]
            raise self._failed(e) from None

    def finish(self, status: str) -> None:
        self.meta["status"] = status
        self.meta["finished"] = now_iso()
        self.flush()

    def flush(self) -> None:
        """Write the three files; StoreError (nothing replaced, run.json marked failed if it fits) when it fails."""
        try:
            self._write()
        except OSError as e:
            raise self._failed(e) from None

    def _write(self) -> None:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(RESULTS_COLUMNS)
        writer.writerows(self.rows)
        run = json.dumps({**self.meta, "cases": self.cases}, indent=2) + "\n"
        staged: list[tuple[Path, Path]] = []
        with signals_deferred():
            try:
                files = {"results.csv": _text(buf.getvalue())}
                for metric, benchmarks in _by_metric(self.benchmarks).items():
                    files[samples_file(metric)] = _pyperf(benchmarks)
                files["run.json"] = _text(run)  # last: it names the cases the other two hold
                for name, fill in files.items():
                    staged.append((_stage(self.out / name, fill), self.out / name))
            except BaseException:
                for tmp, _ in staged:
                    tmp.unlink(missing_ok=True)
                raise
            for tmp, final in staged:
                os.replace(tmp, final)

    def _failed(self, e: OSError) -> StoreError:
        """Mark run.json `failed` if run.json alone still fits; the error that stops the run."""
        name = Path(e.filename).name if e.filename else "the run folder"
        why = f"cannot write {name}: {e.strerror}"
        self.meta.update(status="failed", finished=now_iso(), error=why)
        try:
            write_atomic(self.out / "run.json", json.dumps({**self.meta, "cases": self.cases}, indent=2) + "\n")
        except OSError:
            pass  # it stays `running`; the next run beside it marks it abandoned
        return StoreError(f"{self.out / name}: cannot write it ({e.strerror}); the run stopped, and the folder keeps "
                          f"the {len(self.cases)} case(s) stored before")


def _one_line(value: Any) -> str:
    """A pyperf metadata value: one line (pyperf refuses newlines), blanks collapsed."""
    return "; ".join(" ".join(line.split()) for line in str(value).splitlines() if line.strip())


def _cmbench_version() -> str:
    try:
        return dist_metadata.version("cmbench")
    except dist_metadata.PackageNotFoundError:
        return "unknown"


def pyperf_metadata(meta: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """What pyperf shows of the run for one case, under pyperf's own names where it has one: the
    measuring host (its hostname, CPU model and count, platform), the implementation's toolchain,
    cmbench's version and commit, the run's command line and the case's command."""
    hosts = meta.get("hosts") if isinstance(meta.get("hosts"), Mapping) else {}
    host = hosts.get(entry.get("host") or "") or meta.get("host") or {}
    git = host.get("git") if isinstance(host.get("git"), Mapping) else {}
    commit = f"{git['commit']}{'-dirty' if git.get('dirty') else ''}" if git.get("commit") else ""
    toolchains = meta.get("toolchains") if isinstance(meta.get("toolchains"), Mapping) else {}
    found: dict[str, Any] = {
        "hostname": host.get("hostname"), "cpu_model_name": host.get("cpu_model"),
        "platform": " ".join(str(host[k]) for k in ("kernel", "machine") if host.get(k)),
        "cmbench_version": _cmbench_version(), "cmbench_commit": commit,
        "cmbench_command": shlex.join(str(a) for a in meta.get("argv") or ()),
        "cmbench_toolchain": toolchains.get(entry.get("impl")),
        "command": shlex.join(str(a) for a in entry.get("command") or ()),
    }
    out: dict[str, Any] = {k: _one_line(v) for k, v in found.items() if v is not None and _one_line(v)}
    if isinstance(host.get("cpu_count"), int) and host["cpu_count"] > 0:
        out["cpu_count"] = host["cpu_count"]
    return out


def _pyperf_benchmarks(result: CaseResult, rows: list[Row], metadata: Mapping[str, Any]) -> list[pyperf.Benchmark]:
    """One pyperf benchmark per metric pyperf can hold: one pyperf run per process, with the process's
    duration (pyperf would otherwise sum the values, bytes and counts too, as seconds), its start (batch
    processes record it), the warm-up iterations of wall_time, and the run's `metadata`."""
    out = []
    base = f"{result.key.workload}[{result.key.case}] {impl_label(result.key.impl, result.key.variant)}"
    for metric, unit in PYPERF_UNITS.items():
        per_process: dict[int, list[float]] = {}
        for r in rows:
            if r.metric == metric and r.process is not None and r.value > 0:
                per_process.setdefault(r.process, []).append(float(r.value) if unit != "integer" else int(r.value))
        if not per_process:
            continue
        runs = []
        for p, values in sorted(per_process.items()):
            proc = result.processes[p] if 0 <= p < len(result.processes) else None
            run_meta = {**metadata, "name": f"{base} {metric}", "unit": unit, "cmbench_metric": metric, "loops": 1}
            warmups = None
            if proc is not None:
                if proc.wall > 0:
                    run_meta["duration"] = proc.wall
                if proc.started > 0:
                    run_meta["date"] = datetime.fromtimestamp(proc.started, UTC).isoformat(timespec="seconds")
                if metric == "wall_time":
                    warmups = [(1, it.elapsed) for it in proc.iterations if it.warmup and it.elapsed > 0] or None
            runs.append(pyperf.Run(values, warmups=warmups, metadata=run_meta, collect_metadata=False))
        out.append(pyperf.Benchmark(runs))
    return out


def _metric_of(bench: pyperf.Benchmark) -> str:
    return str(bench.get_metadata().get("cmbench_metric") or bench.get_name().rsplit(" ", 1)[-1])


def _by_metric(benchmarks: Iterable[pyperf.Benchmark]) -> dict[str, list[pyperf.Benchmark]]:
    """The benchmarks of each metric, metrics in PYPERF_UNITS order."""
    groups: dict[str, list[pyperf.Benchmark]] = {}
    for bench in benchmarks:
        groups.setdefault(_metric_of(bench), []).append(bench)
    order = {m: i for i, m in enumerate(PYPERF_UNITS)}
    return dict(sorted(groups.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def load_samples(folder: Path) -> list[pyperf.Benchmark]:
    """Every pyperf benchmark of a run folder: its per-metric files, or the one file of a run written
    before them (run.json schema 3 and older); none when it has neither."""
    paths = sorted(folder.glob(samples_file("*")))
    if not paths and (folder / LEGACY_SAMPLES).exists():
        paths = [folder / LEGACY_SAMPLES]
    benchmarks = []
    for path in paths:
        try:
            benchmarks.extend(pyperf.BenchmarkSuite.load(str(path)).get_benchmarks())
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UserError(f"{path}: not a pyperf file cmbench wrote ({e}); the file is damaged") from None
    return [bench for group in _by_metric(benchmarks).values() for bench in group]


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    for c in data.get("cases", ()):
        if not isinstance(c, dict):
            continue
        c.setdefault("kind", "server" if isinstance(c.get("extra"), dict) and "phase" in c["extra"] else "batch")
        if "flags" not in c:
            flagged = c.get("status") == "ok" and c.get("error")
            c["flags"] = str(c["error"]).split("; ") if flagged else []
            if flagged:
                c["error"] = ""
    return {**data, "schema": 2}


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    host = data.get("host") if isinstance(data.get("host"), dict) else {}
    name = str(host.get("hostname") or "unknown")
    data.setdefault("hosts", {name: host})
    for c in data.get("cases", ()):
        if isinstance(c, dict):
            c.setdefault("host", name)
    return {**data, "schema": 3}


def _v3_to_v4(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "schema": 4}  # only the samples files changed; load_samples reads the old one


def _v4_to_v5(data: dict[str, Any]) -> dict[str, Any]:
    return {"interleave": "unit", **data, "schema": 5}  # every run before schema 5 ran a unit whole


def _v5_to_v6(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "schema": 6}  # a missing `spell` reads as none set aside; `ci.method` says how its median was taken


# Each step turns a run.json of schema N (the key) into N + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4,
                                                                       4: _v4_to_v5, 5: _v5_to_v6}


def migrate(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """A run.json of any schema this code knows, brought up to RUN_SCHEMA step by step."""
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise UserError(f"{path}: schema {schema!r} is not a run.json schema; the file is damaged")
    if schema > RUN_SCHEMA:
        raise UserError(f"{path}: schema {schema!r} is newer than this cmbench reads ({RUN_SCHEMA}); update cmbench")
    while schema < RUN_SCHEMA:
        data = MIGRATIONS[schema](data)
        schema += 1
    return data


def load_run(folder: Path) -> dict[str, Any]:
    """Read a run.json, migrating older schemas and refusing newer ones."""
    path = folder / "run.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: not found; pass a folder written by `cmbench run`") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; the file is damaged") from None
    except ValueError as e:  # not JSON, or an integer past CPython's digit limit
        raise UserError(f"{path}: not valid JSON ({str(e)[:200]})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a JSON object; the file is damaged")
    return migrate(data, path)
