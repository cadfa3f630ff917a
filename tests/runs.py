"""Small run folders for tests of the history store, alerts and the nightly: run.json and results.csv
as `cmbench run` writes them, one wall_time and one peak_rss series per (workload, implementation)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from harness.measure.metrics import METRICS
from harness.store.run import RESULTS_COLUMNS

CASE = "n=1"


def fake_commit(night: int) -> str:
    """A commit id no repository has."""
    return hashlib.sha1(f"night {night}".encode()).hexdigest()


def make_run(results: Path, night: int, levels: Mapping[tuple[str, str], float], *, kernel: str = "Linux 6.1.0",
             toolchain: str = "go version go1.27.3", commit: str | None = None, noise: float = 0.005,
             seed: int | None = None, folder: Path | None = None, flags: list[str] | None = None,
             rss: float = 2.0**20) -> Path:
    """Run `night` (one a day from 2026-01-01) with wall_time samples around each level (seconds)
    and a peak_rss of `rss` bytes.

    The folder is results/<run id>, or `folder`."""
    rng = np.random.default_rng(night if seed is None else seed)
    month, day = divmod(night, 28)  # every month has 28 nights here: enough for a test
    run_id = f"2026{month + 1:02d}{day + 1:02d}T020000Z"
    folder = folder or results / run_id
    folder.mkdir(parents=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RESULTS_COLUMNS)
    cases = []
    impls = sorted({impl for _, impl in levels})
    for (workload, impl), level in levels.items():
        language, model = impl.split("/")
        ident = (run_id, workload, CASE, impl, language, model, "default", "native", f"{CASE},cpus=2,executor=native")
        for p in range(2):
            for i in range(5):
                v = level * (1 + noise * rng.standard_normal())
                w.writerow((*ident, "wall_time", "s", "lower", p, i, repr(v)))
            w.writerow((*ident, "peak_rss", METRICS["peak_rss"].unit, "lower", p, "", repr(rss)))
        cases.append({"workload": workload, "case": CASE, "impl": impl, "variant": "default", "language": language,
                      "model": model, "params": {"n": 1, "cpus": 2, "executor": "native"}, "status": "ok",
                      "error": "", "flags": list(flags or []), "seconds": 1.0, "harness_overhead": 0.01,
                      "processes": 2})
    (folder / "results.csv").write_text(buf.getvalue(), encoding="utf-8")
    started = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T02:00:00+00:00"
    meta = {"schema": 1, "run_id": run_id, "status": "complete", "started": started, "finished": started,
            "profile": "smoke", "executor": "native", "cpus": [0, 1], "argv": [],
            "host": {"hostname": "h", "cpu_model": "Test CPU", "cpu_count": 2, "cpus_allowed": [0, 1],
                     "memory_bytes": 2**33, "kernel": kernel, "machine": "x86_64", "governor": "performance",
                     "loadavg": [0.0, 0.0, 0.0], "python": "3.11.7",
                     "git": {"commit": commit or fake_commit(night), "dirty": False}},
            "toolchains": {impl: toolchain if impl.startswith("go/") else "gcc 12" for impl in impls},
            "builds": {}, "cases": cases}
    (folder / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder
