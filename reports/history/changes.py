"""Change points in the nightly series: E-Divisive means (Apache Otava) over each series of case medians.

A series is one (workload, case, implementation, variant, metric) measured under one environment
fingerprint (harness/host/fingerprint.py), its points the per-run case medians of the history store,
oldest first. A new fingerprint starts a new series. Otava's `compute_change_points` is the
detector (Hunter's split/merge over sliding windows, a Student's t-test for each candidate);
this module only turns its change points into direction-aware changes between the medians of
the segments either side, above a noise floor, with the runs and toolchains around them.

Why these defaults (tests/unit/test_changes.py keeps the figures): on seeded synthetic series with
the run-to-run noise measured here (a CV of 1.7% for the steadiest series), p < 0.0001 (Otava's
default is 0.001: a nightly tests thousands of series), a floor of 3% (and of twice the series'
own noise) and three runs after the change find a 5% step within five runs in 48 of 50 trials,
and 1 of 100 stationary 30-run series ever alerts. Each series is read back `horizon` runs, which
bounds the cost of a nightly over a year of history.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from otava.analysis import TTestSignificanceTester, compute_change_points, merge
from scipy import stats

from harness.kinds.batch.repetition import INTERRUPTED_TEXT
from harness.measure.metrics import METRICS
from harness.measure.stats import robust_sd
from reports.history.confirmation import expected_halfwidth

# With an A/B confirmation after it, detection only proposes candidates: a false one costs an A/B,
# not an alert, so it can be told far smaller steps (README "Nightly runs", "How sensitive it is").
CANDIDATE_PVALUE = 0.05
CANDIDATE_NOISE_FACTOR = 1.0
CANDIDATE_MIN_AFTER = 2  # an outlier run is rejected by the A/B, not by waiting a third night
REGRESSION = "regression"
IMPROVEMENT = "improvement"
SERIES_KEY = ["fingerprint", "workload", "case", "impl", "variant", "metric"]


@dataclass(frozen=True)
class DetectionConfig:
    """How sure and how large a change must be to be reported."""

    min_change: float = 0.03  # the noise floor: |after / before - 1| of the segment medians
    max_pvalue: float = 0.0001  # significance of a change point (Otava's t-test)
    window: int = 30  # Otava's sliding window, in runs (a wider one misses a step that is later undone)
    min_after: int = 3  # runs measured after a change before it is reported (one outlier is not a change)
    noise_factor: float = 2.0  # ... and at least this many times the series' own run-to-run noise
    horizon: int = 120  # runs: each series is read back this far (0: all of it); older changes are the baseline
    host_relative: bool = False  # detect on medians over the host's level of each run (`host_levels`)

    def __post_init__(self) -> None:
        if not 0 <= self.min_change < 1:
            raise ValueError("min_change must be a fraction in [0, 1)")
        if not 0 < self.max_pvalue < 1:
            raise ValueError("max_pvalue must be in (0, 1)")
        if self.window < 4 or self.min_after < 1:
            raise ValueError("window must be at least 4 runs and min_after at least 1")
        if self.noise_factor < 0:
            raise ValueError("noise_factor must be 0 or more")
        if self.horizon and self.horizon < 2 * self.min_after:
            raise ValueError("horizon must be 0 (all runs) or at least 2 x min_after")

    def for_confirmation(self) -> DetectionConfig:
        """This detection as the proposer of candidates that an A/B confirms: a looser p-value and noise factor."""
        return replace(self, max_pvalue=max(self.max_pvalue, CANDIDATE_PVALUE),
                       noise_factor=min(self.noise_factor, CANDIDATE_NOISE_FACTOR),
                       min_after=min(self.min_after, CANDIDATE_MIN_AFTER), host_relative=True)

    def raw(self) -> DetectionConfig:
        """This detection on the medians as measured (what shows a step of the host itself)."""
        return replace(self, host_relative=False)

    def floor(self, noise: float) -> float:
        """The smallest relative change reported in a series whose run-to-run noise (robust CV) is `noise`."""
        return max(self.min_change, self.noise_factor * noise)


@dataclass(frozen=True)
class SeriesKey:
    fingerprint: str
    workload: str
    case: str
    impl: str
    variant: str
    metric: str

    @property
    def label(self) -> str:
        name = self.impl if self.variant in ("", "default") else f"{self.impl}:{self.variant}"
        return f"{self.workload}[{self.case}] {name} {self.metric}"


@dataclass(frozen=True)
class RunPoint:
    """One run of a series: what the alert needs to name it."""

    run_id: str
    started: str
    commit: str
    toolchain: str
    flags: str


@dataclass(frozen=True)
class Change:
    """One detected change point of one series, as of the series' last run."""

    series: SeriesKey
    unit: str
    direction: str  # the metric's: "lower" or "higher" is better
    kind: str  # "regression" or "improvement"
    index: int  # position of the first run after the change in the series
    length: int  # runs in the series
    last_good: RunPoint
    first_bad: RunPoint  # the first run at the new level (for an improvement too)
    before: float  # median of the segment's case medians before the change
    after: float  # ... and after it
    latest: float  # median of the series' last segment: where the series is now
    pvalue: float
    before_runs: int
    after_runs: int
    toolchain: tuple[str, str] | None  # (old, new): the implementation's toolchain changed at the change
    is_open: bool  # the series is still at least `min_change` away from `before`, the same way

    @property
    def change(self) -> float:
        """Signed relative change of the median: -0.07 is 7% lower."""
        return self.after / self.before - 1 if self.before else float("nan")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["change"] = self.change
        return d


