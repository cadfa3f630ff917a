"""Stopping cleanly on a signal: Ctrl-C, SIGTERM and SIGHUP (a closed terminal) mean one thing.

`Interrupts` turns each of them into one KeyboardInterrupt, which the runner answers by
stopping every child and saving the finished cases; `signals_deferred` keeps a signal from
cutting a results file write short.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOPPING = "cmbench: already stopping; wait for the clean-up"


def _say(text: str) -> None:
    """Print `text` from a signal handler. The handler may run while the main code is inside a write to
    stderr, whose buffer then refuses a second one (RuntimeError: reentrant call); the line goes straight
    to the descriptor instead. A terminal that is gone (SIGHUP) takes nothing, and that is no error."""
    try:
        print(text, file=sys.stderr, flush=True)
    except RuntimeError:
        try:
            os.write(2, (text + "\n").encode())
        except OSError:
            pass
    except (OSError, ValueError):
        pass


class Interrupts:
    """SIGINT, SIGTERM and SIGHUP (a closed terminal) all raise KeyboardInterrupt, once.

    Later signals, while the first is being handled (children stopped, finished cases saved),
    only say so: a second Ctrl-C must not break the clean-up. "Once" holds across nesting (the
    command's handler around a run's): after the first signal, none raises again until the
    outermost block is left. Only the main thread can install handlers; elsewhere this does nothing.
    """

    _depth = 0  # nested blocks installed now
    _raised = False  # a signal was turned into KeyboardInterrupt inside the outermost block

    def __init__(self) -> None:
        self._previous: dict[int, object] = {}

    @property
    def raised(self) -> bool:
        return Interrupts._raised

    def _handle(self, signum: int, frame) -> None:
        if Interrupts._raised:
            _say(STOPPING)
            return
        Interrupts._raised = True
        raise KeyboardInterrupt

    def install(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in INTERRUPTS}
            Interrupts._depth += 1
        return self

    def restore(self) -> None:
        if not self._previous:
            return
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}
        Interrupts._depth -= 1
        if Interrupts._depth == 0:
            Interrupts._raised = False

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
