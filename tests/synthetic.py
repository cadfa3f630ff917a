"""Synthetic nightly runs of the full matrix, for measuring the history store and the site at scale.

    python -m tests.synthetic --out /tmp/nightly --runs 365 [--seed 1] [--no-history]

writes one run folder per night (run.json and results.csv as `cmbench run` writes them: 8
implementation variants x 40 cases x 10 metrics, 5 processes x 10 iterations), appends each to
the history store, and prints the store's size per run. The series are stationary with
realistic noise, except for a few planted changes (STEPS), a Go toolchain upgrade on the night
of the first step and a kernel upgrade (a new environment fingerprint) on KERNEL_NIGHT.
Not a test: a dev helper, and the data behind the figures quoted for the render time.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from harness.measure.metrics import METRICS
from harness.store.run import RESULTS_COLUMNS
from reports.history.store import append_run

IMPLS = (("go/goroutines", "default"), ("go/goroutines", "gomaxprocs1"), ("c/pthreads", "default"),
         ("java/threads", "default"), ("java/virtual", "default"), ("python/asyncio", "default"),
         ("rust/threads", "default"), ("rust/tokio", "default"))
CASES = {  # 40 cases
    "worker_pool": [f"tasks=10000,queue={q},workers={w},rounds=10" for q in (16, 256) for w in (0, 1, 2, 4, 8)],
    "pipeline": [f"items=100000,stages={s},capacity={c}" for s in (2, 4, 8, 16) for c in (1, 64)],
    "mutex_counter": [f"threads={t},increments=100000,mode={m}" for t in (1, 2, 4, 8) for m in ("mutex", "atomic")],
    "ping_pong": [f"roundtrips={r}" for r in (1000, 10000, 100000, 200000, 500000, 1000000)],
    "spawn_idle": [f"tasks={n},sleep_ms=10" for n in (10, 100, 1000, 2000, 5000, 10000, 20000, 50000)],
}
PROCESSES, ITERATIONS = 5, 10
GO_OLD, GO_NEW = "go version go1.27.3 linux/amd64", "go version go1.28.0 linux/amd64"
KERNEL_NIGHT = 250  # from this night on the host runs a newer kernel: a new fingerprint, new series


@dataclass(frozen=True)
class Step:
    night: int
    workload: str
    case_index: int
    impl: str
    variant: str
    metric: str  # "time" scales wall_time and throughput together
    factor: float


STEPS = (
    Step(200, "worker_pool", 3, "go/goroutines", "default", "time", 1.08),  # with the Go upgrade
    Step(300, "mutex_counter", 2, "c/pthreads", "default", "time", 0.90),  # an improvement
    Step(340, "pipeline", 1, "rust/tokio", "default", "time", 1.06),
    Step(355, "spawn_idle", 4, "python/asyncio", "default", "peak_rss", 1.12),
)


def _base(*parts: str) -> float:
    """A stable per-series level in [1, 10) from its names."""
    h = int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:8], 16)
    return 1 + 9 * (h / 0xFFFFFFFF)


def _run_json(run_id: str, started: datetime, night: int, cases: list[dict]) -> dict:
    kernel = "Linux 6.1.0-28-amd64" if night < KERNEL_NIGHT else "Linux 6.1.0-31-amd64"
    toolchains = {impl: {"go": GO_OLD if night < STEPS[0].night else GO_NEW, "c": "gcc 12.2.0",
                         "java": "javac 17.0.13", "python": "Python 3.11.7", "rust": "rustc 1.83.0"}[impl.split("/")[0]]
                  for impl, _ in IMPLS}
    return {
        "schema": 1, "run_id": run_id, "status": "complete", "started": started.isoformat(timespec="seconds"),
        "finished": (started + timedelta(hours=2)).isoformat(timespec="seconds"), "profile": "full",
        "executor": "native", "cpus": [0, 1], "argv": ["cmbench", "nightly"],
        "host": {"hostname": "bench-1", "cpu_model": "Synthetic CPU @ 3.0GHz", "cpu_count": 2,
                 "cpus_allowed": [0, 1], "memory_bytes": 8 * 2**30, "kernel": kernel, "machine": "x86_64",
                 "governor": "performance", "loadavg": [0.1, 0.1, 0.1], "python": "3.11.7",
                 "git": {"commit": hashlib.sha1(f"commit-{night}".encode()).hexdigest(), "dirty": False}},
        "toolchains": toolchains,
        "builds": {impl: {"status": "ok", "seconds": 1.0, "error": ""} for impl, _ in IMPLS},
        "cases": cases,
    }


def write_run(out: Path, night: int, rng: np.random.Generator, start: datetime) -> Path:
    started = start + timedelta(days=night)
    run_id = started.strftime("%Y%m%dT%H%M%SZ")
    folder = out / run_id
    folder.mkdir(parents=True)
    host = 1 + 0.01 * rng.standard_normal()  # the whole night a little faster or slower
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RESULTS_COLUMNS)
    cases = []
    for workload, labels in CASES.items():
        for ci, case in enumerate(labels):
            for impl, variant in IMPLS:
                language, model = impl.split("/")
                params = f"{case},cpus=2,executor=native"
                ident = (run_id, workload, case, impl, language, model, variant, "native", params)
                scale = {"time": 1.0, "peak_rss": 1.0}
                for s in STEPS:
                    if (night >= s.night and (s.workload, s.case_index, s.impl, s.variant)
                            == (workload, ci, impl, variant)):
                        scale[s.metric] *= s.factor
                level = _base(workload, case, impl, variant) * 1e-3 * host * scale["time"]
                level *= 1 + 0.015 * rng.standard_normal()  # this series' run-to-run noise
                walls = level * (1 + 0.03 * rng.standard_normal((PROCESSES, ITERATIONS)))
                ops = 100_000
                rss = _base(impl, "rss") * 2**20 * scale["peak_rss"]
                rows = []
                for p in range(PROCESSES):
                    for i in range(ITERATIONS):
                        rows.append(("wall_time", p, i, walls[p, i]))
                        rows.append(("throughput", p, i, ops / walls[p, i]))
                    cpu = walls[p].sum() * 1.6
                    rows += [("peak_rss", p, "", rss * (1 + 0.01 * rng.standard_normal())),
                             ("cpu_user", p, "", cpu * 0.8), ("cpu_system", p, "", cpu * 0.2),
                             ("ctx_switches_voluntary", p, "", float(rng.poisson(200))),
                             ("ctx_switches_involuntary", p, "", float(rng.poisson(20))),
                             ("cpu_time_per_op", p, "", cpu / (ops * ITERATIONS))]
                rows += [("startup_peak_rss", "", "", rss * 0.6), ("harness_overhead", "", "",
                                                                    0.05 * (1 + 0.05 * rng.standard_normal()))]
                for metric, p, i, v in rows:
                    m = METRICS[metric]
                    w.writerow((*ident, metric, m.unit, m.direction, p, i, repr(float(v))))
                cases.append({"workload": workload, "case": case, "impl": impl, "variant": variant,
                              "language": language, "model": model, "params": dict(
                                  kv.split("=") for kv in params.split(",")),
                              "status": "ok", "error": "", "seconds": 10.0, "harness_overhead": 0.05,
                              "processes": PROCESSES})
    (folder / "results.csv").write_text(buf.getvalue(), encoding="utf-8")
    (folder / "run.json").write_text(json.dumps(_run_json(run_id, started, night, cases), indent=1), encoding="utf-8")
    return folder


def generate(out: Path, runs: int, seed: int = 1, history: bool = True) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    start = datetime(2025, 1, 1, 2, 0, tzinfo=UTC)
    folders = []
    for night in range(runs):
        folder = write_run(out, night, rng, start)
        if history:
            append_run(out, folder)
        folders.append(folder)
    return folders


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="results folder to fill (created)")
    p.add_argument("--runs", type=int, default=365)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-history", action="store_true", help="write run folders only")
    args = p.parse_args(argv)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        print(f"--out {out}: not empty; choose a new folder", file=sys.stderr)
        return 1
    began = time.perf_counter()
    folders = generate(out, args.runs, args.seed, history=not args.no_history)
    seconds = time.perf_counter() - began
    csv_bytes = sum((f / "results.csv").stat().st_size for f in folders)
    store = sorted((out / "history" / "runs").glob("*.parquet")) if not args.no_history else []
    sizes = [p.stat().st_size for p in store]
    print(f"{len(folders)} runs in {seconds:.0f} s; results.csv {csv_bytes / len(folders) / 1e6:.2f} MB per run")
    if sizes:
        print(f"history store: {sum(sizes) / 1e6:.1f} MB, per run median {np.median(sizes) / 1e3:.1f} kB "
              f"(IQR {np.percentile(sizes, 25) / 1e3:.1f}-{np.percentile(sizes, 75) / 1e3:.1f} kB, n={len(sizes)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