def kind_of(direction: str, change: float) -> str:
    """Lower wall time is better, lower QPS is worse."""
    worse = change > 0 if direction == "lower" else change < 0
    return REGRESSION if worse else IMPROVEMENT


def change_points(values: Sequence[float], config: DetectionConfig) -> list[tuple[int, float]]:
    """(index of the first point after the change, p-value) for each change point Otava finds.

    Otava can cut a series into segments of one or two runs, whose t-tests are meaningless (a
    segment of equal values has no variance, so any difference gets p = 0). Change points next to
    a segment shorter than `min_after` runs are removed, the weakest first, their neighbours
    re-tested with Otava's own tester, and Otava's merge step drops what is no longer significant.
    """
    series = [float(v) for v in values]
    if len(series) < 2 * config.min_after:
        return []
    found, _weak = compute_change_points(series, window_len=config.window, max_pvalue=config.max_pvalue,
                                         min_magnitude=config.min_change)
    tester = TTestSignificanceTester(config.max_pvalue)
    found = sorted(found, key=lambda cp: cp.index)
    while found:
        bounds = [0, *(cp.index for cp in found), len(series)]
        short = [k for k in range(len(found))
                 if min(bounds[k + 1] - bounds[k], bounds[k + 2] - bounds[k + 1]) < config.min_after]
        if not short:
            break
        k = max(short, key=lambda i: found[i].stats.pvalue)
        del found[k]
        intervals = tester.get_intervals(found)
        for j in (k - 1, k):
            if 0 <= j < len(found):
                found[j] = tester.change_point(found[j].to_candidate(), series, intervals)
    found = merge(found, series, config.max_pvalue, config.min_change)
    return [(int(cp.index), float(cp.stats.pvalue)) for cp in found]


@dataclass(frozen=True)
class Segment:
    start: int
    stop: int
    median: float


def segments(values: np.ndarray, indices: Sequence[int]) -> list[Segment]:
    bounds = [0, *indices, len(values)]
    return [Segment(a, b, float(np.median(values[a:b]))) for a, b in zip(bounds, bounds[1:]) if b > a]


def noise(values: np.ndarray, segs: Sequence[Segment]) -> float:
    """The series' run-to-run noise around its segment medians: a robust CV (robust_sd / median).

    Hand-written because Otava's noise floor is a fixed magnitude only: the same 3% is noise in a
    series that jitters by 2% from run to run and a clear step in one that jitters by 0.2%.
    """
    level = float(np.median(values))
    if not level:
        return 0.0
    residuals = np.concatenate([values[s.start:s.stop] - s.median for s in segs])
    return robust_sd(residuals) / abs(level)


