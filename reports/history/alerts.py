"""Alerts: the open changes of the nightly series, with what a reader needs to act on them.

`alerts_for_run` (what the nightly calls after storing a run) detects changes in every series
the run measured and keeps, as candidates, those still open as of that run in a metric that raises
alerts (reports/metric_names.py `alert_floor`). A candidate explained by an environment change
(reports/history/triage.py) is reported once with it; every other one is confirmed A/B
(`confirm`, cmbench/confirm.py) and raised only when confirmed, or when the old build cannot be had
(`unavailable`, said in the alert); an unconfirmed one is kept as `unconfirmed (host)`. It writes
`alerts.json` (schema 2, read by scripts; results/README.md) and `alerts.md` into the run folder.
`open_alerts` is the same over the whole store as of each series' newest run (`cmbench regressions`,
the Regressions page), with the confirmations the nightlies stored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import UsageError, UserError
from harness.host.fingerprint import differences, fingerprint
from harness.store.builds import BuildStore
from harness.store.folders import read_versioned
from harness.store.run import load_run, now_iso, write_atomic
from harness.vocab import impl_label, render_table
from reports.fmt import fmt_value
from reports.history.changes import Change, DetectionConfig, RunPoint, SeriesKey, detect, host_levels, measured
from reports.history.commits import Commit, commits_between
from reports.history.confirmation import (
    UNAVAILABLE,
    CaseKey,
    Confirmation,
    all_matching,
    decides,
    stored_records,
)
from reports.history.store import ANALYSIS_COLUMNS, load_history, run_environments, run_folders
from reports.history.triage import (
    EnvironmentChange,
    at_build_change,
    environment_changes,
    made_on_todays_build,
    reference_medians,
    sensitivities,
    sensitivity_summary,
    sensitivity_text,
)
from reports.metric_names import alert_absolute_floor, alert_floor, alert_priority

ALERTS_SCHEMA = 2  # 1: no confirmation, environment_changes, sensitivity
ALERTS_JSON = "alerts.json"
ALERTS_MD = "alerts.md"
NEAR = 2  # runs: a change found again this close to where it was found before is the same change
# (series, first bad run) -> its confirmation: what the nightly measured A/B, or found stored
Confirm = Callable[[Sequence[Change]], Mapping[tuple[SeriesKey, str], Confirmation]]
UNMEASURED_PVALUE = DetectionConfig().max_pvalue  # a change no A/B measured is a candidate only below this
UNMEASURED = Confirmation(UNAVAILABLE, note="not measured A/B (no nightly confirmed this change)")


@dataclass(frozen=True)
class Alert:
    change: Change
    fingerprint_text: str
    commits: tuple[Commit, ...] | None  # None: git could not tell (see reports/history/commits.py)
    environment: tuple[str, ...]  # what differs between the last good and the first bad run
    causes: tuple[str, ...]  # likely causes, most likely first
    new: bool | None  # first reported by this run (None: not asked)
    confirmation: Confirmation | None = None  # None: not measured A/B
    mdc: float | None = None  # the series' minimum detectable change

    @property
    def kind(self) -> str:
        return self.change.kind

    @property
    def raised(self) -> bool:
        """Whether this alert is raised: confirmed A/B, or the A/B could not be made (said in the alert)."""
        return self.confirmation is None or self.confirmation.raised

    @property
    def status(self) -> str:
        """What the Regressions page and alerts.md call it: `regression`, `unconfirmed (host)`, ..."""
        return self.kind if self.raised else "unconfirmed (host)"

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
            "confirmation": (self.confirmation or UNMEASURED).as_dict(),
            "confirmation_note": (self.confirmation or UNMEASURED).note, "raised": self.raised,
            "minimum_detectable_change": (None if self.mdc is None or not math.isfinite(self.mdc)
                                          else round(self.mdc, 4)),
        }


Environments = Mapping[str, Mapping[str, Any]]  # run id -> its environment (reports.history.store.environment_of)


def describe(change: Change, repo: Path | None, environments: Environments, new: bool | None = None,
             confirmation: Confirmation | None = None, mdc: float | None = None) -> Alert:
    """An alert for `change`: the commits and environment differences between its two runs, likely causes."""
    good, bad = change.last_good, change.first_bad
    env_good, env_bad = environments.get(good.run_id) or {}, environments.get(bad.run_id) or {}
    envdiff = tuple(differences(env_good, env_bad)) if env_good and env_bad else ()
    commits = commits_between(repo, good.commit, bad.commit)
    causes = []
    if confirmation is not None and confirmation.toolchain and not change.toolchain:
        old, new_version = confirmation.toolchain
        causes.append(f"toolchain of {change.series.impl} changed: {old} -> {new_version} (the old build cannot be "
                      "had, so the change is not confirmed A/B)")
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
    return Alert(change, text, tuple(commits) if commits is not None else None, envdiff, tuple(causes), new,
                 confirmation, mdc)


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


def is_candidate(c: Change, config: DetectionConfig) -> bool:
    """An open change of a metric that raises alerts, past that metric's own floors (relative and absolute).

    Both medians must be above zero: a figure net of its start-up baseline (CPU time or switches per
    operation) that goes to or below zero is under what the harness resolves, and a relative change
    across zero (0.3 ns/op -> -1.2 ns/op, "-478%") means nothing; the A/B's ratio could not test it either."""
    own = alert_floor(c.series.metric)
    return (c.is_open and own is not None and c.before > 0 and c.after > 0
            and abs(c.change) >= max(config.min_change, own)
            and abs(c.after - c.before) >= alert_absolute_floor(c.series.metric))


