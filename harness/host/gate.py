"""Is the host quiet enough to measure? Other processes' CPU time over a window, from /proc.

The load average is the wrong signal on a benchmark host: it counts the benchmark's own runnable
threads (a thread-per-connection server under load pushes it to 40 on 2 CPUs). `HostGate`
samples every process's CPU time twice, a window apart (psutil, which reads /proc/<pid>/stat),
leaves out the benchmark's own process trees (the given pids and all their descendants, and
this process), and calls the host busy when the others used more than a threshold of CPU. A
busy host is waited for, up to a bound; when it stays busy the case is measured anyway and
flagged, never silently mixed with quiet measurements.

`OthersWatch` applies the same count to the time a case was measured: every case a host runs
is flagged `host busy` when other processes used more than `BUSY_CPUS` while it ran. Processes
in containers (below a containerd shim) count as the benchmark's own: under the docker executor
the measured programs run there, and the harness does not tell its containers from others'.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import psutil

BUSY_FLAG = "host busy"
BUSY_CPUS = 0.25  # CPUs other processes may use, on average, while a case is measured before it is flagged
CONTAINER_PARENTS = ("containerd-shim", "containerd-shim-runc-v2", "docker-containerd-shim")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    name: str
    cpu: float  # user + system seconds so far
    created: float = 0.0  # start time: tells a reused pid from the same process


def sample_processes() -> dict[int, Proc]:
    """Every process's CPU time so far (processes that vanish or hide are left out)."""
    out = {}
    for p in psutil.process_iter(["pid", "ppid", "name", "cpu_times", "create_time"]):
        info = p.info
        times = info.get("cpu_times")
        if times is None:
            continue
        out[info["pid"]] = Proc(info["pid"], info.get("ppid") or 0, info.get("name") or "?",
                                times.user + times.system, info.get("create_time") or 0.0)
    return out


def descendants(procs: Mapping[int, Proc], roots: Iterable[int]) -> set[int]:
    """`roots` and every process below them."""
    children: dict[int, list[int]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p.pid)
    seen, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(children.get(pid, ()))
    return seen


@dataclass(frozen=True)
class Busy:
    cpus: float  # CPUs the other processes used over the window (1.0 = one CPU all the time)
    top: tuple[tuple[int, str, float], ...]  # (pid, name, CPUs) of the busiest others

    def text(self) -> str:
        return ", ".join(f"{name} (pid {pid}) {cpu:.0%}" for pid, name, cpu in self.top)


def others(first: Mapping[int, Proc], second: Mapping[int, Proc], elapsed: float, own_pids: Iterable[int] = (),
           containers_own: bool = False) -> Busy:
    """CPUs used between two samples by every process outside this one's tree and `own_pids`' trees
    (and, with `containers_own`, outside every container)."""
    roots = [os.getpid(), *own_pids]
    if containers_own:
        roots += [p.pid for p in second.values() if p.name in CONTAINER_PARENTS]
    mine = descendants(second, roots) | descendants(first, roots)
    used = []
    for pid, p in second.items():
        if pid in mine:
            continue
        before = first.get(pid)
        delta = p.cpu - (before.cpu if before is not None and before.created == p.created else 0.0)
        if delta > 0:
            used.append((pid, p.name, delta / elapsed))
    used.sort(key=lambda u: u[2], reverse=True)
    return Busy(sum(u[2] for u in used), tuple(used[:3]))


class OthersWatch:
    """Other processes' CPU use since the watch began (or was last read): the busy-host flag of a measurement.

    `flags()` reads the interval and starts the next one, so a runner can read it after each case.
    """

    def __init__(self, busy_cpus: float = BUSY_CPUS, *, containers_own: bool = True,
                 sample: Callable[[], Mapping[int, Proc]] = sample_processes,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.busy_cpus = busy_cpus
        self.containers_own = containers_own
        self.sample = sample
        self.clock = clock
        self._first = sample()
        self._began = clock()

    def flags(self) -> list[str]:
        second, now = self.sample(), self.clock()
        elapsed = max(now - self._began, 1e-6)
        busy = others(self._first, second, elapsed, containers_own=self.containers_own)
        self._first, self._began = second, now
        if busy.cpus <= self.busy_cpus:
            return []
        return [f"{BUSY_FLAG}: other processes used {busy.cpus:.2f} CPUs while this was measured ({elapsed:.0f} s; "
                f"{busy.text()}); figures may be disturbed"]


@dataclass
class HostGate:
    """Waits, before each case, until other processes leave the CPUs alone.

    busy_cpus: other processes' CPU use (in CPUs, summed) above which the host counts as busy;
    window: seconds each measurement covers; max_wait: seconds to wait for quiet before measuring
    anyway, flagged. `sample`, `clock` and `sleep` are the process boundary (tests fake them).
    """

    busy_cpus: float = 0.15
    window: float = 1.0
    max_wait: float = 300.0
    poll: float = 5.0
    sample: Callable[[], Mapping[int, Proc]] = sample_processes
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def measure(self, own_pids: Iterable[int] = ()) -> Busy:
        """Other processes' CPU use over one window."""
        first = self.sample()
        t0 = self.clock()
        self.sleep(self.window)
        second = self.sample()
        return others(first, second, max(self.clock() - t0, 1e-6), own_pids)

    def wait_quiet(self, own_pids: Iterable[int] = ()) -> list[str]:
        """Wait (bounded) until the host is quiet; the flags to attach to the case (none when it was quiet)."""
        own = list(own_pids)
        began = self.clock()
        while True:
            busy = self.measure(own)
            if busy.cpus <= self.busy_cpus:
                return []
            waited = self.clock() - began
            if waited >= self.max_wait:
                return [f"{BUSY_FLAG}: other processes used {busy.cpus:.2f} CPUs over {self.window:g} s after "
                        f"waiting {waited:.0f} s for quiet ({busy.text()}); figures may be disturbed"]
            self.sleep(min(self.poll, max(0.0, self.max_wait - waited)))