@dataclass(frozen=True)
class Step:
    """A change point of a plain series of values, above the noise floor."""

    index: int  # first value after the change
    pvalue: float
    before: Segment
    after: Segment
    latest: float  # median of the series' last segment
    is_open: bool

    @property
    def change(self) -> float:
        return self.after.median / self.before.median - 1


def steps(values: Sequence[float], config: DetectionConfig) -> list[Step]:
    """Otava's change points of `values` whose change between segment medians clears the noise floor.

    Open: the latest level is still at least the floor away from the level before the change, the
    same way, and the change has not merely undone the one before it (a regression then its fix
    closes both).
    """
    values = np.asarray(values, dtype=float)
    found = [(i, p) for i, p in change_points(values, config) if 0 < i < len(values)]
    if not found:
        return []
    segs = segments(values, [i for i, _ in found])
    floor = config.floor(noise(values, segs))
    latest = segs[-1].median
    out = []
    for k, (index, pvalue) in enumerate(found):
        before, after = segs[k], segs[k + 1]
        if len(values) - index < config.min_after or not before.median:
            continue
        rel = after.median / before.median - 1
        if abs(rel) < floor:
            continue
        now = latest / before.median - 1
        undone = k > 0 and segs[k - 1].median and abs(latest / segs[k - 1].median - 1) < floor
        out.append(Step(index, pvalue, before, after, latest,
                        (now > 0) == (rel > 0) and abs(now) >= floor and not undone))
    return out


def series_changes(key: SeriesKey, frame: pd.DataFrame, config: DetectionConfig,
                   found: Sequence[Step] | None = None) -> list[Change]:
    """The changes of one series; `frame` holds its rows of the history store, oldest first.

    `found`: steps() of the frame's medians, when the caller has them.
    """
    values = frame["median"].to_numpy(dtype=float)
    found = steps(values, config) if found is None else found
    if not found:
        return []
    metric = METRICS.get(key.metric)
    direction = metric.direction if metric else str(frame["direction"].iloc[0])
    unit = str(frame["unit"].iloc[0])
    points = [RunPoint(*row) for row in frame[["run_id", "started", "git_commit", "toolchain", "flags"]]
              .itertuples(index=False, name=None)]
    toolchains = frame["toolchain"].tolist()
    out = []
    for s in found:
        i = s.index
        tool = next(((toolchains[j - 1], toolchains[j]) for j in (i, i - 1, i + 1)
                     if 0 < j < len(toolchains) and toolchains[j - 1] != toolchains[j]), None)
        out.append(Change(key, unit, direction, kind_of(direction, s.change), i, len(values), points[i - 1],
                          points[i], s.before.median, s.after.median, s.latest, s.pvalue,
                          s.before.stop - s.before.start, s.after.stop - s.after.start, tool, s.is_open))
    return out


def measured(history: pd.DataFrame) -> pd.DataFrame:
    """The rows change detection reads: ok cases of compared metrics with a median, but not those a run kept as
    they stood when it was interrupted (fewer processes than the case would have run: not a nightly's figure)."""
    compared = [m for m, spec in METRICS.items() if spec.direction in ("lower", "higher")]
    cut = history["flags"].fillna("").str.contains(INTERRUPTED_TEXT, regex=False)
    rows = history[(history["status"] == "ok") & history["metric"].isin(compared) & history["median"].notna() & ~cut]
    return rows


HOST_MIN_SERIES = 2  # series of a case a run needs for a host level (the others' median) at all


def _others_median(values: np.ndarray) -> np.ndarray:
    """For each value, the median of all the others."""
    order = np.argsort(values, kind="stable")
    s = values[order]
    m = len(values) - 1
    out = np.empty(len(values))
    for p in range(len(values)):  # the others, sorted: s without position p
        lo, hi = (m - 1) // 2, m // 2
        out[order[p]] = (s[lo if lo < p else lo + 1] + s[hi if hi < p else hi + 1]) / 2
    return out


