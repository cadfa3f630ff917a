"""`cmbench report` and `cmbench compare`: thin wrappers that find the runs and call the site code.

The harness's command table calls these lazily (the harness never imports reports at import time).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from harness.errors import UserError

from .compare import render_terminal
from .data import find_runs, load_results, resolve_run_paths
from .site import COMPARE_DIR, MARKER, build_compare_site, build_site


def default_site(root: Path) -> Path:
    return root / "reports" / "site"


def report(runs: list[str], out: str | None, root: Path, descriptions: Mapping[str, str] | None = None) -> int:
    results_dir = root / "results"
    if runs:
        folders = resolve_run_paths(runs, results_dir)
    else:
        folders = find_runs(results_dir)
        if not folders:
            raise UserError(f"{results_dir}: no runs found; run `cmbench run` first, or name run folders")
    results = load_results(folders)
    summary = build_site(results, Path(out) if out else default_site(root), descriptions=descriptions)
    print(f"report: {len(results.runs)} run(s), {summary.pages} pages, {summary.plots} plots, {summary.tables} "
          f"tables, {summary.size / 1e6:.1f} MB in {summary.seconds:.1f} s", file=sys.stderr)
    print(summary.index)
    return 0


def compare(run_a: str, run_b: str, out: str | None, root: Path) -> int:
    a, b = resolve_run_paths([run_a, run_b], root / "results", flag="RUN")
    if a.resolve() == b.resolve():
        raise UserError(f"RUN_A and RUN_B are the same run ({a}); name two runs")
    results = load_results([a, b])
    id_a, id_b = (results.runs[0].run_id, results.runs[1].run_id)
    if results.run(id_a).path.resolve() != a.resolve():
        id_a, id_b = id_b, id_a
    if out:
        target = Path(out)
    else:
        site = default_site(root)
        if not site.exists():
            site.mkdir(parents=True)
            (site / MARKER).write_text("written by cmbench; replaced on every render\n", encoding="utf-8")
        target = site / COMPARE_DIR / f"{id_a}_vs_{id_b}"
    comparison, index = build_compare_site(results, id_a, id_b, target)
    print(render_terminal(comparison))
    print(index)
    return 0
