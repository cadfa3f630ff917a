"""The A/B confirmation of a candidate change: its verdict, and the statistics behind it.

A candidate that change detection finds in a nightly series is measured again by cmbench/confirm.py:
the build of the last good run (A) against today's (B), their processes interleaved on the same host
in the same minutes. This module turns what that measured into the ratio B / A with its
confidence interval, and a verdict:

- confirmed: the interval lies beyond the floor, the way the candidate went (a regression of 5% in
  wall time with a 3% floor: the interval's low end above 1.03);
- unconfirmed: it does not; the series moved with the host (`unconfirmed (host)`), and nothing is raised;
- unavailable: the old build cannot be had (not kept, or its toolchain was upgraded), or the metric has
  too few values per side to test; the alert is raised with that said.

The interval: one value per process (the median of its iterations, or the process's own figure),
logs of them, and Welch's t-interval of the difference of their means (scipy), exponentiated: the
ratio of geometric means. Logs make the interval of a ratio symmetric in either direction.

Its level: a nightly measures every candidate of the night, and at 95% each of k identical builds'
A/Bs would still confirm one change in 40 (a stationary sequence of quick nightlies measured about
ten a night and confirmed one). So the night's intervals are 95% together (Bonferroni: each at
1 - 0.05 / k, `family_confidence`), and every confirmation states its own level.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

CONFIRMED, UNCONFIRMED, UNAVAILABLE = "confirmed", "unconfirmed", "unavailable"
STATUSES = (CONFIRMED, UNCONFIRMED, UNAVAILABLE)
MIN_VALUES = 3  # values per side below which no interval is computed
CONFIDENCE = 0.95  # of the night's A/B intervals together
CONFIRM_DIR = "confirm"  # <run>/confirm/<case>/: the A/B's own run folder and RECORD
RECORD = "confirmation.json"
RECORD_SCHEMA = 1


def family_confidence(k: int, confidence: float = CONFIDENCE) -> float:
    """The level of each of `k` intervals that hold `confidence` together (Bonferroni)."""
    return 1 - (1 - confidence) / max(1, k)


@dataclass(frozen=True)
class Confirmation:
    """What the A/B re-measurement said of one candidate (alerts.json `confirmation`)."""

    status: str
    ratio: float | None = None  # B / A: today's build over the last good run's
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0  # values per side (processes)
    note: str = ""  # why unavailable, or where the measurement is kept
    seconds: float = 0.0  # what the A/B cost (the unit it shared with other candidates of its case)
    toolchain: tuple[str, str] | None = None  # (old, new) when an upgrade made the old build unavailable
    confidence: float = CONFIDENCE  # the interval's level

    @property
    def raised(self) -> bool:
        return self.status != UNCONFIRMED

    @property
    def level(self) -> str:
        """Its interval's level as text: 95%, 99.5%, 99.75%."""
        return f"{round(self.confidence * 100, 2):g}%"

    def as_dict(self) -> dict[str, Any]:
        def num(v: float | None) -> float | None:
            return None if v is None or not math.isfinite(v) else round(float(v), 6)
        return {"status": self.status, "ratio": num(self.ratio), "ci_low": num(self.ci_low),
                "ci_high": num(self.ci_high), "n": int(self.n)}

    def to_record(self) -> dict[str, Any]:
        """Everything, for the A/B's own record (confirmation.json)."""
        return {**self.as_dict(), "confidence": round(self.confidence, 6), "note": self.note, "seconds": self.seconds,
                "toolchain": list(self.toolchain) if self.toolchain else None}

    @classmethod
    def from_record(cls, d: Mapping[str, Any]) -> Confirmation:
        status = str(d.get("status"))
        if status not in STATUSES:
            raise ValueError(f"confirmation status {status!r} is not one of {', '.join(STATUSES)}")

        def num(k: str) -> float | None:
            v = d.get(k)
            return None if v is None else float(v)
        tool = d.get("toolchain")
        return cls(status, num("ratio"), num("ci_low"), num("ci_high"), int(d.get("n") or 0), str(d.get("note") or ""),
                   float(d.get("seconds") or 0.0), tuple(tool) if isinstance(tool, list) and len(tool) == 2 else None,
                   float(d.get("confidence") or CONFIDENCE))

    def text(self) -> str:
        """One line for alerts.md, the terminal and the Regressions page."""
        if self.status == UNAVAILABLE:
            return f"not confirmed: {self.note}" if self.note else "not confirmed: the old build cannot be had"
        word = "confirmed" if self.status == CONFIRMED else "unconfirmed (host)"
        return (f"{word}: A/B ratio {self.ratio:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}] "
                f"({self.level} CI, n={self.n} processes a side, {self.seconds:.0f} s)")


def ratio_interval(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
                   ) -> tuple[float, float, float] | None:
    """(B / A, low, high): the ratio of geometric means of the values and its Welch t-interval; None when
    either side has fewer than MIN_VALUES positive values."""
    xa = np.log([v for v in a if v > 0 and math.isfinite(v)])
    xb = np.log([v for v in b if v > 0 and math.isfinite(v)])
    if len(xa) < MIN_VALUES or len(xb) < MIN_VALUES:
        return None
    diff = float(xb.mean() - xa.mean())
    if np.ptp(xa) == 0 and np.ptp(xb) == 0:  # no spread at all (a count that never varies): exact
        return math.exp(diff), math.exp(diff), math.exp(diff)
    ci = stats.ttest_ind(xb, xa, equal_var=False).confidence_interval(confidence)
    return math.exp(diff), math.exp(float(ci.low)), math.exp(float(ci.high))


def unavailable(why: str, toolchain: tuple[str, str] | None = None) -> Confirmation:
    return Confirmation(UNAVAILABLE, note=why, toolchain=toolchain)


