"""Finding the runs a site or a comparison shows, and rendering them: what `cmbench report` and `compare` call.

The commands themselves live in cmbench/commands/report.py, which imports this module only when
one of them runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from harness.catalog import Catalog
from harness.errors import UsageError, UserError, warn
from harness.vocab import params_text
from reports.compare import compare_runs, render_json, render_terminal
from reports.data import find_runs, load_results, resolve_run_paths
from reports.history.changes import Change, DetectionConfig
from reports.history.store import ANALYSIS_COLUMNS, load_history, run_environments, sync
from reports.repeatability import mixed
from reports.repeatability import render_json as render_repeatability_json
from reports.repeatability import render_terminal as render_repeatability
from reports.repeatability import repeatability as repeatability_of
from reports.site import COMPARE_DIR, MARKER, ImplInfo, SiteSummary, build_compare_site, build_site

# Runs whose samples (results.csv) a site reads: the newest for the overview and workload pages, the one
# before it for Compare. Every other run comes from the history store.
SAMPLE_RUNS = 2


def default_site(root: Path) -> Path:
    return root / "reports" / "site"


def impl_infos(catalog: Catalog) -> list[ImplInfo]:
    """The implementations page's view of the catalog."""
    return [ImplInfo(id=i.id, language=i.language, model=i.model, description=i.description, workloads=i.workloads,
                     knobs=tuple(i.knobs.items()),
                     variants=tuple((v.name, v.help, v.workloads) for v in i.variants[1:]),
                     unsupported=tuple((u.workload, params_text(u.params), u.reason)
                                       for u in i.unsupported),
                     readme=i.path / "README.md")
            for i in catalog.impls.values()]


def source_url() -> str:
    """Where the site links the implementations' READMEs instead of copying them in: CMBENCH_SOURCE_URL (e.g.
    https://github.com/OWNER/cmbench/blob/main), or "" (copied)."""
    return os.environ.get("CMBENCH_SOURCE_URL", "").strip()


def declared(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """Each workload's key metrics, as its workload.toml [report] declares them."""
    return {w.name: w.key_metrics for w in catalog.workloads.values()}


def _say(results_runs: int, summary: SiteSummary) -> None:
    print(f"report: {results_runs} run(s), {summary.pages} pages, {summary.plots} plots, {summary.tables} "
          f"tables, {summary.size / 1e6:.1f} MB in {summary.seconds:.1f} s", file=sys.stderr)


def _warn(damaged: Sequence[str]) -> None:
    """Each damaged file, one line: the site renders the rest."""
    for note in damaged:
        print(f"cmbench: warning: {note}", file=sys.stderr)


def render_results(results_dir: Path, out: Path, catalog: Catalog, *, detection: DetectionConfig | None = None,
                   history: pd.DataFrame | None = None, changes: Sequence[Change] | None = None,
                   impls: Sequence[ImplInfo] | None = None, links: Sequence[tuple[str, str]] = ()) -> Path:
    """The site of every run under `results_dir`: history from its store (brought up to date first),
    samples from the newest runs only. Returns the path of index.html.

    `history` (the store's ANALYSIS_COLUMNS) and `changes` (detect() over it): when the caller has them;
    `impls`: the implementations page's entries (default: the catalog's); `links`: more navigation.
    """
    folders = find_runs(results_dir)
    if not folders:
        raise UserError(f"{results_dir}: no runs found; run `cmbench run` first, or name run folders")
    if history is None:
        sync(results_dir)
        history = load_history(results_dir, ANALYSIS_COLUMNS)
    damaged: list[str] = []
    results = load_results(folders, damaged, sample_runs=SAMPLE_RUNS)
    _warn(damaged)
    summary = build_site(results, out, descriptions={w.name: w.summary for w in catalog.workloads.values()},
                         impls=impl_infos(catalog) if impls is None else impls, history=history,
                         environments=run_environments(results_dir), detection=detection, repo=catalog.root,
                         changes=changes, links=links, key_metrics=declared(catalog), source_url=source_url())
    _say(len(results.runs), summary)
    return summary.index


def report(runs: list[str], out: str | None, catalog: Catalog) -> int:
    """Named runs: a site of those alone; none: every run under results/, history from its store."""
    root = catalog.root
    target = Path(out) if out else default_site(root)
    if not runs:
        print(render_results(root / "results", target, catalog))
        return 0
    damaged: list[str] = []
    results = load_results(resolve_run_paths(runs, root / "results"), damaged)
    _warn(damaged)
    summary = build_site(results, target, descriptions={w.name: w.summary for w in catalog.workloads.values()},
                         impls=impl_infos(catalog), repo=root, key_metrics=declared(catalog), source_url=source_url())
    _say(len(results.runs), summary)
    print(summary.index)
    return 0


# `cmbench compare`'s exit status is diff's: 0 compared, 1 a finding, 2 trouble (the runs could not be
# compared: not found, damaged, the same run, a wrong flag; the command table's error_status).
COMPARE_REGRESSION = 1  # --fail-above found a significant regression beyond its threshold


def repeatability(runs: Sequence[str], root: Path, *, as_json: bool = False) -> int:
    """Print how closely `runs` repeat one another (reports/repeatability.py): the table and summary, or the data."""
    paths = resolve_run_paths(runs, root / "results", flag="RUN")
    distinct = list(dict.fromkeys(p.resolve() for p in paths))
    if len(distinct) < 2:
        raise UserError(f"RUN: {len(distinct)} distinct run given ({', '.join(runs)}); name two or "
                        "more runs of one selection")
    results = load_results(distinct)
    by_path = {r.path.resolve(): r.run_id for r in results.runs}
    ids = [by_path[p] for p in distinct if p in by_path]
    differ = mixed(results, ids)
    if differ:
        warn(f"the runs differ in what shapes their figures ({'; '.join(differ)}): their spread is not only chance")
    found = repeatability_of(results, ids)
    print(render_repeatability_json(found) if as_json else render_repeatability(found))
    return 0


def compare(run_a: str, run_b: str, out: str | None, root: Path, *, fail_above: float | None = None,
            as_json: bool = False) -> int:
    """Compare two runs: the terminal table and a page (with `as_json`, the data, and a page only when `out`
    is given); COMPARE_REGRESSION when `fail_above` is given and a metric got significantly worse by more."""
    if fail_above is not None and not (fail_above >= 0 and fail_above < float("inf")):
        raise UsageError(f"--fail-above {fail_above:g}: give a percentage of 0 or more")
    a, b = resolve_run_paths([run_a, run_b], root / "results", flag="RUN")
    if a.resolve() == b.resolve():
        raise UserError(f"RUN_A and RUN_B are the same run ({a}); name two runs")
    results = load_results([a, b])
    id_a, id_b = (results.runs[0].run_id, results.runs[1].run_id)
    if results.run(id_a).path.resolve() != a.resolve():
        id_a, id_b = id_b, id_a
    if as_json:
        if out:
            comparison, _ = build_compare_site(results, id_a, id_b, Path(out))
        else:
            comparison = compare_runs(results, id_a, id_b)
        print(render_json(comparison))
    else:
        if out:
            target = Path(out)
        else:
            site = default_site(root)
            if not site.exists():
                site.mkdir(parents=True)
                (site / MARKER).write_text("written by cmbench; replaced on every render\n", encoding="utf-8")
            target = site / COMPARE_DIR / f"{id_a}_vs_{id_b}"
        comparison, index = build_compare_site(results, id_a, id_b, target)
        print(render_terminal(comparison, fail_above))
        print(index)
    if fail_above is not None and not comparison.regressions(fail_above).empty:
        return COMPARE_REGRESSION
    return 0