@dataclass(frozen=True)
class RunTriage:
    """What a run's alerts are: the candidates (raised or not), the environment changes, the sensitivities."""

    alerts: list[Alert]
    environment: list[EnvironmentChange] = field(default_factory=list)
    sensitivity: dict = field(default_factory=dict)  # alerts.json `sensitivity` (triage.sensitivity_summary)
    detectable: dict[SeriesKey, float] = field(default_factory=dict)  # each series' minimum detectable change

    @property
    def raised(self) -> list[Alert]:
        return [a for a in self.alerts if a.raised]


def _run_order(rows: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(rows["run_id"]))


def _triage(rows: pd.DataFrame, keys: set[SeriesKey], changes: Sequence[Change], config: DetectionConfig,
            results: Path | None, confirm: Confirm | None, ab_n: int
            ) -> tuple[list[EnvironmentChange], list[Change], dict[tuple[SeriesKey, str], Confirmation],
                       dict[SeriesKey, float], dict]:
    """Candidates of `keys` -> environment changes, the candidates left, their confirmations, and sensitivities."""
    mine = [c for c in changes if c.series in keys]
    candidates = [c for c in mine if is_candidate(c, config)]
    # Host-relative detection leaves out what moved every series: the host's own steps are read raw.
    raw = detect(rows, config.raw(), series=list(keys)) if config.host_relative else mine
    raw_candidates = [c for c in raw if is_candidate(c, config)] if config.host_relative else candidates
    order = _run_order(rows)
    fps = {k.fingerprint for k in keys}
    same_host = _run_order(rows[rows["fingerprint"].isin(fps)])
    window = same_host[-config.horizon:] if config.horizon else same_host
    counts: dict[str, int] = {}
    for k in keys:
        counts[k.metric] = counts.get(k.metric, 0) + 1
    refs = reference_medians(results, window) if results is not None and raw_candidates else {}
    env, left = environment_changes(raw_candidates, raw, counts, order, config, refs)
    if config.host_relative:  # what moved one series over its host's level is not the host's step
        left = candidates
    builds = BuildStore(results).runs() if results is not None and left else {}
    if builds:
        left = [at_build_change(c, rows, builds) for c in left]
    found: dict[tuple[SeriesKey, str], Confirmation] = {}
    if left:
        at = {r: i for i, r in enumerate(order)}
        records = stored_records(results, window) if results is not None else []
        undecided = []
        for c in left:
            recs = [r for r in all_matching(records, CaseKey.of(c.series), c.first_bad.run_id, at, NEAR)
                    if r.judges(c.series.metric) and made_on_todays_build(r, c, rows, builds)]
            if recs:
                floor = max(config.min_change, alert_floor(c.series.metric) or 0.0)
                confs = [r.confirmation(c.series.metric, c.change, floor) for r in recs]
                settled = [x for x in confs if decides(x, c.change, floor)]  # the newest that decides wins
                found[(c.series, c.first_bad.run_id)] = (settled or confs)[-1]
                if not settled:
                    undecided.append(c)  # every stored interval spans the floor: measured again when it can be
        need = [c for c in left if (c.series, c.first_bad.run_id) not in found]
        if confirm is not None:
            need += undecided
        if confirm is not None and need:
            found.update(confirm(need))
        elif need:  # no A/B, stored or to be made: only what the strict test finds in the raw medians
            strict = [r for r in raw if r.pvalue < UNMEASURED_PVALUE]
            left = [c for c in left if (c.series, c.first_bad.run_id) in found
                    or any(r.series == c.series and abs(r.index - c.index) <= NEAR for r in strict)]
    if config.host_relative:
        rows = rows.assign(median=rows["median"].to_numpy(dtype=float) / host_levels(rows))
    sens = sensitivities(rows[rows["fingerprint"].isin(fps)], sorted(keys, key=str), config, mine, ab_n)
    return env, left, found, {s.series: s.mdc for s in sens}, sensitivity_summary(sens)