def expected_halfwidth(spread: float, n: int, confidence: float = CONFIDENCE) -> float:
    """The relative half-width an A/B of `n` values a side reaches when one value's relative spread
    (a robust CV) is `spread`: a t quantile times the standard error of a difference of two means."""
    if n < 2:
        return float("inf")
    return float(stats.t.ppf(0.5 + confidence / 2, 2 * n - 2) * spread * math.sqrt(2 / n))


@dataclass(frozen=True)
class CaseKey:
    fingerprint: str
    workload: str
    case: str
    impl: str
    variant: str

    @classmethod
    def of(cls, s: Any) -> CaseKey:
        """The case of a series (reports/history/changes.py SeriesKey)."""
        return cls(s.fingerprint, s.workload, s.case, s.impl, s.variant)

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{self.workload}-{self.case}-{self.impl}-{self.variant}")[:120]


@dataclass(frozen=True)
class ABRecord:
    """One A/B of one case: per metric (ratio, low, high, n), or why there is none."""

    case: CaseKey
    last_good: str
    first_bad: str
    run_id: str  # the nightly that measured it
    seconds: float
    metrics: Mapping[str, tuple[float | None, float | None, float | None, int]]
    why: str = ""  # set when the A/B could not be made: every candidate of the case is `unavailable`
    toolchain: tuple[str, str] | None = None
    confidence: float = CONFIDENCE  # the level of its intervals

    def judges(self, metric: str) -> bool:
        """Whether this A/B can settle a candidate of `metric`: it could not be made at all (every candidate of its
        case is `unavailable`), or it measured the metric with an interval. An A/B made for another metric of the
        case may hold too few values of this one (a start-up figure is one value a side a round): then it is
        measured again, asked for this metric."""
        return bool(self.why) or self.metrics.get(metric, (None,))[0] is not None

    def confirmation(self, metric: str, change: float, floor: float) -> Confirmation:
        if self.why:
            return unavailable(self.why, self.toolchain)
        ratio, low, high, n = self.metrics.get(metric, (None, None, None, 0))
        if ratio is None or low is None or high is None:
            return Confirmation(UNAVAILABLE, n=n, seconds=self.seconds,
                                note=f"the A/B has {n} value(s) a side of {metric}; too few to test")
        beyond = low > 1 + floor if change > 0 else high < 1 - floor
        where = (f"measured by run {self.run_id} ({CONFIRM_DIR}/{self.case.slug}-{self.last_good}-{self.first_bad}), "
                 f"{round(self.confidence * 100, 2):g}% interval")
        return Confirmation(CONFIRMED if beyond else UNCONFIRMED, ratio, low, high, n, where, self.seconds,
                            confidence=self.confidence)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": RECORD_SCHEMA, **self.case.__dict__, "last_good": self.last_good,
                "first_bad": self.first_bad, "run_id": self.run_id, "seconds": round(self.seconds, 3),
                "why": self.why, "toolchain": list(self.toolchain) if self.toolchain else None,
                "confidence": self.confidence,
                "metrics": {m: {"ratio": r, "ci_low": lo, "ci_high": hi, "n": n}
                            for m, (r, lo, hi, n) in self.metrics.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ABRecord:
        tool = d.get("toolchain")
        return cls(CaseKey(*(str(d[k]) for k in ("fingerprint", "workload", "case", "impl", "variant"))),
                   str(d["last_good"]), str(d["first_bad"]), str(d["run_id"]), float(d.get("seconds") or 0),
                   {str(m): (v.get("ratio"), v.get("ci_low"), v.get("ci_high"), int(v.get("n") or 0))
                    for m, v in (d.get("metrics") or {}).items()}, str(d.get("why") or ""),
                   tuple(tool) if isinstance(tool, list) and len(tool) == 2 else None,
                   float(d.get("confidence") or CONFIDENCE))


def stored_records(results: Path, run_ids: Sequence[str]) -> list[ABRecord]:
    """The A/B records kept in the folders of `run_ids` (unreadable ones are skipped: they only save time)."""
    out = []
    for run_id in run_ids:
        folder = Path(results) / run_id / CONFIRM_DIR
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*/{RECORD}")):
            try:
                out.append(ABRecord.from_dict(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue
    return out


def matching(records: Sequence[ABRecord], case: CaseKey, first_bad: str, at: Mapping[str, int],
             near: int = 2) -> ABRecord | None:
    """The newest record of `case` whose change began within `near` runs of `first_bad` (`at`: run -> position)."""
    found = all_matching(records, case, first_bad, at, near)
    return found[-1] if found else None


def all_matching(records: Sequence[ABRecord], case: CaseKey, first_bad: str, at: Mapping[str, int],
                 near: int = 2) -> list[ABRecord]:
    """Every record of `case` whose change began within `near` runs of `first_bad`, oldest first."""
    where = at.get(first_bad)
    found = [r for r in records if r.case == case and (r.first_bad == first_bad or (
        where is not None and r.first_bad in at and abs(at[r.first_bad] - where) <= near))]
    return sorted(found, key=lambda r: at.get(r.run_id, -1))


def interval_decides(low: float, high: float, change: float, floor: float) -> bool:
    """Whether a ratio's interval settles a candidate: beyond its floor the way it went, or short of it."""
    if change > 0:
        return low > 1 + floor or high < 1 + floor
    return high < 1 - floor or low > 1 - floor


def decides(c: Confirmation, change: float, floor: float) -> bool:
    """Whether a confirmation settles a candidate: its interval decides, or it has none and is not unconfirmed."""
    if c.ci_low is None or c.ci_high is None:
        return c.status != UNCONFIRMED
    return interval_decides(c.ci_low, c.ci_high, change, floor)
