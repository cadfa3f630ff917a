"""Before a candidate change alerts: is it the host, and what can each series detect at all?

- `environment_changes`: a step at one run shared by most series of a metric, or by the host's
  reference measurements (run.json `reference_measurements`: process and thread switch, the cross-CPU
  hand-off, fork, thread creation; harness/host/oscosts.py; and `host_drift`'s median, the same-CPU
  hand-off probed between the run's units, harness/host/drift.py), is one environment change naming what
  moved. The candidates of the series it explains are not raised one by one (nor measured A/B: the
  host moved, not the code).
- `sensitivities`: each series' minimum detectable change from its own history (changes.py
  `detectable_change`), and which are worse than `INSENSITIVE`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import UserError
from harness.host.oscosts import ReferenceMeasurements
from harness.store.run import load_run
from reports.history.changes import SERIES_KEY, Change, DetectionConfig, RunPoint, SeriesKey, detectable_change, steps
from reports.history.confirmation import ABRecord
from reports.metric_names import alert_absolute_floor, alert_floor

MIN_SHARED = 3  # series of one metric that must step at one run for it to be the environment ...
SHARED_FRACTION = 0.5  # ... and more than this fraction of the metric's series that run measured
NEAR = 2  # runs: steps this close are one step
# A reference measurement (perf bench, fork) is noisy on a shared host: its step counts when it is this
# large at this significance, so that its jitter does not explain away a real change.
REFERENCE_MIN_CHANGE, REFERENCE_PVALUE = 0.10, 0.001
INSENSITIVE = 0.10  # a series whose minimum detectable change is worse than this is listed as such


@dataclass(frozen=True)
class EnvironmentChange:
    """One step of the host, at one run, and the candidate changes it explains."""

    run_id: str  # the first run at the new level
    last_good: str
    moved: tuple[str, ...]  # what moved: "wall_time: 4 of 4 series (median +12.0%)", "process_switch +20.0% ..."
    explains: tuple[Change, ...]
    new: bool | None = None

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "last_good": self.last_good, "moved": list(self.moved), "new": self.new,
                "explains": [c.series.label for c in self.explains],
                "series": [{"workload": c.series.workload, "case": c.series.case, "impl": c.series.impl,
                            "variant": c.series.variant, "metric": c.series.metric, "change": round(c.change, 6)}
                           for c in self.explains]}


def reference_medians(results: Path, run_ids: Sequence[str]) -> dict[str, dict[str, float]]:
    """Run id -> reference measurement -> its median, from each run's run.json (runs without them left out)."""
    out: dict[str, dict[str, float]] = {}
    for run_id in run_ids:
        try:
            meta = load_run(Path(results) / run_id)
            data = meta.get("reference_measurements")
            if data:
                refs = ReferenceMeasurements.from_dict(data)
                out[run_id] = {r.name: r.summary.median for r in refs.measured}
        except (UserError, OSError):
            continue
        drift = meta.get("host_drift")  # the same-CPU hand-off probed between the run's units (drift.py)
        median = drift.get("median") if isinstance(drift, Mapping) else None
        if isinstance(median, int | float) and not isinstance(median, bool) and median > 0:
            out.setdefault(run_id, {})["host_drift"] = float(median)
    return out


def _reference_steps(order: Sequence[str], medians: Mapping[str, Mapping[str, float]],
                     config: DetectionConfig) -> dict[str, list[str]]:
    """First run at the new level -> what moved there, among the reference measurements."""
    names = sorted({n for m in medians.values() for n in m})
    config = replace(config, min_change=max(config.min_change, REFERENCE_MIN_CHANGE),
                     max_pvalue=min(config.max_pvalue, REFERENCE_PVALUE))
    found: dict[str, list[str]] = {}
    for name in names:
        runs = [r for r in order if name in medians.get(r, {})]
        values = [medians[r][name] for r in runs]
        for s in steps(values, config):
            found.setdefault(runs[s.index], []).append(f"{name} {s.change * 100:+.1f}% (reference measurement)")
    return found