def run_triage(history: pd.DataFrame, run_id: str, config: DetectionConfig | None = None,
               repo: Path | None = None, environments: Environments | None = None,
               changes: Sequence[Change] | None = None, *, results: Path | None = None,
               confirm: Confirm | None = None, ab_n: int = 0) -> RunTriage:
    """The candidates, as of run `run_id`, of every series that run measured; `new` marks those it found first.

    `changes`: what `detect` found over all of `history` with `config`, when the caller has it
    already; used only when `run_id` is the newest run of `history`. `results`: the results folder
    (reference measurements, stored A/B records); `confirm` measures the candidates no stored A/B
    covers (the nightly's); `ab_n`: the processes a side it runs (for the minimum detectable change).
    """
    config = config or DetectionConfig()
    upto = _upto(history, run_id)
    rows = measured(upto)
    mine = rows[rows["run_id"] == run_id]
    keys = {SeriesKey(*k) for k in mine[["fingerprint", "workload", "case", "impl", "variant", "metric"]]
            .drop_duplicates().itertuples(index=False, name=None)}
    if changes is None or len(upto) != len(history):
        changes = detect(upto, config, series=list(keys))
    env, left, found, mdc, summary = _triage(rows, keys, changes, config, results, confirm, ab_n)
    explained = [c for e in env for c in e.explains]
    if not left and not explained:
        return RunTriage([], env, summary, mdc)
    earlier = upto[upto["run_id"] != run_id]
    cases = {_case(c.series) for c in left}
    before = detect(earlier, config, series=[k for k in keys if _case(k) in cases]) if left else []
    new = {id(c): not any(_same(c, b) for b in before) for c in left}
    if explained:
        raw_cases = {_case(c.series) for c in explained}
        raw_before = detect(earlier, config.raw(), series=[k for k in keys if _case(k) in raw_cases])
        new.update({id(c): not any(_same(c, b) for b in raw_before) for c in explained})
    # A change is new when it is first raised: one found before but left unconfirmed is new when a later
    # A/B confirms it, and one an earlier run raised already (in this metric or another of the case, each
    # metric clearing its floor in its own nightly) is not. One change moving several metrics of a case in
    # this run is new once, by its first metric.
    if results is not None and confirm is not None:
        raised_before = _raised_before(Path(results), _run_order(earlier), config.horizon)
        at = {r: i for i, r in enumerate(_run_order(rows))}
        for c in left:
            if found.get((c.series, c.first_bad.run_id), UNMEASURED).raised:
                new[id(c)] = not any(_reported(c, r, at) for r in raised_before)
    reported: list[Change] = []
    for c in sorted(left, key=lambda c: alert_priority(c.series.metric)):
        if new[id(c)] and any(_same(c, r) for r in reported):
            new[id(c)] = False
        elif new[id(c)] and found.get((c.series, c.first_bad.run_id), UNMEASURED).raised:
            reported.append(c)
    env = [replace(e, new=any(new[id(c)] for c in e.explains)) for e in env]
    alerts = [describe(c, repo, environments or {}, new=new[id(c)],
                       confirmation=found.get((c.series, c.first_bad.run_id)), mdc=mdc.get(c.series)) for c in left]
    return RunTriage(_order(alerts), env, summary, mdc)


def _raised_before(results: Path, runs: Sequence[str], horizon: int) -> list[dict]:
    """The raised alerts of the stored alerts.json of `runs` (the newest `horizon`); unreadable ones skipped."""
    out = []
    for run_id in (runs[-horizon:] if horizon else runs):
        try:
            doc = json.loads((results / run_id / ALERTS_JSON).read_text(encoding="utf-8"))
            out += [a for a in doc.get("alerts") or [] if isinstance(a, dict) and a.get("raised", True)]
        except (OSError, ValueError, AttributeError):
            continue
    return out


