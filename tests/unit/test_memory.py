"""Memory of a process tree from a fake /proc, and from the real one."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

from harness.measure import memory
from harness.measure.memory import MANY_THREADS, PeakSampler, TreeMemory, read_tree, tree_pids


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


def test_a_process_of_many_threads_finds_its_children_from_their_parent_pids(tmp_path, monkeypatch):
    """A thread-per-connection server holding thousands of connections: its children come from every process's
    parent pid (psutil: one file per process) instead of a children file per thread, and are the same processes."""
    _proc(tmp_path, 10, [], 30_000, 12_000)
    for tid in range(11, 11 + MANY_THREADS + 1):  # the server's threads, no children files read
        (tmp_path / "10" / "task" / str(tid)).mkdir()
    _proc(tmp_path, 300, [], 1_000, 500)  # its child, forked by one of the threads
    _proc(tmp_path, 301, [], 1_000, 500)  # and that child's own
    _proc(tmp_path, 7, [], 1_000, 500)  # an unrelated process
    parents = ((7, 1), (10, 1), (300, 10), (301, 300))
    monkeypatch.setattr(memory.psutil, "process_iter",
                        lambda attrs: iter([SimpleNamespace(info={"pid": pid, "ppid": ppid}) for pid, ppid in parents]))
    (tmp_path / "10" / "task" / "10" / "children").write_text("")  # would miss 300 if it were the source
    (tmp_path / "300" / "task" / "300" / "children").write_text("301")
    assert tree_pids(10, tmp_path) == [10, 300, 301]
    assert read_tree(10, tmp_path).processes == 3


def test_a_real_process_of_many_threads_counts_its_children(tmp_path):
    import subprocess
    import sys

    code = ("import subprocess, threading, time\n"
            f"threads = [threading.Thread(target=time.sleep, args=(30,), daemon=True) "
            f"for _ in range({MANY_THREADS + 8})]\n"
            "[t.start() for t in threads]\n"
            "threading.Thread(target=lambda: subprocess.run(['sleep', '30']), daemon=True).start()\n"
            "time.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(tree_pids(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(os.listdir(f"/proc/{proc.pid}/task")) > MANY_THREADS
        assert len(tree_pids(proc.pid)) == 2 and read_tree(proc.pid).processes == 2
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