def environment_changes(candidates: Sequence[Change], changes: Sequence[Change], measured: Mapping[str, int],
                        order: Sequence[str], config: DetectionConfig,
                        references: Mapping[str, Mapping[str, float]] | None = None
                        ) -> tuple[list[EnvironmentChange], list[Change]]:
    """The environment changes among `candidates`, and the candidates they leave to be confirmed.

    `changes`: every change point of the series this run measured (any metric: a host step shows
    in raw counters too); `measured`: metric -> how many series of it this run measured; `order`:
    run ids, oldest first; `references`: run id -> reference measurement -> median.
    """
    at = {r: i for i, r in enumerate(order)}
    shifts: dict[str, list[str]] = {}
    metrics_at: dict[str, dict[str, float]] = {}  # run -> metric -> the shared step's median change
    by_run: dict[tuple[str, str], list[Change]] = {}
    for c in changes:
        by_run.setdefault((c.series.metric, c.first_bad.run_id), []).append(c)
    for metric, run_id in by_run:
        near = [c for c in changes if c.series.metric == metric
                and abs(at.get(c.first_bad.run_id, -99) - at.get(run_id, 99)) <= NEAR]
        total = measured.get(metric, 0)
        series = {c.series for c in near}
        if len(series) >= MIN_SHARED and len(series) > SHARED_FRACTION * total:
            if metric in metrics_at.setdefault(run_id, {}):
                continue
            metrics_at[run_id][metric] = float(np.median([c.change for c in near]))
            step = metrics_at[run_id][metric] * 100
            shifts.setdefault(run_id, []).append(f"{metric}: {len(series)} of {total} series (median {step:+.1f}%)")
    refs = _reference_steps(order, references or {}, config)
    out, left = [], list(candidates)
    for run_id in sorted(set(shifts) | set(refs), key=lambda r: at.get(r, 0)):
        mine = [c for c in left if _explained(c, run_id, at, run_id in refs, metrics_at.get(run_id, {}))]
        if not mine:  # a host step no alerting series shows is not worth an alert
            continue
        left = [c for c in left if c not in mine]
        moved = tuple(shifts.get(run_id, []) + refs.get(run_id, []))
        out.append(EnvironmentChange(run_id, mine[0].last_good.run_id, moved, tuple(mine)))
    return out, left


def _explained(c: Change, run_id: str, at: Mapping[str, int], reference: bool, metrics: Mapping[str, float]) -> bool:
    """Whether a host step at `run_id` (of the reference measurements, or of `metrics`, each with the shared step's
    median change) explains candidate `c`: near that run, and for a metric's step, the same way."""
    if abs(at.get(c.first_bad.run_id, -99) - at.get(run_id, 99)) > NEAR:
        return False
    shared = metrics.get(c.series.metric)
    return reference or (shared is not None and (shared > 0) == (c.change > 0))


@dataclass(frozen=True)
class Sensitivity:
    series: SeriesKey
    runs: int
    mdc: float  # minimum detectable change (relative); NaN: too few runs yet
    floored: bool = False  # set by the metric's absolute floor (a count near zero), not by its noise

    @property
    def label(self) -> str:
        return self.series.label


def sensitivities(rows: pd.DataFrame, keys: Sequence[SeriesKey], config: DetectionConfig,
                  changes: Sequence[Change] = (), ab_n: int = 0) -> list[Sensitivity]:
    """The minimum detectable change of each series in `keys` that raises alerts, from its rows (the
    history store's measured rows, oldest first): its noise, the window and the confirmation step."""
    wanted = {k for k in keys if alert_floor(k.metric) is not None}
    cuts: dict[SeriesKey, list[int]] = {}
    for c in changes:
        cuts.setdefault(c.series, []).append(c.index)
    out = []
    for names, group in rows.groupby(SERIES_KEY, sort=False):
        key = SeriesKey(*names)
        if key not in wanted:
            continue
        if config.horizon:
            group = group.iloc[-config.horizon:]
        values = group["median"].to_numpy(dtype=float)
        last = group.iloc[-1]
        med = float(last["median"]) if last["median"] else 0.0
        spread = float((last["q3"] - last["q1"]) / 1.349 / abs(med)) if med and pd.notna(last["q3"]) else 0.0
        own = alert_floor(key.metric) or 0.0
        mdc = detectable_change(values, config, indices=cuts.get(key, ()), spread=spread, ab_n=ab_n, own_floor=own)
        least = alert_absolute_floor(key.metric)  # a near-zero count cannot alert below its absolute floor
        at_least = least / abs(med) if med else float("inf")
        floored = bool(least) and np.isfinite(mdc) and at_least > mdc
        out.append(Sensitivity(key, len(values), at_least if floored else mdc, floored))
    return out