def _reported(c: Change, stored: Mapping[str, Any], at: Mapping[str, int]) -> bool:
    """Whether a stored alert (alerts.json) raised the same change of the same case, of the same kind, as
    `_same` reads it: in the same metric within `NEAR` runs (`at`: each run's place), in another at that run."""
    k = c.series
    if ((stored.get("workload"), stored.get("case"), stored.get("impl"), stored.get("variant"), stored.get("kind"))
            != (k.workload, k.case, k.impl, k.variant, c.kind)):
        return False
    first_bad = (stored.get("first_bad") or {}).get("run_id")
    if stored.get("metric") != k.metric or first_bad not in at or c.first_bad.run_id not in at:
        return first_bad == c.first_bad.run_id
    return abs(at[first_bad] - at[c.first_bad.run_id]) <= NEAR


def run_alerts(history: pd.DataFrame, run_id: str, config: DetectionConfig | None = None,
               repo: Path | None = None, environments: Environments | None = None,
               changes: Sequence[Change] | None = None) -> list[Alert]:
    """`run_triage`'s candidates (raised or not), without A/B confirmation."""
    return run_triage(history, run_id, config, repo, environments, changes).alerts


def current_series(history: pd.DataFrame) -> set[SeriesKey]:
    """Each series in the environment of its newest run (an older fingerprint of it is history)."""
    rows = measured(history)
    if rows.empty:
        return set()
    cols = ["workload", "case", "impl", "variant", "metric"]
    latest = rows.drop_duplicates(cols, keep="last")
    return {SeriesKey(*k) for k in latest[["fingerprint", *cols]].itertuples(index=False, name=None)}


def open_triage(history: pd.DataFrame, config: DetectionConfig | None = None, repo: Path | None = None,
                since: str | None = None, changes: Sequence[Change] | None = None,
                environments: Environments | None = None, results: Path | None = None) -> RunTriage:
    """The candidates of every current series (see `current_series`) with the confirmations the nightlies
    stored under `results`, the environment changes that explain some, and the series' sensitivities.

    `since`: only changes whose first run after the change started no earlier than run `since`.
    `changes`: what `detect` found over `history` with `config`, when the caller has it already.
    """
    config = config or DetectionConfig()
    keys = current_series(history)
    if changes is None:
        changes = detect(history, config, series=list(keys))
    env, left, found, mdc, summary = _triage(measured(history), keys, changes, config, results, None, 0)
    if since is not None:
        starts = history.loc[history["run_id"] == since, "started"]
        if starts.empty:
            raise UsageError(f"--since {since}: no such run in the history store; name a run id under --results")
        later = (starts.iloc[0], since)
        left = [c for c in left if (c.first_bad.started, c.first_bad.run_id) >= later]
        env = [e for e in env if any((c.first_bad.started, c.first_bad.run_id) >= later for c in e.explains)]
    alerts = [describe(c, repo, environments or {}, confirmation=found.get((c.series, c.first_bad.run_id)),
                       mdc=mdc.get(c.series)) for c in left]
    return RunTriage(_order(alerts), env, summary, mdc)


def open_alerts(history: pd.DataFrame, config: DetectionConfig | None = None, repo: Path | None = None,
                since: str | None = None, changes: Sequence[Change] | None = None,
                environments: Environments | None = None, results: Path | None = None) -> list[Alert]:
    """`open_triage`'s candidates, newest first."""
    return open_triage(history, config, repo, since, changes, environments, results).alerts


def alerts_table(alerts: Sequence[Alert]) -> str:
    """The terminal table of `cmbench regressions` (and the head of alerts.md)."""
    rows = []
    for a in alerts:
        c, k = a.change, a.change.series
        conf = a.confirmation
        ab = (f"{conf.ratio:.3f} [{conf.ci_low:.3f}, {conf.ci_high:.3f}] ({conf.level} CI) n={conf.n}"
              if conf is not None and conf.ratio is not None and conf.ci_low is not None else "—")
        rows.append([c.first_bad.run_id, k.workload, k.case, impl_label(k.impl, k.variant), k.metric, a.status,
                     f"{c.change * 100:+.1f}%", f"{c.pvalue:.1e}",
                     f"{fmt_value(c.before, c.unit)} -> {fmt_value(c.after, c.unit)}", ab,
                     "—" if a.mdc is None or not math.isfinite(a.mdc) else f"{a.mdc * 100:.1f}%",
                     f"{c.last_good.commit[:10]}..{c.first_bad.commit[:10]}",
                     a.causes[0] if a.causes else ""])
    return render_table(["first bad run", "workload", "case", "implementation", "metric", "kind", "change",
                         "p", "before -> after", "A/B ratio [CI]", "detectable", "commits", "likely cause"], rows)


