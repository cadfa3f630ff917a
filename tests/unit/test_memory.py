"""Memory of a process tree from a fake /proc, and from the real one."""

from __future__ import annotations

import os
from pathlib import Path

from harness.measure.memory import PeakSampler, TreeMemory, read_tree, tree_pids


def _proc(tmp_path: Path, pid: int, children: list[int], rss_kib: int, pss_kib: int | None) -> None:
    d = tmp_path / str(pid)
    (d / "task" / str(pid)).mkdir(parents=True)
    (d / "task" / str(pid) / "children").write_text(" ".join(map(str, children)))
    (d / "status").write_text(f"Name:\tx\nVmRSS:\t{rss_kib} kB\n")
    if pss_kib is not None:
        (d / "smaps_rollup").write_text(f"Rss:  {rss_kib} kB\nPss:  {pss_kib} kB\n")


def test_tree_memory_sums_rss_and_pss_over_the_tree(tmp_path):
    _proc(tmp_path, 10, [11, 12], 30_000, 12_000)  # a supervisor
    _proc(tmp_path, 11, [], 40_000, 20_000)  # two workers sharing the interpreter's pages
    _proc(tmp_path, 12, [], 40_000, 20_000)
    assert tree_pids(10, tmp_path) == [10, 11, 12]
    m = read_tree(10, tmp_path)
    assert (m.rss, m.pss, m.processes) == (110_000 * 1024, 52_000 * 1024, 3)
    assert m.best == m.pss and m.kind == "pss"


def test_tree_memory_without_smaps_rollup_is_rss_only(tmp_path):
    _proc(tmp_path, 10, [11], 30_000, 12_000)
    _proc(tmp_path, 11, [], 40_000, None)
    m = read_tree(10, tmp_path)
    assert m.pss is None and m.best == 70_000 * 1024 and m.kind == "rss"


def test_a_gone_process_reads_empty(tmp_path):
    assert read_tree(999, tmp_path).processes == 0


def test_the_real_tree_of_this_process():
    m = read_tree(os.getpid())
    assert m.processes >= 1 and m.rss > 0


def test_peak_sampler_keeps_the_largest_readings():
    readings = iter([TreeMemory(100, 50, 2), TreeMemory(300, 90, 2), TreeMemory(200, 120, 2)])
    sampler = PeakSampler(lambda: next(readings, TreeMemory(0, None, 0)), interval=3600)
    sampler.sample()
    sampler.sample()
    sampler.sample()
    peaks = sampler.peaks()
    assert (peaks.rss, peaks.pss, peaks.samples) == (300, 120, 3)


def test_a_real_tree_counts_every_process():
    import subprocess
    import time

    proc = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"], start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while len(tree_pids(proc.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        m = read_tree(proc.pid)
        assert m.processes == 3 and m.rss > 0
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
