"""Where the harness's own threads run while a case is measured: off the case's CPUs, when the host has others.

The harness is one process of several threads (the main one, one per output pipe of a running
child, a cluster worker's event loop). Left alone they run on any CPU the process may use, the
measured ones included, where each wake-up (a line of output, a poll, a timer) takes the CPU from
the program being measured. `kept_off(cpus)` moves every thread of this process to the CPUs it
may use outside `cpus` for the time of a case, and gives each its CPUs back afterwards; threads
started meanwhile inherit their creator's CPUs and get the process's CPUs back as well. The
children keep their own pinning (they set it themselves before exec). With no CPU outside `cpus`
nothing moves.

Linux's sched_setaffinity applies to one thread, named by its id: the threads are the entries
of /proc/self/task. A thread that ends meanwhile, or a cpuset that refuses, leaves that thread
where it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


def spare_cpus(cpus: Sequence[int], allowed: Sequence[int]) -> tuple[int, ...]:
    """The CPUs of `allowed` that are not in `cpus`, in order."""
    taken = set(cpus)
    return tuple(c for c in sorted(allowed) if c not in taken)


def _threads() -> list[int]:
    try:
        return [int(t) for t in os.listdir("/proc/self/task") if t.isdigit()]
    except OSError:
        return []


def _set(tid: int, cpus: set[int] | Sequence[int]) -> bool:
    try:
        os.sched_setaffinity(tid, cpus)
        return True
    except OSError:  # the thread ended, or its cpuset does not allow these CPUs
        return False


@contextmanager
def kept_off(cpus: Sequence[int], allowed: Sequence[int] | None = None) -> Iterator[tuple[int, ...]]:
    """Every thread of this process on `allowed` (default: the calling thread's CPUs) less `cpus`, until
    the block ends. Yields the CPUs the threads were moved to: () when none are spare or none moved."""
    allowed = sorted(os.sched_getaffinity(0)) if allowed is None else sorted(allowed)
    spare = spare_cpus(cpus, allowed)
    before: dict[int, set[int]] = {}
    if spare:
        for tid in _threads():
            try:
                mask = os.sched_getaffinity(tid)
            except OSError:
                continue
            if _set(tid, spare):
                before[tid] = mask
    try:
        yield spare if before else ()
    finally:
        if before:
            for tid in _threads():
                _set(tid, before.get(tid, allowed))
