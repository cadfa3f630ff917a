"""Each figure's 95% interval and modes: what the reports need before they may rank figures.

**Interval of the median** of one (workload, case, implementation, metric) of a run:

- a batch case's wall time per iteration and throughput: the interval the harness stored
  (run.json `extra.ci`, of the median wall time: a two-level bootstrap over processes, then
  iterations); throughput is operations / wall time, so its interval is the reciprocal image,
  scaled to the throughput's median (`stored`);
- any other figure with values per process, and cases of runs without a stored interval: the
  harness's own two-level bootstrap (harness/measure/stats.py `median_ci`) over results.csv's
  values grouped by process (`bootstrap`);
- a figure measured once (a server phase's requests/s): none. It counts as its value alone
  (`single`), so such figures are ranked on their values, as the notes under every ranked table
  say.

**Run-to-run spread.** One run's interval says how precisely that run pinned its figure, not where
a second run lands: what a run shares (the host's state for those minutes, a calibrated size) moves
all its processes together. Where the history holds enough runs of the same environment
(reports/repeatability.py `run_to_run`), a figure records its run-to-run CV (`Figure.repeat`) and its
interval is widened to a factor of 1 + 1.96 times that CV either side of its median where that is
wider (a factor, so that a figure that moved a lot still has a positive lower end), so that the
rankings (reports/ranking.py) name a best only where a further run would keep it.

**Modes.** A batch case's processes fall into modes when its run.json `extra.modes` lists two
or more, or, for runs written before modes were looked for, when harness/measure/modes.py finds
them in the per-process medians of its wall time in results.csv. The modes are the case's:
every per-iteration timing (`MODAL_METRICS`) shows them, the fast mode first, each at the
median of its processes' per-process medians of that metric, with its share of the processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.measure.modes import Mode, Modes, find_modes
from harness.measure.stats import median_ci
from reports.data import Run
from reports.fmt import fmt_value
from reports.samples import summarize_rows

MODAL_METRICS = ("wall_time", "throughput")  # the timings modes are found in (throughput is their reciprocal)
STORED, BOOTSTRAP, SINGLE = "stored", "bootstrap", "single"
Key = tuple[str, str, str]  # (workload, case, implementation)
FigureKey = tuple[str, str, str, str]  # (workload, case, implementation, metric)


@dataclass(frozen=True)
class ModeFigure:
    location: float  # in the metric's unit
    share: float
    n: int


@dataclass(frozen=True)
class RunToRun:
    """How much one figure moved over the newest runs of its environment."""

    cv: float  # the sample standard deviation of the runs' medians over their mean
    runs: int

    @property
    def half_width(self) -> float:
        """Relative: how far from a run's median a further run's lands, 95% of the time (1.96 standard deviations)."""
        return 1.96 * self.cv

    def text(self) -> str:
        return f"run-to-run CV {self.cv:.1%} over the last {self.runs} runs here"


@dataclass(frozen=True)
class Figure:
    """A figure as the reports rank it: its median, the 95% interval of the median, and its modes."""

    median: float
    low: float
    high: float
    source: str  # STORED, BOOTSTRAP or SINGLE (module docstring)
    modes: tuple[ModeFigure, ...] = ()  # two or more when the case's processes fall into modes
    repeat: RunToRun | None = None  # how the figure moved over the newest runs of its environment, where known

    @property
    def modal(self) -> bool:
        return len(self.modes) > 1

    @property
    def span(self) -> tuple[float, float]:
        """Where the figure may lie: its interval, widened to its modes' locations."""
        locations = [m.location for m in self.modes]
        return min(self.low, *locations), max(self.high, *locations)

    def modes_text(self, unit: str) -> str:
        return modes_text(self.modes, unit)

    def interval_text(self, unit: str) -> str:
        if self.source == SINGLE:
            return "measured once: no interval"
        how = "stored by the harness" if self.source == STORED else "bootstrap over processes"
        if self.repeat is not None:
            how += f"; {self.repeat.text()}, widened to where a further run would land"
        return f"95% CI of the median {fmt_value(self.low, unit)} – {fmt_value(self.high, unit)} ({how})"


