"""Seconds of measurement a run lends between its cases: time goes where it buys precision.

Every adaptive batch case has a budget of seconds (the profile's `budget`). A case that converges
early leaves part of it unspent; a case that is near its precision when its own budget runs out
would stop unconverged. The bank moves the first into the second, within the time the profile
already allows the run:

- a case that stops `converged` deposits what it left of its budget;
- a case that would stop at its budget, or give up as out of reach, asks whether the bank's
  seconds (at most one more budget of its own, so no case runs more than twice its budget) would
  let it go on; if so, it borrows the cost of its next process and runs it. A case still out of
  reach with the loan runs no further: seconds are lent only where they can bring the interval
  within reach (repetition.py `out_of_reach`).

The bank is per run and per host (a cluster host keeps its own), and what it lends is what that
run's converged cases saved, so a run never takes longer than its cases' budgets add up to.

**The run's time limit.** A profile may also give a run a time limit (`time_limit`, the quick
profile's 14 minutes, harness/manifests/model.py), counted from the run's start on its host,
builds included. Once it has passed, the bank is closed: it lends nothing, and a case that would
run another round beyond its minimum processes stops `time_limit` instead, judged on what it has
(harness/kinds/batch/repetition.py). The limit never cuts a case below its minimum, nor a server
phase, so a host that needs longer for those overruns it; what it cuts is the later rounds, which
every unfinished case takes in turn (harness/engine/host.py), so every such case loses its last
ones rather than the last units all of theirs. On a 2-CPU virtual machine whose own hand-off moved
by 13-19% (robust) during each run, a fresh quick run took 25 min 22 s without the limit and
21 min 3 s with it, converging 27 and 29 of 186 batch cases: there the first pass alone (builds,
verification, the server phases, calibration, every case's minimum) took about 19 minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from harness.manifests.model import PROFILE_SHAPES


class TimeBank:
    def __init__(self, limit: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self.balance = 0.0  # seconds deposited and not lent
        self.deposited = 0.0
        self.lent = 0.0
        self.limit = limit  # the run's time limit in seconds from now (0: none)
        self.closes = clock() + limit if limit else None  # `clock` time at which it passes (None: no limit)
        self.clock = clock

    @classmethod
    def for_profile(cls, profile: str, clock: Callable[[], float] = time.monotonic) -> TimeBank:
        """A run's bank, closing when the profile's time limit has passed from now (never, without one)."""
        shape = PROFILE_SHAPES.get(profile)
        return cls(shape.time_limit if shape is not None else 0.0, clock)

    def closed(self) -> bool:
        """Whether the run's time limit has passed: no more lending, no rounds beyond a case's minimum."""
        return self.closes is not None and self.clock() >= self.closes

    def deposit(self, seconds: float) -> None:
        with self._lock:
            self.balance += max(0.0, seconds)
            self.deposited += max(0.0, seconds)

    def available(self, most: float) -> float:
        """Seconds a case may count on beyond its budget: the balance, and never more than `most` (none once closed)."""
        if self.closed():
            return 0.0
        with self._lock:
            return max(0.0, min(self.balance, most))

    def borrow(self, seconds: float) -> float:
        """Take up to `seconds` from the balance; returns what was taken."""
        with self._lock:
            taken = max(0.0, min(self.balance, seconds))
            self.balance -= taken
            self.lent += taken
            return taken
