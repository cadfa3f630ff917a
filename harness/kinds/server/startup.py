"""The start-up phase: start a server several times and time each start to its first answer.

Each start is a fresh process on a fresh port. The clock starts just before the executor's
start call (so it includes creating the process: fork and exec natively, a container under
docker) and stops when GET /plaintext on a fresh connection first answers 200. Until then the
harness tries to connect every millisecond; a refused connect means nothing listens yet. The
polling thread is pinned to the load generator's CPUs while it polls, so it does not compete
with the starting server for its CPUs. After the answer the program must also have printed its
ready line (the contract), and it must exit 0 on SIGTERM as in verification.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from harness.kinds.server.client import Connection, ProtocolError
from harness.kinds.server.server import ADDRESS_IN_USE, STOP_GRACE, free_port
from harness.measure.outcome import CaseFailure
from harness.measure.process import ChildResult
from harness.measure.start_times import time_to_ready

POLL = 0.001  # seconds between connection attempts
PATH = "/plaintext"


@contextmanager
def pinned(cpus: Sequence[int]) -> Iterator[None]:
    """Run the calling thread on `cpus` for a while (sched_setaffinity on thread 0 = this thread)."""
    before = os.sched_getaffinity(0)
    if cpus:
        os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def first_answer(port: int, alive: Callable[[], bool], timeout: float, *, poll: float = POLL,
                 now: Callable[[], float] = time.perf_counter) -> float | None:
    """When GET /plaintext on 127.0.0.1:port first answered 200 (a `now()` value); None if the
    process died or `timeout` passed first."""
    deadline = now() + timeout
    while now() < deadline:
        try:
            with Connection(port, timeout=max(0.05, deadline - now())) as conn:
                if conn.get(PATH).status == 200:
                    return now()
        except ProtocolError:
            pass  # nothing listening yet, or it closed the connection while starting
        if not alive():
            return None
        time.sleep(poll)
    return None


@dataclass(frozen=True)
class Start:
    seconds: float
    process: ChildResult


def time_one_start(start: Callable[[int], object], cpus_poll: Sequence[int], timeout: float) -> Start:
    """Start one server (`start(port)` returns an executors.Running) and time it to its first answer.

    CaseFailure when it does not answer, breaks the ready-line contract or does not exit 0 on
    SIGTERM. A port taken between choosing it and the server's bind is retried once.
    """
    for attempt in (1, 2):
        port = free_port()
        spawned = time.perf_counter()
        running = start(port)
        try:
            with pinned(cpus_poll):
                answered = first_answer(port, running.alive, timeout)
            line = running.read_line(timeout if answered is not None else 0.1)
        except BaseException:
            running.stop(STOP_GRACE)
            raise
        stopped = running.stop(STOP_GRACE)
        if answered is None:
            if attempt == 1 and ADDRESS_IN_USE.search(stopped.stderr):
                continue
            why = "exited" if stopped.returncode and not stopped.timed_out else "did not answer"
            raise CaseFailure("crashed" if why == "exited" else "timeout",
                              f"start-up: the server on port {port} {why} before answering GET {PATH} with 200 "
                              f"(waited up to {timeout:g} s; exit {stopped.returncode}); stderr: "
                              f"{stopped.stderr_tail() or '(empty)'}")
        if not line or '"ready": true' not in line:
            raise CaseFailure("verify_failed", f"start-up: answered on port {port} but printed no ready line "
                                               f"(first stdout line: {(line or '').strip()[:120]!r})")
        if stopped.timed_out or stopped.returncode != 0:
            raise CaseFailure("verify_failed", f"start-up: exited with status {stopped.returncode} on SIGTERM"
                                               + (" (killed after the grace period)" if stopped.timed_out else "")
                                               + ", expected 0")
        return Start(time_to_ready(spawned, answered), stopped)
    raise AssertionError("unreachable")
