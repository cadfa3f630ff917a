"""Rendering the static site: pages from jinja2 templates, seaborn figures, table exports.

The site is built in a temporary folder next to the destination and swapped in at the end, so
an interrupted render leaves the previous site whole. The destination must be new, empty, or
a site this code wrote (it holds a `.cmbench-site` marker): nothing else is ever replaced.
Saved comparisons (`compare/`) survive a re-render.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import jinja2
import markupsafe
import pandas as pd

import reports.plots as plots
from harness.errors import UserError
from harness.store.folders import replace_folder
from harness.vocab import impl_label
from reports.bound import bound_set
from reports.claims import evaluate_all
from reports.claims_ledger import Ledger, load_ledger
from reports.compare import Comparison, compare_runs, comparison_table, verdict_class
from reports.data import Results, Run, implementation_order, short_case_labels, summarize
from reports.history.alerts import RunTriage, environment_lines, open_triage
from reports.history.changes import REGRESSION, SERIES_KEY, Change, DetectionConfig, detect, measured
from reports.history.store import environment_of, run_rows
from reports.history.triage import sensitivity_text
from reports.metric_names import declared_key_metrics, label, ranked
from reports.pages.claims import page_context, verdict_counts, write_claims_json
from reports.pages.environment import run_environment, runs_table
from reports.pages.history import build_history, run_labels, shown_series
from reports.pages.overview import FAILED, build_blocks, build_overview, workload_cases
from reports.pages.regressions import PLOTTED_ALERTS, SeriesIndex, alert_view, alerts_table
from reports.pages.workload import build_workload, headroom_rows, http_notes, scaling_series, slug
from reports.quality import COUNT_NAMES, SHORT, case_marks, mark_counts
from reports.quality import legend as quality_legend
from reports.repeatability import run_to_run, spread_note
from reports.table import Table

TEMPLATES = Path(__file__).with_name("templates")
MARKER = ".cmbench-site"
COMPARE_DIR = "compare"


@dataclass(frozen=True)
class Figure:
    file: str
    alt: str
    caption: str


@dataclass(frozen=True)
class SiteSummary:
    index: Path
    pages: int
    plots: int
    tables: int
    seconds: float
    size: int  # bytes on disk


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["breakable"] = _breakable
    return env


def _breakable(text: str) -> markupsafe.Markup:
    """Allow a line break after / and : in long names (table headers such as go/goroutines:gomaxprocs1)."""
    escaped = markupsafe.escape(text)
    return markupsafe.Markup(str(escaped).replace("/", "/<wbr>").replace(":", ":<wbr>"))


@dataclass
class _Writer:
    """Collects what one site render writes: pages, figures and table exports, with unique names."""

    root: Path
    env: jinja2.Environment = field(default_factory=_environment)
    pages: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    slugs: set[str] = field(default_factory=set)
    common: dict = field(default_factory=dict)

    def table(self, t: Table) -> Table:
        """Give `t` a unique slug and write its CSV and Markdown exports."""
        name, n = t.slug, 2
        while name in self.slugs:
            name, n = f"{t.slug}-{n}", n + 1
        self.slugs.add(name)
        if name != t.slug:
            t = Table(name, t.title, t.columns, t.rows, t.raw, t.notes, t.row_classes)
        folder = self.root / "tables"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.csv").write_text(t.to_csv(), encoding="utf-8")
        (folder / f"{name}.md").write_text(t.to_markdown(), encoding="utf-8")
        return t

    def figure(self, draw: Callable[..., str | None], name: str, alt: str, caption: str, *args, **kw) -> Figure | None:
        file = draw(*args, path=self.root / "plots" / f"{name}.png", **kw)
        if file is None:
            return None
        self.figures.append(file)
        return Figure(file, alt, caption)

    def page(self, name: str, template: str, **context) -> None:
        html = self.env.get_template(template).render({"page": name, "root": "", **self.common, **context})
        (self.root / name).write_text(html, encoding="utf-8")
        self.pages.append(name)


@contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A fresh folder next to `out`; on success it replaces `out` (keeping saved comparisons)."""
    out = out.resolve()
    if out.exists():
        if not out.is_dir():
            raise UserError(f"--out {out}: is a file; choose a folder")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise UserError(f"--out {out}: holds files this command did not write; choose a new or empty folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    except OSError as e:
        raise UserError(f"--out {out}: cannot create a folder next to it: {e.strerror}") from None
    try:
        os.chmod(tmp, 0o755)
        yield tmp
        (tmp / MARKER).write_text("written by cmbench report; replaced on every render\n", encoding="utf-8")
        if (out / COMPARE_DIR).is_dir() and not (tmp / COMPARE_DIR).exists():
            os.rename(out / COMPARE_DIR, tmp / COMPARE_DIR)
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass(frozen=True)
class ImplInfo:
    """What the implementations page shows of one implementation (taken from its impl.toml)."""

    id: str
    language: str
    model: str
    description: str
    workloads: tuple[str, ...]
    knobs: tuple[tuple[str, str], ...] = ()
    variants: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # name, help, workloads ("": all)
    unsupported: tuple[tuple[str, str, str], ...] = ()  # workload, parameter values, reason
    readme: Path | None = None  # the README in the project tree
    readme_href: str = ""  # where the pages link the README instead (relative to the site), e.g. a published copy


def _impl_rows(impls: Sequence[ImplInfo], root: Path, source_url: str = "") -> list[dict]:
    """Each implementation with its README linked inside the site, so a copied site keeps its links: the README
    is copied to `root`/impls/<id>/README.md, unless the entry names where it lives (`readme_href`) or a
    `source_url` is given (then <source_url>/impls/<id>/README.md, e.g. the repository's page of the file)."""
    rows = []
    for info in impls:
        link = info.readme_href
        if not link and info.readme is not None and info.readme.is_file():
            rel = Path("impls", *info.id.split("/"), "README.md").as_posix()
            if source_url:
                link = f"{source_url.rstrip('/')}/{rel}"
            else:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(info.readme, root / rel)
                link = rel
        rows.append({"info": info, "anchor": slug(info.id), "readme": link})
    return rows


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _nav(workloads: list[str], links: Sequence[tuple[str, str]] = ()) -> list[dict[str, str]]:
    """The pages of a site, then `links` (href relative to the site, label): places beyond it, as published."""
    return ([{"href": "index.html", "label": "Overview"}]
            + [{"href": f"workload-{slug(w)}.html", "label": w} for w in workloads]
            + [{"href": "implementations.html", "label": "Implementations"},
               {"href": "history.html", "label": "History"}, {"href": "regressions.html", "label": "Regressions"},
               {"href": "compare.html", "label": "Compare"},
               {"href": "claims.html", "label": "Claims"}, {"href": "environment.html", "label": "Environment"}]
            + [{"href": href, "label": text} for href, text in links])


def _cpus_text(run: Run) -> str:
    cpus = run.meta.get("cpus")
    return f"{len(cpus)} CPU{'s' if len(cpus) != 1 else ''}" if isinstance(cpus, list) else "? CPUs"


def _previous_run(results: Results) -> str | None:
    """The newest earlier run sharing a measured case with the latest one (else the one before)."""
    if len(results.runs) < 2:
        return None
    latest = results.latest.run_id
    s = results.samples
    mine = set(zip(*(s.loc[s["run_id"] == latest, c] for c in ("workload", "case", "implementation"))))
    for run in reversed(results.runs[:-1]):
        theirs = set(zip(*(s.loc[s["run_id"] == run.run_id, c] for c in ("workload", "case", "implementation"))))
        if mine & theirs:
            return run.run_id
    return results.runs[-2].run_id


def _tally(c: Comparison) -> list[tuple[tuple[str, str], int]]:
    counts = c.counts()
    order = ("faster", "better", "slower", "worse", "not significant", "modes", "too few samples", "not compared")
    return [((w, verdict_class(w)), counts[w]) for w in order if counts.get(w)]


def _workload_figures(w: _Writer, run: Run, samples: pd.DataFrame, summaries: pd.DataFrame, workload: str,
                      cases: list[str], colors: dict, key: str | None) -> list[Figure]:
    short = short_case_labels(cases)
    ws = samples[samples["workload"] == workload]
    wsum = summaries[summaries["workload"] == workload]
    present = set(ws["metric"])
    name = slug(workload)
    figs = []
    quality = {(r.case, r.implementation): " ".join(SHORT[m.code] for m in case_marks(r))
               for r in run.cases[run.cases["workload"] == workload].itertuples()}
    if key:
        bound = {(c, i) for w_, c, i in bound_set(run) if w_ == workload}
        figs.append(w.figure(plots.bar_grid, f"{name}-{slug(key)}", f"{label(key)} per implementation, {workload}",
                             f"{label(key)}: bars at the median, whiskers over the interquartile range"
                             + ("; hatched bars (≥) are load-generator bound: lower bounds, the generator set the "
                                "rate." if bound else "."),
                             ws, [key], [c for c in cases if ranked(c)], short, colors,
                             title=f"{workload}: {label(key)}", bound=bound, marks=quality))
    if "time_to_ready" in present:
        starts = [c for c in cases if not ws[(ws["case"] == c) & (ws["metric"] == "time_to_ready")].empty]
        figs.append(w.figure(plots.bar_grid, f"{name}-startup", f"time to ready per implementation, {workload}",
                             "Time from process start to the first answer: bars at the median of the fresh starts, "
                             "whiskers over the interquartile range.", ws, ["time_to_ready"], starts, short, colors,
                             title=f"{workload}: time to ready", marks=quality))
    per_unit = [m for m in ("memory_per_task", "memory_per_connection", "memory_with_connections") if m in present]
    memory = [*per_unit, "peak_rss"] if "peak_rss" in present else per_unit
    if memory:
        # With a per-task or per-connection figure, only the cases that measure it (the idle phase of a server).
        mem_cases = [c for c in cases if not per_unit or not ws[(ws["case"] == c) & ws["metric"].isin(per_unit)].empty]
        figs.append(w.figure(plots.bar_grid, f"{name}-memory", f"memory per implementation, {workload}",
                             "Memory: " + ", ".join(label(m) for m in memory)
                             + " (per-task and per-connection figures are net of the start-up baseline).",
                             ws, memory, mem_cases, short, colors, title=f"{workload}: memory", marks=quality))
    costs = [m for m in ("cpu_time_per_op", "ctx_switches_voluntary_per_op", "ctx_switches_involuntary_per_op")
             if m in present]
    if costs:
        figs.append(w.figure(plots.bar_grid, f"{name}-costs", f"CPU time and context switches per operation, "
                             f"{workload}", "CPU time and context switches per operation, net of the start-up "
                             "baseline (one sample per process).", ws, costs, cases, short, colors,
                             title=f"{workload}: cost per operation", marks=quality))
    figs.append(w.figure(plots.latency_curves, f"{name}-latency", f"latency percentiles, {workload}",
                         "Latency by percentile: medians over the runs' processes with the interquartile range.",
                         wsum, cases, short, colors, title=f"{workload}: latency percentiles"))
    series = scaling_series(cases)
    if series and key:
        param, values = series
        ringed = {(c, i) for w_, c, i in bound_set(run) if w_ == workload}
        figs.append(w.figure(plots.scaling, f"{name}-scaling-{slug(param)}", f"{label(key)} by {param}",
                             f"{label(key)} as {param} grows (median, whiskers over the IQR)"
                             + ("; ringed points are load-generator bound (lower bounds)." if ringed else "."),
                             ws, key, param, values, colors, title=f"{workload}: {label(key)} by {param}",
                             bound=ringed))
    return [f for f in figs if f is not None]


def _regressions_page(w: _Writer, history: pd.DataFrame, triage: RunTriage, colors: dict, runs_count: int,
                      series: int, config: DetectionConfig) -> None:
    """Raised alerts first (plotted), then the unconfirmed candidates, the environment changes, the sensitivity."""
    alerts = sorted(triage.alerts, key=lambda a: not a.raised)
    views = []
    labels = run_labels(list(dict.fromkeys(history["run_id"])))
    index_of = SeriesIndex(history) if alerts else None
    for i, a in enumerate(alerts):
        view = alert_view(a)
        fig = None
        if i < PLOTTED_ALERTS:
            rows, index = index_of.series(a)
            rows = rows.assign(run_label=rows["run_id"].map(labels))
            c = a.change
            fig = w.figure(plots.change_series, view.anchor, f"series of {view.title}",
                           f"Median per run with the interquartile range; the line marks the change point, dashes the "
                           f"medians over the {c.before_runs} runs before and the {c.after_runs} after.",
                           rows, index, (c.before_runs, c.before), (c.after_runs, c.after), c.kind, c.unit,
                           c.series.metric, colors.get(impl_label(c.series.impl, c.series.variant), (0.2, 0.3, 0.6)),
                           title=view.title)
        views.append({"view": view, "figure": fig})
    counts = {"regression": sum(a.raised and a.kind == REGRESSION for a in alerts),
              "improvement": sum(a.raised and a.kind != REGRESSION for a in alerts),
              "unconfirmed": sum(not a.raised for a in alerts)}
    w.page("regressions.html", "regressions.html", title="Regressions", alerts=views, counts=counts,
           environment=environment_lines(triage.environment), sensitivity=sensitivity_text(triage.sensitivity),
           table=w.table(alerts_table(alerts)) if alerts else None, runs_count=runs_count, series=series, config=config,
           unplotted=max(0, len(alerts) - PLOTTED_ALERTS), **_depth(history, config))


def _depth(history: pd.DataFrame, config: DetectionConfig) -> dict:
    """How many runs the longest series of one environment has, and how many a change point needs."""
    most = int(history.groupby("fingerprint")["run_id"].nunique().max()) if len(history) and "fingerprint" in history \
        else 0
    return {"most_runs": most, "needed_runs": 2 * config.min_after}


def _with_samples(results: Results) -> Results:
    """The runs whose samples were read (a site over the history store reads the newest only): the claims
    are judged from samples, and going through a year of runs without any costs minutes."""
    sampled = set(results.samples["run_id"])
    if not sampled or len(sampled) == len(results.runs):
        return results
    return Results(tuple(r for r in results.runs if r.run_id in sampled), results.samples)


def _history_of(results: Results) -> pd.DataFrame:
    """The history store's rows for the given runs, computed as the store would from the samples already read."""
    frames = [run_rows(r.path, results.samples_of(r.run_id)) for r in results.runs]
    return pd.concat(frames, ignore_index=True).sort_values(["started", "run_id"], kind="stable", ignore_index=True)


def build_site(results: Results, out: Path, *, ledger: Ledger | None = None,
               descriptions: Mapping[str, str] | None = None, impls: Sequence[ImplInfo] = (),
               history: pd.DataFrame | None = None, environments: Mapping[str, Mapping] | None = None,
               detection: DetectionConfig | None = None, repo: Path | None = None,
               changes: Sequence[Change] | None = None, links: Sequence[tuple[str, str]] = (),
               key_metrics: Mapping[str, Sequence[str]] | None = None, source_url: str = "") -> SiteSummary:
    """Render every page for `results` into `out`; the overview and workload pages show the latest run.

    `key_metrics`: each workload's declared key metrics (workload.toml [report]); by default the
    project's own workloads'. `source_url`: where the pages link the implementations' READMEs
    (`CMBENCH_SOURCE_URL`; by default the READMEs are copied into the site, so a copied site has no
    broken link).
    `history`: the history store's rows (reports/history/store.py) behind the History and Regressions
    pages, with `environments` (run id -> environment) for the alerts; by default both come from
    the runs' folders. `detection` configures change points; `repo` is the git repository that
    knows the runs' commits; `changes`: what detect() found over `history`, when known; `links`:
    (href, label) pairs the navigation adds after the site's own pages.
    """
    began = time.perf_counter()
    detection = detection or DetectionConfig()
    if history is None:
        history = _history_of(results)
    if environments is None:
        environments = {r.run_id: environment_of(r.meta) for r in results.runs}
    if changes is None:
        changes = detect(history, detection, series=shown_series(history))
    triage = open_triage(history, detection, repo, changes=changes, environments=environments,
                         results=results.runs[-1].path.parent if results.runs else None)
    detectable = {(k.workload, k.case, impl_label(k.impl, k.variant), k.metric): mdc
                  for k, mdc in triage.detectable.items()}
    ledger = ledger or load_ledger()
    descriptions = descriptions or {}
    declared = declared_key_metrics() if key_metrics is None else key_metrics
    summaries = summarize(results.samples)
    run = results.latest
    lsum = summaries[summaries["run_id"] == run.run_id]
    lsamples = results.samples_of(run.run_id)
    colors = plots.palette(implementation_order(list(results.samples["implementation"])
                                                + [i for r in results.runs for i in r.cases["implementation"]]))
    by_workload = workload_cases(run, lsum)
    spread = run_to_run(history, run.run_id, changes=changes)  # how each figure moved between runs (ranks use it)
    verdicts = evaluate_all(ledger, _with_samples(results))
    claim_counts = verdict_counts(verdicts)
    runs_note = (f"run {run.run_id}" if len(results.runs) == 1
                 else f"{len(results.runs)} runs, the latest {run.run_id}")
    with _staging(out) as root:
        w = _Writer(root)
        w.common = {"nav": _nav(list(by_workload), links), "runs_note": runs_note, "title": "cmbench"}
        (root / "static").mkdir()
        shutil.copyfile(TEMPLATES / "style.css", root / "static" / "style.css")

        overview = build_overview(run, lsum, lsamples, declared, spread=spread)
        overview = replace(overview, table=w.table(overview.table))
        blocks = [replace(b, table=w.table(b.table)) for b in build_blocks(run, lsum, lsamples, declared,
                                                                            descriptions, spread=spread)]
        heatmap = w.figure(plots.overview_heatmap, "overview-heatmap", "key metric as a fraction of the top figure",
                           "Each workload case's key metric as a fraction of the top implementation's (1 = the top), "
                           "one row per case. “best” only where its 95% interval (widened to its run-to-run spread "
                           "where the runs give one) overlaps no other's; “≈ best” where it overlaps the top one's; "
                           "“modes” where the processes fell into groups (not ranked). "
                           "Hatched tiles carry a quality mark, named under the figure (≥: a lower bound; n=1: "
                           "measured once; busy: host busy; unconv: unconverged).",
                           overview.fractions, marks=overview.marks, quality=overview.quality)
        statuses = run.cases["status"]
        counts = {"ok": int((statuses == "ok").sum()), "failed": int(statuses.isin(FAILED).sum()),
                  "skipped": int((statuses == "skipped").sum()),
                  "unsupported": int((statuses == "unsupported").sum())}
        marked = mark_counts(run)
        cards = [{"name": name, "href": f"workload-{slug(name)}.html",
                  "summary": descriptions.get(name) or f"{len(cases)} case{'s' if len(cases) != 1 else ''}"}
                 for name, cases in by_workload.items()]
        w.page("index.html", "index.html", title="Overview", run=run, cpus=_cpus_text(run),
               runs_count=len(results.runs), counts=counts, claims=claim_counts, overview=overview,
               heatmap=heatmap, workloads=cards, blocks=blocks, marked=marked, legend_text=COUNT_NAMES,
               spread_note=spread_note(spread),
               legend=quality_legend([c for c, _ in marked] + [m.code for b in blocks for r in b.table.rows
                                                               for c in r for m in c.marks]))

        for name, cases in by_workload.items():
            view = build_workload(run, lsum, name, cases, samples=lsamples, declared=declared.get(name, ()),
                                  spread=spread)
            sections = [type(s)(s.case, s.short, w.table(s.table), s.unstable) for s in view.sections]
            view = type(view)(view.name, view.key_metric, view.metrics, tuple(sections), w.table(view.detail))
            figures = _workload_figures(w, run, lsamples, lsum, name, cases, colors, view.key_metric)
            unstable = sorted({i + (f" [{s.short}]" if len(sections) > 1 else "")
                               for s in sections for i in s.unstable})
            headroom = headroom_rows(run, lsum) if name == "http_server" else []
            w.page(f"workload-{slug(name)}.html", "workload.html", title=name, run=run, view=view,
                   key_label=label(view.key_metric) if view.key_metric else "", figures=figures, unstable=unstable,
                   headroom=headroom, http=http_notes(run, headroom) if headroom or name == "http_server" else None)

        w.page("implementations.html", "implementations.html", title="Implementations",
               impls=_impl_rows(impls, root, source_url))

        envs = [run_environment(r) for r in reversed(results.runs)]
        envs = [replace(e, facts=w.table(e.facts), toolchains=w.table(e.toolchains)) for e in envs]
        w.page("environment.html", "environment.html", title="Environment", runs_table=w.table(runs_table(results)),
               envs=envs)

        histories = []
        for h in build_history(results, history, changes, detectable):
            fig = w.figure(plots.history_grid, f"history-{slug(h.workload)}", f"history of {h.workload}",
                           "Median per run with the interquartile range, one line per implementation; rings mark "
                           "change points, a dotted line a new environment.",
                           h.frame, h.plotted, colors, title=f"{h.workload}: medians per run", marks=h.marks)
            histories.append({"workload": h.workload, "slug": slug(h.workload), "figure": fig,
                              "table": w.table(h.table), "changes": w.table(h.changes) if h.changes else None})
        w.page("history.html", "history.html", title="History", histories=histories, runs_count=len(results.runs),
               **_depth(history, detection))
        series = measured(history).groupby(SERIES_KEY).ngroups if len(history) else 0
        _regressions_page(w, history, triage, colors, len(results.runs), series, detection)

        previous = _previous_run(results)
        saved = []
        if out.exists() and (out / COMPARE_DIR).is_dir():
            saved = [{"name": p.name, "href": f"{COMPARE_DIR}/{p.name}/index.html"}
                     for p in sorted((out / COMPARE_DIR).iterdir()) if (p / "index.html").is_file()]
        if previous:
            c = compare_runs(results, previous, run.run_id)
            w.page("compare.html", "compare.html", title="Compare", comparison=c, tally=_tally(c),
                   main=w.table(comparison_table(c, main_only=True)), full=w.table(comparison_table(c)),
                   runs_count=len(results.runs), saved=saved)
        else:
            w.page("compare.html", "compare.html", title="Compare", comparison=None, runs_count=len(results.runs),
                   saved=saved)

        w.page("claims.html", "claims.html", title="Claims ledger", **page_context(verdicts, ledger, w.table))
        write_claims_json(root / "claims.json", verdicts)
        pages, figures, tables = len(w.pages), len(w.figures), len(w.slugs)
    out = out.resolve()
    return SiteSummary(out / "index.html", pages, figures, tables, time.perf_counter() - began, _size(out))


def build_compare_site(results: Results, run_a: str, run_b: str, out: Path) -> tuple[Comparison, Path]:
    """A one-page site comparing two runs (what `cmbench compare --out` writes)."""
    c = compare_runs(results, run_a, run_b)
    with _staging(out) as root:
        w = _Writer(root)
        w.common = {"nav": [], "runs_note": f"runs {run_a} and {run_b}", "title": "compare"}
        (root / "static").mkdir()
        shutil.copyfile(TEMPLATES / "style.css", root / "static" / "style.css")
        w.page("index.html", "compare.html", title=f"{run_b} vs {run_a}", comparison=c, tally=_tally(c),
               main=w.table(comparison_table(c, main_only=True)), full=w.table(comparison_table(c)),
               runs_count=2, saved=[])
    return c, out.resolve() / "index.html"


def build_runs_page(out: Path, table: Table, *, links: Sequence[tuple[str, str]], current: str, note: str) -> Path:
    """`out`/index.html listing runs (`table`, its exports in `out`/tables/), beside whatever else `out` holds.

    The page sits one folder below a site: `links` (href, label) and the style sheet are relative
    to that site; `current` is the href of this page among them.
    """
    out.mkdir(parents=True, exist_ok=True)
    w = _Writer(out)
    w.common = {"nav": [{"href": href, "label": text} for href, text in links], "runs_note": note,
                "title": "cmbench", "root": "../"}
    w.page("index.html", "runs.html", title="Runs", page=current, table=w.table(table))
    return out.resolve() / "index.html"
