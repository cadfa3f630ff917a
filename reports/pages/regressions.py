"""The Regressions page: the open alerts of the nightly series (reports/history/alerts.py), newest first."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from harness.vocab import impl_label
from reports.fmt import fmt_change, fmt_p, fmt_value
from reports.history.alerts import Alert
from reports.history.changes import REGRESSION, measured
from reports.metric_names import label
from reports.pages.workload import slug
from reports.table import Cell, Table

PLOTTED_ALERTS = 40  # alerts drawn with their series; the table lists them all


@dataclass(frozen=True)
class AlertView:
    anchor: str
    title: str
    kind: str
    facts: tuple[tuple[str, str], ...]
    commits: tuple[tuple[str, str], ...] | None  # (short sha, subject); None: git could not tell
    causes: tuple[str, ...]
    environment: tuple[str, ...]


def anchor(alert: Alert) -> str:
    k = alert.change.series
    return "alert-" + slug(f"{k.workload}-{k.case}-{k.impl}-{k.variant}-{k.metric}-{alert.change.first_bad.run_id}")


def title(alert: Alert) -> str:
    c, k = alert.change, alert.change.series
    return (f"{k.workload} [{k.case}] {impl_label(k.impl, k.variant)}: {label(k.metric)} "
            f"{fmt_change(c.after / c.before) if c.before else '—'}")


def alerts_table(alerts: Sequence[Alert]) -> Table:
    rows, raw = [], []
    for a in alerts:
        c, k = a.change, a.change.series
        impl = impl_label(k.impl, k.variant)
        conf = a.confirmation
        ab = (f"{conf.ratio:.3f} [{conf.ci_low:.3f}, {conf.ci_high:.3f}] ({conf.level} CI), n={conf.n}"
              if conf is not None and conf.ratio is not None and conf.ci_low is not None else
              (conf.status if conf is not None else "not measured"))
        rows.append([Cell(c.first_bad.run_id, cls="mono", href=f"#{anchor(a)}"), k.workload,
                     Cell(k.case), impl, label(k.metric),
                     Cell(a.status, cls="verdict " + ("muted" if not a.raised else "bad" if c.kind == REGRESSION
                                                      else "good")),
                     Cell(fmt_change(c.after / c.before) if c.before else "—", cls="num"),
                     Cell(f"{fmt_value(c.before, c.unit)} → {fmt_value(c.after, c.unit)}", cls="num"),
                     Cell(fmt_p(c.pvalue), cls="num"), Cell(ab, cls="num"),
                     Cell("—" if a.mdc is None or not math.isfinite(a.mdc) else f"{a.mdc * 100:.1f}%", cls="num"),
                     Cell(f"{c.last_good.commit[:10]}..{c.first_bad.commit[:10]}", cls="mono"),
                     Cell(_short(a.causes[0]) if a.causes else "", title=a.causes[0] if a.causes else "")])
        raw.append({**{k2: v for k2, v in a.as_dict().items() if not isinstance(v, dict | list)},
                    "last_good": c.last_good.run_id, "first_bad": c.first_bad.run_id,
                    "last_good_commit": c.last_good.commit, "first_bad_commit": c.first_bad.commit,
                    "likely_causes": "; ".join(a.causes)})
    return Table.build("regressions", "Open alerts", [
        "first run after", "workload", "case", "implementation", "metric", "kind", "change",
        "median before → after", "p", "A/B ratio [CI]", "detectable change", "commits", "likely cause"], rows,
        raw=pd.DataFrame(raw), notes=[
        "Each candidate is measured A/B: the last good run's kept build against today's, their processes "
        "interleaved on the same host in the same minutes. It is raised when the ratio's interval lies beyond the "
        "floor; otherwise it is listed as unconfirmed (host) and not raised. The intervals of a night's A/Bs hold "
        "95% together: each is at 1 − 0.05 / k for k candidates (Bonferroni), its level shown beside it.",
        "Newest first. A change stays open while its series stays at least the noise floor away from its "
        "level before the change, the same way.",
        "p: the t-test p-value of the change point (E-Divisive means, Apache Otava); change: between the "
        "medians of the per-run medians before and after."])


def _short(text: str, most: int = 60) -> str:
    """A cause cut for the table (each alert below gives it whole)."""
    return text if len(text) <= most else text[:most - 1].rstrip() + "…"


def alert_view(alert: Alert) -> AlertView:
    c = alert.change
    facts = (
        ("change", f"{c.kind}: {fmt_change(c.after / c.before) if c.before else '—'} "
                   f"({fmt_value(c.before, c.unit)} → {fmt_value(c.after, c.unit)}; {label(c.series.metric)}, "
                   f"{'lower' if c.direction == 'lower' else 'higher'} is better)"),
        ("median before", f"{fmt_value(c.before, c.unit)} over {c.before_runs} runs"),
        ("median after", f"{fmt_value(c.after, c.unit)} over {c.after_runs} runs; now {fmt_value(c.latest, c.unit)}"),
        ("p-value", f"{c.pvalue:.2g} (confidence {1 - c.pvalue:.4f})"),
        ("A/B confirmation", alert.confirmation.text() if alert.confirmation else "not measured A/B"),
        ("detectable change", "not yet known" if alert.mdc is None or not math.isfinite(alert.mdc)
         else f"{alert.mdc * 100:.1f}% in this series (noise, window and confirmation)"),
        ("last good run", f"{c.last_good.run_id}, commit {c.last_good.commit[:12]}"),
        ("first bad run", f"{c.first_bad.run_id}, commit {c.first_bad.commit[:12]}"),
        ("environment", alert.fingerprint_text),
    )
    commits = None if alert.commits is None else tuple((x.sha[:12], x.subject) for x in alert.commits)
    return AlertView(anchor(alert), title(alert), alert.status, facts, commits, alert.causes, alert.environment)


class SeriesIndex:
    """Where each series' rows are in the history, every environment together: built once per site."""

    COLUMNS = ["workload", "case", "impl", "variant", "metric"]

    def __init__(self, history: pd.DataFrame) -> None:
        self.rows = measured(history).reset_index(drop=True)
        self.positions = self.rows.groupby(self.COLUMNS, sort=False).indices

    def series(self, alert: Alert) -> tuple[pd.DataFrame, int]:
        """The alert's series in every environment (oldest first) and the position of its first bad run in it."""
        k = alert.change.series
        rows = self.rows.iloc[self.positions[(k.workload, k.case, k.impl, k.variant, k.metric)]]
        rows = rows.reset_index(drop=True)
        return rows, int(rows.index[rows["run_id"] == alert.change.first_bad.run_id][0])