def environment_lines(env: Sequence[EnvironmentChange]) -> list[str]:
    return [f"environment change at run {e.run_id} (after {e.last_good}){' (new)' if e.new else ''}: "
            f"{'; '.join(e.moved)}; explains {len(e.explains)} series, not raised one by one" for e in env]


def alerts_markdown(run_id: str, triage: RunTriage, config: DetectionConfig) -> str:
    raised = triage.raised
    held = [a for a in triage.alerts if not a.raised]
    lines = [f"# Alerts of run {run_id}", "",
             f"{len(raised)} open change{'s' if len(raised) != 1 else ''} raised in the series this run measured "
             f"(E-Divisive means, p < {config.max_pvalue:g}, at least {config.min_change:.0%} between medians, "
             f"confirmed A/B against the last good run's build), {len(held)} unconfirmed (host), "
             f"{len(triage.environment)} environment change(s).", ""]
    for e in environment_lines(triage.environment):
        lines += [f"## {e}", ""]
    lines += [*sensitivity_text(triage.sensitivity), ""]
    for a in triage.alerts:
        c, k = a.change, a.change.series
        lines += [f"## {a.status}: {k.label} {c.change * 100:+.1f}%" + (" (new)" if a.new else ""), "",
                  f"- median {fmt_value(c.before, c.unit)} over {c.before_runs} runs -> "
                  f"{fmt_value(c.after, c.unit)} over {c.after_runs} runs (p = {c.pvalue:.2e})",
                  f"- A/B: {(a.confirmation or UNMEASURED).text()}",
                  "- minimum detectable change of this series: "
                  + ("not yet known" if a.mdc is None or not math.isfinite(a.mdc) else f"{a.mdc * 100:.1f}%"),
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


def write_alerts(folder: Path, run_id: str, triage: RunTriage, config: DetectionConfig) -> None:
    doc = {"schema": ALERTS_SCHEMA, "run_id": run_id, "generated": now_iso(),
           "config": {"min_change": config.min_change, "max_pvalue": config.max_pvalue, "window": config.window,
                      "min_after": config.min_after, "ab_confirmation": config.host_relative},
           "alerts": [a.as_dict() for a in triage.alerts],
           "environment_changes": [e.as_dict() for e in triage.environment],
           "sensitivity": triage.sensitivity}
    write_atomic(folder / ALERTS_JSON, json.dumps(doc, indent=2) + "\n")
    write_atomic(folder / ALERTS_MD, alerts_markdown(run_id, triage, config) + "\n")


def triage_for_run(results_dir: Path, run_id: str, config: DetectionConfig | None = None,
                   repo: Path | None = None, *, history: pd.DataFrame | None = None,
                   changes: Sequence[Change] | None = None, confirm: Confirm | None = None,
                   ab_n: int = 0) -> RunTriage:
    """Alerts of run `run_id` from the history store under `results_dir`, written into its run folder.

    `history` (rows of the store with ANALYSIS_COLUMNS at least) and `changes` (detect() over
    it) save a second read and a second detection when the caller has them; `confirm` measures
    candidates A/B (the nightly's, cmbench/confirm.py).
    """
    config = config or DetectionConfig()
    if history is None:
        history = load_history(results_dir, ANALYSIS_COLUMNS)
    triage = run_triage(history, run_id, config, repo, run_environments(results_dir), changes,
                        results=Path(results_dir), confirm=confirm, ab_n=ab_n)
    write_alerts(find_run_folder(results_dir, run_id), run_id, triage, config)
    return triage


def alerts_for_run(results_dir: Path, run_id: str, config: DetectionConfig | None = None,
                   repo: Path | None = None, *, history: pd.DataFrame | None = None,
                   changes: Sequence[Change] | None = None) -> list[Alert]:
    """`triage_for_run` without A/B measurement (stored A/B records are used): its alerts."""
    return triage_for_run(results_dir, run_id, config, repo, history=history, changes=changes).alerts


def load_alerts(folder: Path) -> dict:
    """A run's alerts.json, refusing a newer schema."""
    return read_versioned(Path(folder) / ALERTS_JSON, ALERTS_SCHEMA,
                          "the run has no alerts yet (`cmbench nightly` writes them)")
