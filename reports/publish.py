"""`cmbench publish`: the report sites laid out for a web server or GitHub Pages, with an address per run.

    DIR/index.html ...           the latest site: the newest finished run's own pages, replaced on every publish
    DIR/runs/<run-id>/           each finished run's own site, rendered the first time it is published and
                                 kept (with its alerts.json and alerts.md when the nightly wrote them)
    DIR/runs/index.html, .json   every published run, newest first, linked (and the same as data)
    DIR/history/                 the nightly's pages: the site over every run and the history store
                                 (History, Regressions, Compare), what `cmbench nightly` renders
    DIR/alerts.json, alerts.md   the newest run's open alerts, when the nightly wrote them
    DIR/impls/<id>/README.md     the implementations' READMEs that the pages link to

Every link stays inside DIR, so the folder can be served from anywhere (a gh-pages branch, the
Pages actions, a static server) or read from disk. DIR is built anew beside itself and then put
in place by two renames: a reader sees the previous publication or the new one. The kept run
sites are carried over as hard links (copies where the file system has none), never re-rendered.
The rendering is reports/render.py's and reports/site.py's; this module only places it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.catalog import Catalog
from harness.errors import UserError
from harness.store.folders import replace_folder
from reports.data import Run, find_runs, load_results
from reports.render import declared, impl_infos, render_results
from reports.site import MARKER as SITE_MARKER
from reports.site import ImplInfo, build_runs_page, build_site
from reports.table import Cell, Table

MARKER = ".cmbench-published"
RUNS, HISTORY, IMPLS = "runs", "history", "impls"
ALERTS = ("alerts.json", "alerts.md")
INDEX_SCHEMA = 1


@dataclass(frozen=True)
class Published:
    index: Path  # DIR/index.html
    runs: int  # runs with a site of their own in DIR/runs/
    rendered: tuple[str, ...]  # the run ids whose sites were rendered by this publish
    seconds: float


def _warn(message: str) -> None:
    print(f"cmbench: warning: {message}", file=sys.stderr)


def _check_target(to: Path) -> None:
    if to.exists() and not to.is_dir():
        raise UserError(f"--to {to}: is a file; choose a folder")
    if to.is_dir() and any(to.iterdir()) and not (to / MARKER).exists():
        raise UserError(f"--to {to}: holds files `cmbench publish` did not write; choose a new or empty folder")


def _link_tree(src: Path, dst: Path) -> None:
    """`src` copied to `dst` as hard links (a copy where the file system refuses one)."""
    def link(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)
    shutil.copytree(src, dst, copy_function=link)


def _readmes(catalog: Catalog) -> dict[str, tuple[Path, str]]:
    """Each implementation's README: (the file, where DIR keeps its copy relative to DIR)."""
    return {i.id: (i.readme, Path(IMPLS, *i.id.split("/"), "README.md").as_posix())
            for i in impl_infos(catalog) if i.readme is not None and i.readme.is_file()}


def _copy_readmes(readmes: dict[str, tuple[Path, str]], root: Path) -> None:
    for src, rel in readmes.values():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, root / rel)


def _impls_at(catalog: Catalog, readmes: dict[str, tuple[Path, str]], up: str) -> list[ImplInfo]:
    """The implementations page's entries for a site in DIR/`up`/.. ("" for DIR itself, else "..", "../.."),
    each README linked to DIR's copy."""
    prefix = f"{up}/" if up else ""
    return [replace(i, readme=None, readme_href=f"{prefix}{readmes[i.id][1]}" if i.id in readmes else "")
            for i in impl_infos(catalog)]


def _copy_alerts(folder: Path, target: Path) -> list[str]:
    copied = []
    for name in ALERTS:
        if (folder / name).is_file():
            shutil.copyfile(folder / name, target / name)
            copied.append(name)
    return copied


def _alert_count(path: Path) -> int | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    alerts = data.get("alerts") if isinstance(data, dict) else data
    if not isinstance(alerts, list):
        return None
    # schema 2 keeps unconfirmed candidates beside the raised alerts: only the raised ones are open alerts
    return sum(1 for a in alerts if not isinstance(a, dict) or a.get("raised", True))


def _entry(run: Run, root: Path) -> dict[str, Any]:
    """One run of the index: what it was, where its site and alerts are (relative to DIR)."""
    m, git = run.meta, run.host.get("git") or {}
    counts = {str(k): int(v) for k, v in run.cases["status"].value_counts().items()}
    alerts = root / RUNS / run.run_id / "alerts.json"
    return {"run_id": run.run_id, "started": m.get("started"), "finished": m.get("finished"),
            "status": m.get("status"), "profile": m.get("profile"), "executor": m.get("executor"),
            "commit": git.get("commit"), "cases": counts, "site": f"{RUNS}/{run.run_id}/index.html",
            "alerts": f"{RUNS}/{run.run_id}/alerts.json" if alerts.is_file() else None,
            "open_alerts": _alert_count(alerts) if alerts.is_file() else None}


