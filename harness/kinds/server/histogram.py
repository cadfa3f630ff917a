"""Latency histograms kept in HdrHistogram's encoding (V2, compressed, base64), in microseconds.

A stored histogram loads anywhere HdrHistogram does (`HdrHistogram.decode(text)` in Python,
`HistogramLogReader` in Java), so a report can draw the full distribution, not just the
percentiles the harness picked.
"""

from __future__ import annotations

from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

UNIT = "us"
LOWEST = 1  # 1 us
HIGHEST = 3_600_000_000  # 1 hour in us
DIGITS = 3  # significant digits kept: values within 0.1%
ENCODING = "HdrHistogram V2 compressed, base64"


def build(counts: Iterable[tuple[int, int]]) -> HdrHistogram:
    """A histogram from (value in us, count) pairs; values are clamped into [LOWEST, HIGHEST]."""
    h = HdrHistogram(LOWEST, HIGHEST, DIGITS)
    for value, count in counts:
        if count > 0:
            h.record_value(min(max(int(value), LOWEST), HIGHEST), int(count))
    return h


def encode(h: HdrHistogram) -> str:
    return h.encode().decode("ascii")


def decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text.encode("ascii"))


def described(h: HdrHistogram) -> dict[str, object]:
    """The JSON-able record of a histogram stored with a phase's results."""
    return {"encoding": ENCODING, "unit": UNIT, "count": h.get_total_count(), "data": encode(h)}
