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
"""

from __future__ import annotations

import threading


class TimeBank:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.balance = 0.0  # seconds deposited and not lent
        self.deposited = 0.0
        self.lent = 0.0

    def deposit(self, seconds: float) -> None:
        with self._lock:
            self.balance += max(0.0, seconds)
            self.deposited += max(0.0, seconds)

    def available(self, most: float) -> float:
        """Seconds a case may count on beyond its budget: the balance, and never more than `most`."""
        with self._lock:
            return max(0.0, min(self.balance, most))

    def borrow(self, seconds: float) -> float:
        """Take up to `seconds` from the balance; returns what was taken."""
        with self._lock:
            taken = max(0.0, min(self.balance, seconds))
            self.balance -= taken
            self.lent += taken
            return taken