def _runs_table(entries: Sequence[dict[str, Any]]) -> Table:
    rows = []
    for e in entries:
        cases = e["cases"]
        alerts = "—" if e["alerts"] is None else Cell(str(e["open_alerts"] if e["open_alerts"] is not None else "?"),
                                                        cls="num", href=f"{e['run_id']}/alerts.json")
        rows.append([Cell(e["run_id"], cls="mono", href=f"{e['run_id']}/index.html"), e["started"] or "—",
                     e["status"] or "—", e["profile"] or "—", e["executor"] or "—",
                     Cell(str(e["commit"] or "—")[:12], cls="mono"),
                     Cell(f"{cases.get('ok', 0)} / {sum(cases.values())}", cls="num",
                          title=", ".join(f"{k}: {v}" for k, v in cases.items())),
                     Cell(str(cases.get("skipped", 0)), cls="num"), alerts])
    return Table.build("runs", "Runs", ["run", "started", "status", "profile", "executor", "commit", "cases ok",
                                        "skipped", "open alerts"], rows,
                       notes=["Newest first. Open alerts: the nightly's changes still open after that run "
                              "(its alerts.json)."])


def publish(results_dir: Path, to: Path, catalog: Catalog, *, keep: int | None = None,
            say: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> Published:
    """Lay out DIR (`to`) from the runs under `results_dir`; `keep`: publish only the newest so many runs' sites.

    A run still `running` is left for the next publish (its site is rendered once, so never half).
    """
    began = time.perf_counter()
    to = to.resolve()
    _check_target(to)
    folders = find_runs(results_dir)
    if not folders:
        raise UserError(f"--results {results_dir}: no runs found; run `cmbench run` or `cmbench nightly` first")
    damaged: list[str] = []
    runs = [r for r in load_results(folders, damaged, sample_runs=0).runs if r.meta.get("status") != "running"]
    for note in damaged:
        _warn(note)
    if keep is not None:
        runs = runs[len(runs) - keep:] if keep > 0 else []
    if not runs:
        raise UserError(f"--results {results_dir}: no finished run to publish")
    descriptions = {w.name: w.summary for w in catalog.workloads.values()}
    to.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=to.parent, prefix=f".{to.name}.new-"))
    try:
        os.chmod(tmp, 0o755)
        latest = runs[-1]
        site_links = [(f"{RUNS}/index.html", "Runs"), (f"{HISTORY}/index.html", "Nightly history")]
        readmes = _readmes(catalog)
        # The latest site first: its render replaces the (empty) staging folder as a whole.
        build_site(load_results([latest.path]), tmp, descriptions=descriptions, impls=_impls_at(catalog, readmes, ""),
                   repo=catalog.root, links=site_links, key_metrics=declared(catalog))
        (tmp / SITE_MARKER).unlink(missing_ok=True)  # so that `cmbench report --out DIR` refuses DIR
        _copy_readmes(readmes, tmp)
        rendered = []
        published: list[Run] = []
        for run in runs:
            target, before = tmp / RUNS / run.run_id, to / RUNS / run.run_id
            if (before / "index.html").is_file():
                _link_tree(before, target)
            else:
                try:
                    one = load_results([run.path])
                except UserError as e:
                    _warn(f"{e}; run {run.run_id} is not published")
                    continue
                say(f"publish: run {run.run_id}")
                build_site(one, target, descriptions=descriptions, impls=_impls_at(catalog, readmes, "../.."),
                           repo=catalog.root, key_metrics=declared(catalog),
                           links=[("../index.html", "Runs"), ("../../index.html", "Latest run"),
                                  (f"../../{HISTORY}/index.html", "Nightly history")])
                _copy_alerts(run.path, target)
                rendered.append(run.run_id)
            published.append(run)
        say("publish: the nightly pages")
        render_results(results_dir, tmp / HISTORY, catalog, impls=_impls_at(catalog, readmes, ".."),
                       links=[(f"../{RUNS}/index.html", "Runs"), ("../index.html", "Latest run")])
        entries = [_entry(r, tmp) for r in reversed(published)]
        (tmp / RUNS / "index.json").write_text(json.dumps({"schema": INDEX_SCHEMA, "runs": entries}, indent=1) + "\n",
                                               encoding="utf-8")
        build_runs_page(tmp / RUNS, _runs_table(entries), current=f"{RUNS}/index.html",
                        links=[("index.html", "Latest run"), (f"{RUNS}/index.html", "Runs"),
                               (f"{HISTORY}/index.html", "Nightly history")],
                        note=f"{len(entries)} run(s), the latest {latest.run_id}")
        _copy_alerts(latest.path, tmp)
        (tmp / ".nojekyll").write_text("", encoding="utf-8")  # a gh-pages branch: serve the files as they are
        (tmp / MARKER).write_text("written by cmbench publish; replaced on every publish\n", encoding="utf-8")
        replace_folder(tmp, to)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Published(to / "index.html", len(published), tuple(rendered), time.perf_counter() - began)
