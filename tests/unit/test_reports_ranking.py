"""Ranks only where the data supports them: a best where intervals separate, ties where they overlap, and a case
whose processes fell into modes shown as its modes, on the site's tables and the heatmap."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from reports.data import load_results, summarize
from reports.pages.overview import build_overview, workload_cases
from reports.pages.workload import build_workload
from reports.plots import overview_heatmap
from reports.ranking import MODES_NOTE, TIE_NOTE
from tests.batch_results import batch_result, interleave, steady, store_run

TIE = "tasks=100"
MODAL = "roundtrips=2000"


def modal_walls() -> list[list[float]]:
    """Six processes at 1.2 ms per iteration and four at 3.4 ms, taking turns."""
    return interleave(steady(1.2e-3, 6), steady(3.4e-3, 4))


def cases(modal_impl: str = "java/threads"):
    return [
        batch_result("go/goroutines", steady(1e-3)),  # ping_pong: go 1 ms, c 2 ms, both tight: a best
        batch_result("c/pthreads", steady(2e-3)),
        batch_result("go/goroutines", steady(1e-3, spread=0.05), workload="worker_pool", case=TIE),  # a tie
        batch_result("c/pthreads", steady(1.01e-3, spread=0.05), workload="worker_pool", case=TIE),
        batch_result("go/goroutines", steady(1e-3), case=MODAL),  # faster than either mode of the other
        batch_result(modal_impl, modal_walls(), case=MODAL),
    ]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return store_run(tmp_path_factory.mktemp("runs") / "a", "20260101T020000Z", cases())


def view(folder: Path):
    results = load_results([folder])
    run = results.latest
    summaries = summarize(results.samples)
    return run, summaries, results.samples_of(run.run_id)


def cell(table, workload: str, case: str | None, impl: str):
    for r in table.rows:
        if r[0].text == workload and (case is None or r[0].sub == case):
            return r[list(table.columns).index(impl)]
    raise AssertionError(f"no row {workload} {case}")


def test_the_overview_names_a_best_only_where_the_intervals_separate(run_dir):
    run, summaries, samples = view(run_dir)
    ov = build_overview(run, summaries, samples)
    go, c = cell(ov.table, "ping_pong", "roundtrips=1000", "go/goroutines"), \
        cell(ov.table, "ping_pong", "roundtrips=1000", "c/pthreads")
    assert "best" in go.cls.split() and go.sub == "best" and c.sub == "2.00× slower"
    assert "95% CI of the median" in go.title and "stored by the harness" in go.title
    tie_go, tie_c = cell(ov.table, "worker_pool", None, "go/goroutines"), cell(ov.table, "worker_pool", None,
                                                                              "c/pthreads")
    assert tie_go.sub == tie_c.sub == "≈ best" and "best" not in tie_go.cls.split() + tie_c.cls.split()
    assert TIE_NOTE in ov.table.notes
    raw = ov.table.raw
    pool = raw[raw["workload"] == "worker_pool"]
    assert not pool["best"].any() and pool["tied"].all() and (pool["ci_low"] < pool["median"]).all()
    assert raw.loc[(raw["workload"] == "ping_pong") & (raw["case"] == "roundtrips=1000"), "best"].sum() == 1
    marks = ov.marks
    assert marks.loc["worker_pool", "go/goroutines"] == "≈ best"
    assert marks.loc["ping_pong [roundtrips=1000]", "go/goroutines"] == "best"
    assert marks.loc["ping_pong [roundtrips=1000]", "c/pthreads"] == ""


def test_a_case_with_modes_shows_its_modes_and_is_never_ranked(run_dir, tmp_path):
    run, summaries, samples = view(run_dir)
    ov = build_overview(run, summaries, samples)
    java = cell(ov.table, "ping_pong", MODAL, "java/threads")
    assert java.text == "833k/s (60%) · 294k/s (40%)" and java.sub == "modes: not ranked" and "modes" in java.cls
    go = cell(ov.table, "ping_pong", MODAL, "go/goroutines")
    assert go.sub == "best"  # 1M/s lies above both modes: a best the modes allow
    assert MODES_NOTE in ov.table.notes
    row = f"ping_pong [{MODAL}]"
    assert ov.marks.loc[row, "java/threads"] == "modes" and math.isnan(ov.fractions.loc[row, "java/threads"])
    assert overview_heatmap(ov.fractions, tmp_path / "heatmap.svg", marks=ov.marks)

    page = build_workload(run, summaries, "ping_pong", workload_cases(run, summaries)["ping_pong"], samples=samples)
    table = next(s.table for s in page.sections if s.case == MODAL)
    line = next(r for r in table.rows if r[0].text == "java/threads")
    cols = list(table.columns)
    assert line[cols.index("wall time / iteration")].text == "1.2 ms (60%) · 3.4 ms (40%)"
    assert line[cols.index("throughput")].text == "833k/s (60%) · 294k/s (40%)"
    assert line[cols.index("vs best")].text == "modes: not ranked"
    assert MODES_NOTE in table.notes


def test_a_top_figure_within_another_figures_modes_is_no_best(tmp_path):
    folder = store_run(tmp_path / "a", "20260101T020000Z", [
        batch_result("go/goroutines", steady(2e-3), case=MODAL),  # 500k/s: between the modes of the other
        batch_result("java/threads", modal_walls(), case=MODAL)])
    run, summaries, samples = view(folder)
    go = cell(build_overview(run, summaries, samples).table, "ping_pong", None, "go/goroutines")
    assert go.sub == "≈ best" and "best" not in go.cls.split()


def test_runs_written_before_modes_and_intervals_were_stored_are_read_the_same(run_dir, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    data = json.loads((old / "run.json").read_text())
    for c in data["cases"]:
        c["flags"] = []
        for key in ("modes", "ci"):
            c["extra"].pop(key)
    (old / "run.json").write_text(json.dumps(data))
    run, summaries, samples = view(old)
    ov = build_overview(run, summaries, samples)
    java = cell(ov.table, "ping_pong", MODAL, "java/threads")
    assert java.text == "833k/s (60%) · 294k/s (40%)" and java.sub == "modes: not ranked"
    go = cell(ov.table, "ping_pong", "roundtrips=1000", "go/goroutines")
    assert go.sub == "best" and "bootstrap over processes" in go.title
