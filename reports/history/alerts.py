"""Alerts: the open changes of the nightly series, with what a reader needs to act on them.

`alerts_for_run` (what the nightly calls after storing a run) detects changes in every series
the run measured, keeps those still open as of that run, and writes `alerts.json` (schema 1,
read by scripts) and `alerts.md` into the run folder. `open_alerts` is the same over the whole
store as of each series' newest run (`cmbench regressions`, the Regressions page).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import UsageError, UserError
from harness.host.fingerprint import differences, fingerprint
from harness.store.folders import read_versioned
from harness.store.run import load_run, now_iso, write_atomic
from harness.vocab import impl_label, render_table
from reports.history.changes import Change, DetectionConfig, RunPoint, SeriesKey, detect, measured
from reports.history.commits import Commit, commits_between
from reports.history.store import ANALYSIS_COLUMNS, load_history, run_environments, run_folders

ALERTS_SCHEMA = 1
ALERTS_JSON = "alerts.json"
ALERTS_MD = "alerts.md"
NEAR = 2  # runs: a change found again this close to where it was found before is the same change


@dataclass(frozen=True)
class Alert:
    change: Change
    fingerprint_text: str
    commits: tuple[Commit, ...] | None  # None: git could not tell (see reports/history/commits.py)
    environment: tuple[str, ...]  # what differs between the last good and the first bad run
    causes: tuple[str, ...]  # likely causes, most likely first
    new: bool | None  # first reported by this run (None: not asked)

    @property
    def kind(self) -> str:
        return self.change.kind

    def as_dict(self) -> dict:
        c, k = self.change, self.change.series

        def run(p: RunPoint) -> dict:
            return {"run_id": p.run_id, "started": p.started, "commit": p.commit, "toolchain": p.toolchain,
                    "flags": [f for f in p.flags.split("; ") if f]}
        return {
            "workload": k.workload, "case": k.case, "impl": k.impl, "variant": k.variant, "metric": k.metric,
            "implementation": impl_label(k.impl, k.variant), "kind": c.kind, "change": round(c.change, 6),
            "unit": c.unit, "direction": c.direction, "before": c.before, "after": c.after, "latest": c.latest,
            "pvalue": c.pvalue, "confidence": 1 - c.pvalue, "runs_before": c.before_runs, "runs_after": c.after_runs,
            "last_good": run(c.last_good), "first_bad": run(c.first_bad), "new": self.new,
            "fingerprint": {"key": k.fingerprint, "text": self.fingerprint_text},
            "commits": None if self.commits is None else [{"commit": x.sha, "subject": x.subject}
                                                           for x in self.commits],
            "environment_differences": list(self.environment), "likely_causes": list(self.causes),
        }


Environments = Mapping[str, Mapping[str, Any]]  # run id -> its environment (reports.history.store.environment_of)


def describe(change: Change, repo: Path | None, environments: Environments, new: bool | None = None) -> Alert:
    """An alert for `change`: the commits and environment differences between its two runs, likely causes."""
    good, bad = change.last_good, change.first_bad
    env_good, env_bad = environments.get(good.run_id) or {}, environments.get(bad.run_id) or {}
    envdiff = tuple(differences(env_good, env_bad)) if env_good and env_bad else ()
    commits = commits_between(repo, good.commit, bad.commit)
    causes = []
    if change.toolchain:
        old, new_version = change.toolchain
        causes.append(f"toolchain of {change.series.impl} changed: {old} -> {new_version}")
    if commits:
        causes.append(f"{len(commits)} commit{'s' if len(commits) != 1 else ''} between "
                      f"{good.commit[:12]} and {bad.commit[:12]}")
    elif commits is None and good.commit != bad.commit:
        causes.append(f"commit changed ({good.commit[:12]} -> {bad.commit[:12]}; not in this repository)")
    causes += [d for d in envdiff if not d.startswith("toolchain ")]
    if bad.flags:
        causes.append(f"the first run after the change was flagged: {bad.flags}")
    text = fingerprint(env_bad).text if env_bad else change.series.fingerprint
    return Alert(change, text, tuple(commits) if commits is not None else None, envdiff, tuple(causes), new)


def _order(alerts: list[Alert]) -> list[Alert]:
    """Newest change first; the larger first among changes of the same run."""
    return sorted(alerts, key=lambda a: (a.change.first_bad.started, a.change.first_bad.run_id,
                                         abs(a.change.change)), reverse=True)


def _upto(history: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """The rows of runs started no later than `run_id` (the store as it was when that run finished)."""
    mine = history.loc[history["run_id"] == run_id, "started"]
    if mine.empty:
        raise UserError(f"run {run_id}: not in the history store; append it first (`cmbench history rebuild`)")
    started = mine.iloc[0]
    keep = (history["started"] < started) | ((history["started"] == started) & (history["run_id"] <= run_id))
    return history[keep]


def _case(series: SeriesKey) -> SeriesKey:
    """The series with the metric left out: one case measured in one environment."""
    return replace(series, metric="")


def _same(a: Change, b: Change) -> bool:
    """One change of one case: of the same kind, and in the same metric found within `NEAR` runs
    of where it was, or in another metric of the case at the very same run.

    A change point wanders by a run or two as runs arrive. A change to the code that moves one of
    a case's metrics moves others at the same run (wall_time and throughput are one measurement),
    and each may clear its noise floor in a different nightly: the first reports the change, and
    the rest are listed as not new. Another metric moving at another run is another change.
    """
    if _case(a.series) != _case(b.series) or a.kind != b.kind:
        return False
    return abs(a.index - b.index) <= NEAR if a.series == b.series else a.index == b.index


def run_alerts(history: pd.DataFrame, run_id: str, config: DetectionConfig | None = None,
               repo: Path | None = None, environments: Environments | None = None,
               changes: Sequence[Change] | None = None) -> list[Alert]:
    """The open changes, as of run `run_id`, of every series that run measured; `new` marks those it found first.

    `changes`: what `detect` found over all of `history` with `config`, when the caller has it
    already; used only when `run_id` is the newest run of `history`.
    """
    config = config or DetectionConfig()
    upto = _upto(history, run_id)
    rows = measured(upto)
    mine = rows[rows["run_id"] == run_id]
    keys = {SeriesKey(*k) for k in mine[["fingerprint", "workload", "case", "impl", "variant", "metric"]]
            .drop_duplicates().itertuples(index=False, name=None)}
    if changes is None or len(upto) != len(history):
        changes = detect(upto, config, series=list(keys))
    now = [c for c in changes if c.is_open and c.series in keys]
    if not now:
        return []
    cases = {_case(c.series) for c in now}
    before = detect(upto[upto["run_id"] != run_id], config, series=[k for k in keys if _case(k) in cases])
    return _order([describe(c, repo, environments or {}, new=not any(_same(c, b) for b in before)) for c in now])


def current_series(history: pd.DataFrame) -> set[SeriesKey]:
    """Each series in the environment of its newest run (an older fingerprint of it is history)."""
    rows = measured(history)
    if rows.empty:
        return set()
    cols = ["workload", "case", "impl", "variant", "metric"]
    latest = rows.drop_duplicates(cols, keep="last")
    return {SeriesKey(*k) for k in latest[["fingerprint", *cols]].itertuples(index=False, name=None)}


def open_alerts(history: pd.DataFrame, config: DetectionConfig | None = None, repo: Path | None = None,
                since: str | None = None, changes: Sequence[Change] | None = None,
                environments: Environments | None = None) -> list[Alert]:
    """Open changes of every current series (see `current_series`), newest first.

    `since`: only changes whose first run after the change started no earlier than run `since`.
    `changes`: what `detect` found over `history` with `config`, when the caller has it already.
    """
    config = config or DetectionConfig()
    keys = current_series(history)
    if changes is None:
        changes = detect(history, config, series=list(keys))
    found = [c for c in changes if c.is_open and c.series in keys]
    if since is not None:
        starts = history.loc[history["run_id"] == since, "started"]
        if starts.empty:
            raise UsageError(f"--since {since}: no such run in the history store; name a run id under --results")
        found = [c for c in found if (c.first_bad.started, c.first_bad.run_id) >= (starts.iloc[0], since)]
    return _order([describe(c, repo, environments or {}) for c in found])


def _fmt_value(v: float, unit: str) -> str:
    return f"{v:.4g} {unit}".strip()


def alerts_table(alerts: Sequence[Alert]) -> str:
    """The terminal table of `cmbench regressions` (and the head of alerts.md)."""
    rows = []
    for a in alerts:
        c, k = a.change, a.change.series
        rows.append([c.first_bad.run_id, k.workload, k.case, impl_label(k.impl, k.variant), k.metric, c.kind,
                     f"{c.change * 100:+.1f}%", f"{c.pvalue:.1e}",
                     f"{_fmt_value(c.before, c.unit)} -> {_fmt_value(c.after, c.unit)}",
                     f"{c.last_good.commit[:10]}..{c.first_bad.commit[:10]}",
                     a.causes[0] if a.causes else ""])
    return render_table(["first bad run", "workload", "case", "implementation", "metric", "kind", "change",
                         "p", "before -> after", "commits", "likely cause"], rows)


def alerts_markdown(run_id: str, alerts: Sequence[Alert], config: DetectionConfig) -> str:
    lines = [f"# Alerts of run {run_id}", "",
             f"{len(alerts)} open change{'s' if len(alerts) != 1 else ''} in the series this run measured "
             f"(E-Divisive means, p < {config.max_pvalue:g}, at least {config.min_change:.0%} between medians).", ""]
    for a in alerts:
        c, k = a.change, a.change.series
        lines += [f"## {c.kind}: {k.label} {c.change * 100:+.1f}%" + (" (new)" if a.new else ""), "",
                  f"- median {_fmt_value(c.before, c.unit)} over {c.before_runs} runs -> "
                  f"{_fmt_value(c.after, c.unit)} over {c.after_runs} runs (p = {c.pvalue:.2e})",
                  f"- last good run {c.last_good.run_id} (commit {c.last_good.commit[:12]}), first bad run "
                  f"{c.first_bad.run_id} (commit {c.first_bad.commit[:12]})",
                  f"- environment: {a.fingerprint_text}"]
        if a.causes:
            lines.append("- likely causes: " + "; ".join(a.causes))
        if a.commits:
            lines += ["- commits between them:"] + [f"  - `{x.sha[:12]}` {x.subject}" for x in a.commits]
        lines.append("")
    return "\n".join(lines)


def find_run_folder(results_dir: Path, run_id: str) -> Path:
    results_dir = Path(results_dir)
    direct = results_dir / run_id
    if (direct / "run.json").is_file() and load_run(direct).get("run_id") == run_id:
        return direct
    for folder in run_folders(results_dir):
        try:
            if load_run(folder).get("run_id") == run_id:
                return folder
        except UserError:  # another run's damaged folder: the history store warns of it
            continue
    raise UserError(f"run {run_id}: no run folder under {results_dir} holds it")


def write_alerts(folder: Path, run_id: str, alerts: Sequence[Alert], config: DetectionConfig) -> None:
    doc = {"schema": ALERTS_SCHEMA, "run_id": run_id, "generated": now_iso(),
           "config": {"min_change": config.min_change, "max_pvalue": config.max_pvalue, "window": config.window,
                      "min_after": config.min_after},
           "alerts": [a.as_dict() for a in alerts]}
    write_atomic(folder / ALERTS_JSON, json.dumps(doc, indent=2) + "\n")
    write_atomic(folder / ALERTS_MD, alerts_markdown(run_id, alerts, config) + "\n")


def alerts_for_run(results_dir: Path, run_id: str, config: DetectionConfig | None = None,
                   repo: Path | None = None, *, history: pd.DataFrame | None = None,
                   changes: Sequence[Change] | None = None) -> list[Alert]:
    """Alerts of run `run_id` from the history store under `results_dir`, written into its run folder.

    `history` (rows of the store with ANALYSIS_COLUMNS at least) and `changes` (detect() over
    it) save a second read and a second detection when the caller has them.
    """
    config = config or DetectionConfig()
    if history is None:
        history = load_history(results_dir, ANALYSIS_COLUMNS)
    alerts = run_alerts(history, run_id, config, repo, run_environments(results_dir), changes)
    write_alerts(find_run_folder(results_dir, run_id), run_id, alerts, config)
    return alerts


def load_alerts(folder: Path) -> dict:
    """A run's alerts.json, refusing a newer schema."""
    return read_versioned(Path(folder) / ALERTS_JSON, ALERTS_SCHEMA,
                          "the run has no alerts yet (`cmbench nightly` writes them)")