def case_modes(run: Run, samples: pd.DataFrame) -> dict[Key, Modes]:
    """The cases of `run` whose processes fall into modes: as stored, else as found in results.csv's wall times."""
    out: dict[Key, Modes] = {}
    checked: set[Key] = set()
    for r in run.cases.itertuples():
        stored = r.extra.get("modes") if isinstance(r.extra, Mapping) else None
        if isinstance(stored, Mapping):
            checked.add((r.workload, r.case, r.implementation))
            modes = Modes.from_dict(stored)
            if modes.multimodal:
                out[(r.workload, r.case, r.implementation)] = modes
    walls = samples[(samples["metric"] == "wall_time") & samples["process"].notna()] if len(samples) else samples
    if len(walls):
        for (w, c, i), group in walls.groupby(["workload", "case", "implementation"], sort=False):
            if (w, c, i) in checked:
                continue
            medians = group.groupby("process")["value"].median()
            modes = find_modes(medians.to_numpy()) if len(medians) else None
            if modes is not None and modes.multimodal:  # positions -> results.csv's process numbers
                numbers = [int(p) for p in medians.index]
                out[(w, c, i)] = Modes(tuple(Mode(m.location, m.share, m.n, tuple(numbers[k] for k in m.processes))
                                             for m in modes.modes), modes.dip, modes.p_value, modes.separation)
    return out


def _stored_ci(extra: object, metric: str, median: float) -> tuple[float, float] | None:
    """The stored interval of the median wall time, as an interval of `metric`'s median; None without one."""
    ci = extra.get("ci") if isinstance(extra, Mapping) else None
    if metric not in MODAL_METRICS or not isinstance(ci, Mapping):
        return None
    try:
        m, low, high = float(ci["median"]), float(ci["low"]), float(ci["high"])
    except (KeyError, TypeError, ValueError):
        return None
    if metric == "wall_time":
        return low, high
    if low <= 0 or high <= 0:
        return None
    return median * m / high, median * m / low


def figures(run: Run, samples: pd.DataFrame, metrics: Iterable[str],
            spread: Mapping[FigureKey, RunToRun] | None = None) -> dict[FigureKey, Figure]:
    """(workload, case, implementation, metric) -> Figure, for `metrics` of `run` (its samples).

    `spread`: how each figure moved between runs (reports/repeatability.py `run_to_run`); a figure with an
    interval has it widened to a factor of 1 + `RunToRun.half_width` either side of its median where that is
    wider."""
    wanted = set(metrics)
    rows = samples[samples["metric"].isin(wanted)] if len(samples) else samples
    if not len(rows):
        return {}
    extras = {(r.workload, r.case, r.implementation): r.extra for r in run.cases.itertuples()}
    modal = case_modes(run, samples)
    out = {}
    for (w, c, i, metric), group in rows.groupby(["workload", "case", "implementation", "metric"], sort=False):
        values = group["value"].to_numpy(dtype=float)
        median = summarize_rows(group).median
        per_process = group[group["process"].notna()]
        stored = _stored_ci(extras.get((w, c, i)), metric, median)
        if stored is not None:
            low, high, source = *stored, STORED
        elif len(per_process) and len(values) > 1:
            groups = [g.to_numpy(dtype=float) for _, g in per_process.groupby("process")["value"]]
            ci = median_ci(groups)
            low, high, source = ci.low, ci.high, BOOTSTRAP
        else:
            low, high, source = median, median, SINGLE
        repeat = spread.get((w, c, i, metric)) if spread and source != SINGLE else None
        if repeat is not None:  # a factor either way: a positive figure's band stays positive however wide
            ends = (median / (1 + repeat.half_width), median * (1 + repeat.half_width))
            low, high = min(low, *ends), max(high, *ends)
        case = modal.get((w, c, i))
        modes = mode_figures(case, per_process) if case is not None and metric in MODAL_METRICS else ()
        out[(w, c, i, metric)] = Figure(median, min(low, median), max(high, median), source, modes, repeat)
    return out


def mode_figures(modes: Modes, rows: pd.DataFrame) -> tuple[ModeFigure, ...]:
    """Each mode of a case in the unit of `rows` (one metric's samples of the case): the median of its
    processes' per-process medians."""
    rows = rows[rows["process"].notna()]
    if not len(rows):
        return ()
    by_process = rows.groupby("process")["value"].median()
    out = []
    for m in modes.modes:
        mine = by_process[by_process.index.isin(m.processes)]
        if len(mine):
            out.append(ModeFigure(float(np.median(mine.to_numpy())), m.share, m.n))
    return tuple(out)


def modes_text(modes: tuple[ModeFigure, ...], unit: str) -> str:
    """`1.2 ms (61%) · 3.4 ms (39%)`."""
    return " · ".join(f"{fmt_value(m.location, unit)} ({m.share:.0%})" for m in modes)
