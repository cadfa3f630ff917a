"""The results store: results/<run-id>/ with run.json, results.csv and pyperf samples.

Everything is rewritten atomically (temporary file, then rename) after every case, so an
interrupted run keeps every case it finished. Formats are versioned: `load_run` refuses a
run.json newer than this code.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyperf

from .errors import UserError
from .metrics import Row
from .outcome import CaseResult
from .vocab import impl_label, params_text

if TYPE_CHECKING:
    from .plan import CaseSpec

RUN_SCHEMA = 3
# Schema history of run.json:
#   1: cases without kind, flags, command or spec; an ok case's flags were its `error` text.
#   2: each case records its kind, flags (a list), the exact command, its spec, and for docker its image.
#   3: `hosts` maps each host that measured to its metadata, and each case names its `host`
#      (a cluster or merged run has several); `plan` carries the plan's digest (and shard).
RESULTS_COLUMNS = (
    "run_id", "workload", "case", "impl", "language", "model", "variant", "executor", "params",
    "metric", "unit", "direction", "process", "iteration", "value",
)
# Metrics kept as pyperf benchmarks too, with pyperf's unit names.
PYPERF_UNITS = {"wall_time": "second", "peak_rss": "byte",
                "ctx_switches_voluntary": "integer", "ctx_switches_involuntary": "integer"}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@dataclass
class RunStore:
    out: Path
    run_id: str
    meta: dict[str, Any]
    cases: list[dict[str, Any]] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    benchmarks: list[pyperf.Benchmark] = field(default_factory=list)

    @classmethod
    def create(cls, out: Path, run_id: str, meta: Mapping[str, Any]) -> RunStore:
        if (out / "run.json").exists():
            raise UserError(f"--out {out}: already holds a run (run.json); choose a new folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"--out {out}: cannot create the folder: {e.strerror}") from None
        store = cls(out, run_id, {"schema": RUN_SCHEMA, "run_id": run_id, "status": "running",
                                  "started": now_iso(), "finished": None, **meta})
        store.flush()
        return store

    def add(self, result: CaseResult, rows: Iterable[Row], spec: CaseSpec | None = None,
            provenance: Mapping[str, str] | None = None) -> None:
        p = result.params
        ident = (self.run_id, result.key.workload, result.key.case, result.key.impl, result.language,
                 result.model, result.key.variant, p.get("executor", ""), params_text(p))
        rows = list(rows)
        for r in rows:
            self.rows.append((*ident, r.metric, r.unit, r.direction,
                              "" if r.process is None else r.process,
                              "" if r.iteration is None else r.iteration, repr(float(r.value))))
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
        self.adopt(entry, [], _pyperf_benchmarks(result, rows))

    def adopt(self, entry: Mapping[str, Any], rows: Iterable[Sequence], benchmarks: Iterable[pyperf.Benchmark],
              *, flush: bool = True) -> None:
        """Store a case already in stored form: its run.json entry, results.csv rows (this run's id is set) and
        pyperf benchmarks (what `add` does after converting, and what merging runs does as is)."""
        self.cases.append(dict(entry))
        self.rows.extend((self.run_id, *tuple(r)[1:]) for r in rows)
        self.benchmarks.extend(benchmarks)
        if flush:
            self.flush()

    def finish(self, status: str) -> None:
        self.meta["status"] = status
        self.meta["finished"] = now_iso()
        self.flush()

    def flush(self) -> None:
        write_atomic(self.out / "run.json", json.dumps({**self.meta, "cases": self.cases}, indent=2) + "\n")
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(RESULTS_COLUMNS)
        writer.writerows(self.rows)
        write_atomic(self.out / "results.csv", buf.getvalue())
        if self.benchmarks:
            tmp = self.out / ".samples.pyperf.json"
            pyperf.BenchmarkSuite(self.benchmarks).dump(str(tmp), replace=True)
            os.replace(tmp, self.out / "samples.pyperf.json")


def _pyperf_benchmarks(result: CaseResult, rows: list[Row]) -> list[pyperf.Benchmark]:
    """One pyperf benchmark per metric pyperf can hold: one pyperf run per process."""
    out = []
    base = f"{result.key.workload}[{result.key.case}] {impl_label(result.key.impl, result.key.variant)}"
    for metric, unit in PYPERF_UNITS.items():
        per_process: dict[int, list[float]] = {}
        for r in rows:
            if r.metric == metric and r.process is not None and r.value > 0:
                per_process.setdefault(r.process, []).append(float(r.value) if unit != "integer" else int(r.value))
        if not per_process:
            continue
        runs = [pyperf.Run(values, metadata={"name": f"{base} {metric}", "unit": unit,
                                             "cmbench_metric": metric},
                           collect_metadata=False)
                for _, values in sorted(per_process.items())]
        out.append(pyperf.Benchmark(runs))
    return out


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


# Each step turns a run.json of schema N (the key) into N + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}


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
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a JSON object; the file is damaged")
    return migrate(data, path)
