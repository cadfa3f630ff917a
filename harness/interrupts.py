"""Stopping cleanly on a signal: Ctrl-C, SIGTERM and SIGHUP (a closed terminal) mean one thing.

`Interrupts` turns each of them into one KeyboardInterrupt, which the runner answers by
stopping every child and saving the finished cases; `signals_deferred` keeps a signal from
cutting a results file write short.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupts:
    """SIGINT, SIGTERM and SIGHUP (a closed terminal) all raise KeyboardInterrupt, once.

    Later signals, while the first is being handled (children stopped, finished cases saved),
    only say so: a second Ctrl-C must not break the clean-up. Only the main thread can install
    handlers; elsewhere this does nothing.
    """

    def __init__(self) -> None:
        self.raised = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame) -> None:
        if self.raised:
            print("cmbench: already stopping; wait for the clean-up", file=sys.stderr)
            return
        self.raised = True
        raise KeyboardInterrupt

    def install(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in INTERRUPTS}
        return self

    def restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}

    def __enter__(self) -> Interrupts:
        return self.install()

    def __exit__(self, *exc) -> None:
        self.restore()


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block is done (a write that must not be cut short).

    A signal that arrives meanwhile is recorded and raised again once the previous handlers are
    back, so it then does what it would have done. Blocking the signals with pthread_sigmask
    would not do: the kernel hands a process's signal to any thread that does not block it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: arrived.append(signum)) for s in INTERRUPTS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for signum in dict.fromkeys(arrived):
            signal.raise_signal(signum)
