"""When a measured load has run long enough: its per-second rate has settled.

A closed-loop load runs at least `min_duration` and at most `max_duration` seconds; in between
it stops as soon as the last `window` one-second rates all lie within `tolerance` of their mean.
The rate is read while the load runs from the generator's own progress counter, sampled once a
second: for wrk, the bytes it has read from its sockets (`rchar` in /proc/PID/io: wrk reads
responses with read(2)). Every response of a server has the same size, so bytes per second are
requests per second times a constant, and the relative spread is the same; after the run,
wrk's totals (requests / bytes) turn the samples into requests per second for the record.
The load is then stopped with SIGINT, on which wrk ends its run at once and reports the time it
actually ran.

`Settled` records what happened: the duration, why it stopped (`settled`, `max_duration`, or
`fixed` for a load that was not watched), and the per-second rates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SETTLED, MAX_DURATION, FIXED, ENDED = "settled", "max_duration", "fixed", "ended"


@dataclass(frozen=True)
class Settling:
    """How long a measured load runs: between min and max seconds, until `window` s agree within `tolerance`."""

    min_duration: float
    max_duration: float
    window: int
    tolerance: float

    @property
    def watched(self) -> bool:
        return self.max_duration > self.min_duration


def spread(rates: Sequence[float]) -> float:
    """The largest relative distance of a rate from the rates' mean (0 for equal rates; inf without any)."""
    if not rates:
        return float("inf")
    mean = sum(rates) / len(rates)
    if mean <= 0:
        return float("inf")
    return max(abs(r - mean) for r in rates) / mean


def has_settled(rates: Sequence[float], window: int, tolerance: float) -> bool:
    """Whether the last `window` rates lie within `tolerance` of their mean."""
    return len(rates) >= window and spread(rates[-window:]) <= tolerance


RAMPED = 0.1  # a one-second rate from this fraction of the run's highest one on counts as under way


def longest_stall(rates: Sequence[float]) -> int:
    """The most consecutive one-second rates of zero once the load was under way: seconds nothing was answered.

    The load counts as under way from the first second whose rate reached `RAMPED` of the highest
    one: before that, connections are still being opened (10,000 of them, or more once the
    server's listen queue overflows and clients retry their SYNs, take seconds), not waiting.
    """
    peak = max(rates, default=0.0)
    if peak <= 0:
        return 0
    longest = run = 0
    started = False
    for r in rates:
        started = started or r >= RAMPED * peak
        run = run + 1 if started and r <= 0 else 0
        longest = max(longest, run)
    return longest


@dataclass(frozen=True)
class Settled:
    """How a measured load ended."""

    reason: str  # SETTLED, MAX_DURATION, FIXED (not watched) or ENDED (the generator stopped on its own)
    seconds: float  # wall seconds the watcher saw the load run
    rates: tuple[float, ...] = ()  # per-second progress: requests/s once `scaled`, else the counter's units
    window: int = 0
    tolerance: float = 0.0

    @property
    def final_spread(self) -> float:
        return spread(self.rates[-self.window:]) if self.window and self.rates else float("inf")

    def scaled(self, factor: float) -> Settled:
        """The same record with every rate multiplied by `factor` (bytes/s -> requests/s)."""
        return Settled(self.reason, self.seconds, tuple(round(r * factor, 1) for r in self.rates), self.window,
                       self.tolerance)

    def describe(self) -> str:
        if self.reason == SETTLED:
            return (f"stopped after {self.seconds:.0f} s: the last {self.window} one-second rates were within "
                    f"{self.final_spread:.1%} of their mean (tolerance {self.tolerance:.0%})")
        if self.reason == MAX_DURATION:
            s = self.final_spread
            return (f"stopped at the maximum duration, {self.seconds:.0f} s, without settling: the last "
                    f"{self.window} one-second rates spread {s:.1%} around their mean (tolerance "
                    f"{self.tolerance:.0%})")
        if self.reason == ENDED:
            return f"the load generator ended on its own after {self.seconds:.0f} s"
        return f"ran its fixed {self.seconds:.0f} s"

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "seconds": round(self.seconds, 3), "rates": list(self.rates),
                "window": self.window, "tolerance": self.tolerance}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Settled:
        return cls(str(d["reason"]), float(d["seconds"]), tuple(float(r) for r in d.get("rates", ())),
                   int(d.get("window", 0)), float(d.get("tolerance", 0.0)))


@dataclass(frozen=True)
class Clock:
    """Where the watcher reads the time and waits (a fake one in tests)."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def watch(progress: Callable[[], int | None], running: Callable[[], bool], settling: Settling,
          clock: Clock | None = None) -> Settled:
    """Sample `progress` once a second while `running`; return when the rate has settled or at the maximum.

    `progress` is a monotonic counter (None once it cannot be read). The caller stops the load
    unless the reason is ENDED. With a maximum equal to the minimum the load is not stopped
    early (reason FIXED), but its one-second rates are still recorded.
    """
    clock = clock or Clock()
    began = clock.now()
    last = progress() or 0
    rates: list[float] = []
    tick = previous = began
    while True:
        tick += 1.0
        clock.sleep(max(0.0, tick - clock.now()))
        now = clock.now()
        elapsed = now - began
        if not running():
            return Settled(ENDED, elapsed, tuple(rates), settling.window, settling.tolerance)
        value = progress()
        if value is None:
            return Settled(ENDED, elapsed, tuple(rates), settling.window, settling.tolerance)
        rates.append((value - last) / max(now - previous, 1e-3))  # per second, even when a sleep overran
        last, previous = value, now
        if (settling.watched and elapsed >= settling.min_duration - 1e-6
                and has_settled(rates, settling.window, settling.tolerance)):
            return Settled(SETTLED, elapsed, tuple(rates), settling.window, settling.tolerance)
        if elapsed >= settling.max_duration - 1e-6:
            reason = MAX_DURATION if settling.watched else FIXED
            return Settled(reason, elapsed, tuple(rates), settling.window, settling.tolerance)
