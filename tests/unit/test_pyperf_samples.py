"""The pyperf samples of a run, read by pyperf's own tools: units, durations, dates and metadata.

Two small runs are stored as `cmbench run` stores them; `python -m pyperf` (show, stats, metadata,
check, compare_to) then reads their files in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyperf
import pytest

from harness.engine.merge import read_run
from harness.measure.metrics import case_rows
from harness.measure.outcome import CaseKey, CaseResult, Iteration, ProcessRun
from harness.measure.process import Rusage
from harness.store.run import LEGACY_SAMPLES, PYPERF_UNITS, RUN_SCHEMA, RunStore, load_samples, samples_file

STARTED = 1_767_232_800.0  # 2026-01-01 02:00:00 UTC
HOST = {"hostname": "bench1", "cpu_model": "Test CPU @ 3.0GHz", "cpu_count": 2, "kernel": "Linux 6.1.0",
        "machine": "x86_64", "git": {"commit": "0123456789abcdef", "dirty": False}}
CASES = (("ping_pong", "roundtrips=1000", "c/pthreads", 0.010, 3 * 2**20),
         ("worker_pool", "tasks=100", "go/goroutines", 0.020, 24 * 2**20))


def case(workload: str, label: str, impl: str, seconds: float, rss: int) -> CaseResult:
    processes = []
    for p in range(3):
        its = (Iteration(0, True, seconds * 1.5),) + tuple(
            Iteration(i, False, seconds * (1 + 0.01 * (i + p))) for i in range(1, 4))
        processes.append(ProcessRun(its, Rusage(0.05, 0.01, rss + 4096 * p, 100 + p, 10 + p), wall=0.25,
                                    started=STARTED + 10 * p))
    language, model = impl.split("/")
    return CaseResult(CaseKey(workload, label, impl, "default"), language, model,
                      {"cpus": 2, "executor": "native"}, "ok", operations=1000, processes=tuple(processes),
                      baseline=Rusage(0.01, 0.0, 2**20, 5, 1), seconds=1.0)


def store_run(out: Path, run_id: str, slower: float) -> Path:
    meta = {"argv": ["cmbench", "run", "--profile", "smoke"], "host": HOST, "hosts": {"bench1": HOST},
            "toolchains": {"c/pthreads": "gcc (Debian 12.2.0-14) 12.2.0\nCopyright (C) 2022",
                           "go/goroutines": "go version go1.27.3 linux/amd64"}}
    store = RunStore.create(out, run_id, meta)
    for workload, label, impl, seconds, rss in CASES:
        result = case(workload, label, impl, seconds * slower, int(rss * slower))
        store.add(result, case_rows(result), provenance={"host": "bench1"})
    store.finish("complete")
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return store_run(root / "a", "20260101T020000Z", 1.0), store_run(root / "b", "20260102T020000Z", 1.2)


def pyperf_tool(*args: object) -> str:
    r = subprocess.run([sys.executable, "-m", "pyperf", *map(str, args)], capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_one_file_per_metric_each_of_one_unit(runs):
    a, _ = runs
    assert not (a / LEGACY_SAMPLES).exists()
    for metric, unit in PYPERF_UNITS.items():
        suite = pyperf.BenchmarkSuite.load(str(a / samples_file(metric)))
        assert {b.get_unit() for b in suite} == {unit}
        assert {b.get_metadata()["cmbench_metric"] for b in suite} == {metric}
        assert len(suite) == len(CASES)
    assert json.loads((a / "run.json").read_text())["schema"] == RUN_SCHEMA


def test_stats_show_bytes_and_the_processes_real_duration(runs):
    a, _ = runs
    out = pyperf_tool("stats", a / samples_file("peak_rss"))
    assert "MiB" in out and "day" not in out and "hour" not in out
    # 3 processes of 0.25 s per case, not the sum of their peak RSS read as seconds
    assert "Total duration: 1.5 sec" in out and "Total duration: 750 ms" in out
    assert "Start date: 2026-01-01 02:00:00" in out and "End date: 2026-01-01 02:00:21" in out
    shown = pyperf_tool("show", a / samples_file("peak_rss"))
    assert "MiB" in shown and "sec" not in shown


def test_wall_time_keeps_its_warmups_and_seconds(runs):
    a, _ = runs
    out = pyperf_tool("stats", a / samples_file("wall_time"))
    assert "Number of warmup per run: 1" in out and "Number of value per run: 3" in out
    assert "ms" in out and "MiB" not in out and "Loop iterations per value: 1" in out


def test_metadata_carries_the_run_and_its_host(runs):
    a, _ = runs
    out = pyperf_tool("metadata", a / samples_file("wall_time"))
    for line in ("hostname: bench1", "cpu_model_name: Test CPU @ 3.0GHz", "cpu_count: 2",
                 "platform: Linux 6.1.0 x86_64", "loops: 1", "cmbench_commit: 0123456789abcdef",
                 "cmbench_command: cmbench run --profile smoke",
                 "cmbench_toolchain: gcc (Debian 12.2.0-14) 12.2.0; Copyright (C) 2022",
                 "cmbench_toolchain: go version go1.27.3 linux/amd64"):
        assert f"- {line}\n" in out, line
    assert "- cmbench_version: " in out
    runs_meta = [r.get_metadata() for b in load_samples(a) for r in b.get_runs()]
    assert all(m["date"].startswith("2026-01-01T02:00") and m["duration"] == 0.25 for m in runs_meta)


def test_check_reads_the_files(runs):
    a, _ = runs
    for metric in PYPERF_UNITS:
        out = pyperf_tool("check", a / samples_file(metric))
        assert "day" not in out


def test_compare_to_stays_within_one_unit(runs):
    a, b = runs
    wall = pyperf_tool("compare_to", a / samples_file("wall_time"), b / samples_file("wall_time"))
    assert "1.20x slower" in wall and "Geometric mean: 1.20x slower" in wall
    assert "MiB" not in wall and "KiB" not in wall and re.search(r"\d ms\b", wall)
    rss = pyperf_tool("compare_to", "--table", a / samples_file("peak_rss"), b / samples_file("peak_rss"))
    assert "MiB" in rss and "KiB" in rss and not re.search(r"\d (sec|ms|us)\b", rss)
    assert re.search(r"\| Geometric mean +\| \(ref\) +\| 1.20x slower", rss)
    assert wall.count("Geometric mean") == rss.count("Geometric mean") == 1


def test_a_run_written_before_the_split_is_still_read(runs, tmp_path):
    a, _ = runs
    old = tmp_path / "old"
    old.mkdir()
    (old / "results.csv").write_bytes((a / "results.csv").read_bytes())
    run = json.loads((a / "run.json").read_text())
    (old / "run.json").write_text(json.dumps({**run, "schema": 3}))
    benchmarks = load_samples(a)
    pyperf.BenchmarkSuite(benchmarks).dump(str(old / LEGACY_SAMPLES))
    assert [b.get_name() for b in load_samples(old)] == [b.get_name() for b in benchmarks]
    stored = read_run(old)
    assert stored.meta["schema"] == RUN_SCHEMA and len(stored.benchmarks) == len(benchmarks)


def test_a_damaged_samples_file_is_named(runs, tmp_path):
    from harness.errors import UserError

    (tmp_path / samples_file("wall_time")).write_text("{not json")
    with pytest.raises(UserError, match=r"samples\.wall_time\.pyperf\.json: not a pyperf file"):
        load_samples(tmp_path)
