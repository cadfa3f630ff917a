"""Memory of a process tree from /proc: resident (RSS) and proportional (PSS) set sizes, summed.

A server may be several processes (Uvicorn's supervisor and one worker per CPU). `ru_maxrss`
of the tree is the largest single process, and one pid's VmRSS misses the workers, so the
harness reads every process of the tree:

- RSS: the sum of each process's VmRSS. Pages the processes share (the interpreter, libraries,
  copy-on-write pages) are counted once per process, so it overstates a multi-process tree.
- PSS: the sum of each process's `Pss` from /proc/PID/smaps_rollup (Linux 4.14+), where a page
  shared by k processes counts 1/k in each, so the sum counts every page once. `None` where
  the kernel does not offer smaps_rollup.

The tree is found through /proc/PID/task/TID/children (every thread's children), recursively;
for a process of more than `MANY_THREADS` threads (a thread-per-connection server holding ten
thousand idle connections) through the parent pid of every process on the host instead (psutil):
one file per process there rather than one per thread here (0.2 s a reading at ten
thousand threads, taken every half second while the phase measures). A process that exits while
being read is skipped.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

PROC = Path("/proc")


@dataclass(frozen=True)
class TreeMemory:
    """One reading of a process tree: bytes resident, proportionally shared, and how many processes."""

    rss: int
    pss: int | None  # None: no smaps_rollup for some process of the tree
    processes: int
    source: str = "proc"  # "proc": /proc of each process; "cgroup": a container's memory usage, in `rss`

    @property
    def best(self) -> int:
        """PSS where the kernel gives it (shared pages counted once), else RSS (or the cgroup's usage)."""
        return self.pss if self.pss is not None else self.rss

    @property
    def kind(self) -> str:
        """Which figure `best` is: "pss", "rss" or "cgroup"."""
        if self.pss is not None:
            return "pss"
        return "cgroup" if self.source == "cgroup" else "rss"


EMPTY = TreeMemory(0, None, 0)


MANY_THREADS = 64  # above this many threads a process's children are found from every process's parent pid


def _children(pid: int, proc: Path, by_parent: Callable[[], dict[int, list[int]]]) -> list[int]:
    """`pid`'s child processes: from its threads' children files, or (a process of many threads) from
    `by_parent()` (every process's children by parent pid)."""
    out: list[int] = []
    try:
        tasks = list((proc / str(pid) / "task").iterdir())
    except OSError:
        return out
    if len(tasks) > MANY_THREADS:
        return by_parent().get(pid, [])
    for task in tasks:
        try:
            out.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return out


def _by_parent() -> dict[int, list[int]]:
    """Every process on the host by its parent pid, in pid order (psutil, as harness/host/gate.py reads them)."""
    found: dict[int, list[int]] = {}
    for p in psutil.process_iter(["pid", "ppid"]):
        found.setdefault(p.info["ppid"] or 0, []).append(p.info["pid"])
    return found


def tree_pids(root: int, proc: Path = PROC) -> list[int]:
    """`root` and every descendant, parents first, read from `proc`; below a process of more than `MANY_THREADS`
    threads the children come from psutil, which reads the host's own /proc whatever `proc` is (a test that passes
    another folder gives psutil's list too)."""
    seen: list[int] = []
    todo = [root]
    by_parent = functools.cache(_by_parent)  # read once, and only for a process of many threads
    while todo:
        pid = todo.pop(0)
        if pid in seen:
            continue
        seen.append(pid)
        todo.extend(_children(pid, proc, by_parent))
    return seen


def _field_kib(text: str, name: str) -> int | None:
    for line in text.splitlines():
        if line.startswith(name):
            return int(line.split()[1]) * 1024
    return None


def read_tree(root: int, proc: Path = PROC) -> TreeMemory:
    """The tree's summed RSS and PSS now; EMPTY when `root` is gone."""
    rss, pss, count, pss_missing = 0, 0, 0, False
    for pid in tree_pids(root, proc):
        try:
            status = (proc / str(pid) / "status").read_text()
        except OSError:
            continue
        resident = _field_kib(status, "VmRSS:")
        if resident is None:  # a zombie or kernel thread has no VmRSS
            continue
        try:
            proportional = _field_kib((proc / str(pid) / "smaps_rollup").read_text(), "Pss:")
        except OSError:
            proportional = None
        count += 1
        rss += resident
        if proportional is None:
            pss_missing = True
        else:
            pss += proportional
    if not count:
        return EMPTY
    return TreeMemory(rss, None if pss_missing else pss, count)


class PeakSampler:
    """Reads a tree's memory every `interval` seconds on a thread and keeps the peaks.

    Used as a context manager around a load phase; `peak_rss`/`peak_pss` are the largest
    readings (PSS None when any reading had none). Reading smaps_rollup walks the process's page
    tables, so the interval is kept long enough not to disturb a server under load.
    """

    def __init__(self, read: Callable[[], TreeMemory], interval: float = 0.5) -> None:
        self._read = read
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self.peak_rss = 0
        self.peak_pss: int | None = 0
        self.samples = 0

    def sample(self) -> None:
        m = self._read()
        if not m.processes:
            return
        self.samples += 1
        self.peak_rss = max(self.peak_rss, m.rss)
        if m.pss is None or self.peak_pss is None:
            self.peak_pss = None
        else:
            self.peak_pss = max(self.peak_pss, m.pss)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def __enter__(self) -> PeakSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def peaks(self) -> MemoryPeaks:
        return MemoryPeaks(self.peak_rss, self.peak_pss if self.samples else None, self.samples)


@dataclass(frozen=True)
class MemoryPeaks:
    """The largest tree readings of a phase."""

    rss: int
    pss: int | None
    samples: int