def sensitivity_summary(found: Sequence[Sensitivity]) -> dict:
    """alerts.json `sensitivity`: the distribution of minimum detectable changes, and the series worse
    than INSENSITIVE.

    Series whose detectable change is set by their metric's absolute floor (counts near zero) are counted
    apart (`below_absolute_floor`), out of the distribution: their noise is not what limits them."""
    noisy = [s for s in found if not s.floored]
    known = np.array([s.mdc for s in noisy if np.isfinite(s.mdc)], dtype=float)
    worse = sorted((s for s in noisy if np.isfinite(s.mdc) and s.mdc > INSENSITIVE), key=lambda s: -s.mdc)
    return {"series": len(found), "tested": int(len(known)), "limit": INSENSITIVE,
            "median": float(np.median(known)) if len(known) else None,
            "p90": float(np.percentile(known, 90)) if len(known) else None,
            "insensitive": [{"series": s.label, "metric": s.series.metric, "mdc": round(s.mdc, 4), "runs": s.runs}
                            for s in worse],
            "below_absolute_floor": sum(1 for s in found if s.floored)}


def sensitivity_text(summary: Mapping) -> list[str]:
    """Lines for alerts.md and `cmbench regressions`."""
    if not summary.get("tested"):
        return [f"Minimum detectable change: not yet known ({summary.get('series', 0)} series, too few runs)."]
    lines = [f"Minimum detectable change over {summary['tested']} series: median {summary['median'] * 100:.1f}%, "
             f"90th percentile {summary['p90'] * 100:.1f}%."]
    bad = summary.get("insensitive") or []
    if bad:
        lines.append(f"{len(bad)} series cannot detect a change of {summary['limit'] * 100:.0f}% "
                     "(their noise is larger): " + "; ".join(f"{s['series']} {s['mdc'] * 100:.0f}%" for s in bad[:20])
                     + (f"; and {len(bad) - 20} more" if len(bad) > 20 else ""))
    if summary.get("below_absolute_floor"):
        lines.append(f"{summary['below_absolute_floor']} series (counts per operation near zero) can raise an alert "
                     "only past their metric's absolute floor (reports/metric_names.py ALERT_ABSOLUTE_FLOORS).")
    return lines


def _series_runs(c: Change, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of `c`'s series as detection read it (its horizon), oldest first."""
    k = c.series
    mine = rows[(rows["fingerprint"] == k.fingerprint) & (rows["workload"] == k.workload) & (rows["case"] == k.case)
                & (rows["impl"] == k.impl) & (rows["variant"] == k.variant) & (rows["metric"] == k.metric)]
    return mine.iloc[-c.length:]


def at_build_change(c: Change, rows: pd.DataFrame, builds: Mapping[str, Mapping[str, str]]) -> Change:
    """`c` moved to the run where its implementation's kept build changed, when that is within NEAR runs of
    where detection put it: a change point wanders by a run on a noisy host, a build does not. A change put
    between two runs of the same build, on a host that moved before the build changed, goes to the first
    change of build after it: an A/B of identical builds can only reject it, and what can have changed the
    code is there."""
    mine = _series_runs(c, rows)
    runs = mine["run_id"].tolist()
    if len(runs) != c.length:
        return c
    key = [builds.get(r, {}).get(c.series.impl) for r in runs]

    def changed(j: int) -> bool:
        return bool(key[j - 1] and key[j] and key[j - 1] != key[j])
    moved = [j for j in range(max(1, c.index - NEAR), min(len(runs), c.index + NEAR + 1)) if changed(j)]
    if not moved and key[c.index - 1] and key[c.index - 1] == key[c.index]:
        moved = [j for j in range(c.index + 1, len(runs)) if changed(j)][:1]
    if not moved:
        return c
    j = min(moved, key=lambda j: abs(j - c.index))
    if j == c.index:
        return c
    points = [RunPoint(*row) for row in mine[["run_id", "started", "git_commit", "toolchain", "flags"]]
              .itertuples(index=False, name=None)]
    return replace(c, index=j, last_good=points[j - 1], first_bad=points[j])


def made_on_todays_build(record: ABRecord, c: Change, rows: pd.DataFrame,
                          builds: Mapping[str, Mapping[str, str]]) -> bool:
    """Whether a stored A/B measured the build `c`'s series has now (its newest run's): one made before the
    implementation's build changed again compared other code, and says nothing of today's. Unknown builds
    (runs before the build store) are taken as the same."""
    runs = _series_runs(c, rows)["run_id"]
    if runs.empty:
        return True
    newest = runs.iloc[-1]
    then, now = builds.get(record.run_id, {}).get(c.series.impl), builds.get(newest, {}).get(c.series.impl)
    return not then or not now or then == now