def host_levels(rows: pd.DataFrame) -> np.ndarray:
    """Per row of `rows` (measured rows), the host's level of its run for its case and metric: the median,
    over every other implementation of that case, metric and environment the run measured, of each
    series' median over its own median across runs; 1 where the run measured fewer than HOST_MIN_SERIES
    such series. Leaving the row's own series out keeps its own step out of the level it is read against.

    The processes of every implementation of a case interleave in one unit, so a shared host's speed
    moves them together (by tens of percent between nightlies on a busy machine, differently for
    different workloads): over that level, a series keeps what moved it alone. A change of another
    implementation of the case then shows here too, the other way: the A/B rejects it. Hand-written: a
    robust per-run index of many series is not a change-point library's job.
    """
    if rows.empty:
        return np.ones(0)
    own = rows.groupby(SERIES_KEY, sort=False)["median"].transform("median")
    norm = (rows["median"] / own.where(own != 0)).fillna(1.0).to_numpy(dtype=float)
    level = np.ones(len(rows))
    groups = rows.groupby(["fingerprint", "workload", "case", "metric", "run_id"], sort=False).indices
    for positions in groups.values():
        if len(positions) >= HOST_MIN_SERIES:
            level[positions] = _others_median(norm[positions])
    return np.where(level > 0, level, 1.0)


def detect(history: pd.DataFrame, config: DetectionConfig | None = None, *,
           series: Sequence[SeriesKey] | None = None) -> list[Change]:
    """Every change in every series of `history` (rows of the store, oldest run first).

    `series`: only these. Changes come out grouped by series, each series' oldest first. With
    `config.host_relative`, each median is read over its run's host level (`host_levels`), and so
    are the changes' medians before and after.
    """
    config = config or DetectionConfig()
    rows = measured(history)
    if config.host_relative:
        rows = rows.assign(median=rows["median"].to_numpy(dtype=float) / host_levels(rows))
    medians = rows["median"].to_numpy(dtype=float)
    wanted = set(series) if series is not None else None
    out: list[Change] = []
    for key, positions in rows.groupby(SERIES_KEY, sort=False).indices.items():
        k = SeriesKey(*key)
        if wanted is not None and k not in wanted:
            continue
        if config.horizon:
            positions = positions[-config.horizon:]
        if len(positions) < 2 * config.min_after:
            continue
        found = steps(medians[positions], config)  # most series have none: no frame is built for them
        if found:
            out.extend(series_changes(k, rows.iloc[positions], config, found))
    return out


def detectable_change(values: Sequence[float], config: DetectionConfig, *, indices: Sequence[int] = (),
                      spread: float = 0.0, ab_n: int = 0, own_floor: float = 0.0) -> float:
    """The smallest step this series would alert on, as a relative change of its median.

    Three gates, the widest wins: the detection's noise floor (`config.floor` of the series' own
    run-to-run noise around its segments, `indices` its change points); the step a t-test of
    `config.min_after` runs after against the rest of a window (at most `config.window` runs) finds
    at p < `config.max_pvalue`; and the confirmation's, the floor plus the half-width an A/B of `ab_n`
    processes a side reaches when one process's value has the relative spread `spread` (0: no
    confirmation step). NaN while the series is too short to be tested at all.
    """
    values = np.asarray(values, dtype=float)
    if len(values) < 2 * config.min_after:
        return float("nan")
    sigma = noise(values, segments(values, [i for i in indices if 0 < i < len(values)]))
    before = max(min(len(values), config.window) - config.min_after, config.min_after)
    t = float(stats.t.ppf(1 - config.max_pvalue / 2, before + config.min_after - 2))
    tested = t * sigma * math.sqrt(1 / before + 1 / config.min_after)
    floor = max(config.floor(sigma), own_floor)
    confirm = max(config.min_change, own_floor) + expected_halfwidth(spread, ab_n) if ab_n else 0.0
    return max(floor, tested, confirm)
