"""Summaries of samples: median with an interquartile spread, and the instability flag."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# A case whose interquartile range exceeds this fraction of its median is flagged unstable.
UNSTABLE_IQR = 0.10


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    q1: float
    q3: float
    low: float
    high: float

    @property
    def spread(self) -> float:
        """Half the interquartile range, relative to the median (the ± shown in tables)."""
        return (self.q3 - self.q1) / 2 / abs(self.median) if self.median else 0.0

    @property
    def unstable(self) -> bool:
        return self.n >= 3 and self.spread * 2 > UNSTABLE_IQR


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        raise ValueError("no samples")
    vals = sorted(values)
    if len(vals) == 1:
        q1 = q3 = vals[0]
    else:
        q1, _, q3 = statistics.quantiles(vals, n=4, method="inclusive")
    return Summary(len(vals), statistics.median(vals), q1, q3, vals[0], vals[-1])
