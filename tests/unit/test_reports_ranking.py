"""Ranks only where the data supports them: a best where intervals separate, ties where they overlap, and a case
whose processes fell into modes shown as its modes, on the site's tables, the heatmap, compare and the claims."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from reports.claims import CONSISTENT, evaluate
from reports.claims_ledger import Claim, Source, Subject
from reports.compare import compare_runs, comparison_table, render_json
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


def test_compare_shows_modes_and_judges_no_change_of_a_median(run_dir, tmp_path):
    b = store_run(tmp_path / "b", "20260102T020000Z", cases())
    results = load_results([run_dir, b])
    c = compare_runs(results, "20260101T020000Z", "20260102T020000Z")
    rows = c.frame[(c.frame["implementation"] == "java/threads") & c.frame["metric"].isin(["wall_time", "throughput"])]
    assert set(rows["verdict"]) == {"modes"} and rows["change_pct"].isna().all() and not rows["significant"].any()
    table = comparison_table(c, main_only=True)
    java = next(r for r in table.rows if r[1].text == "java/threads")
    assert java[3].text == java[4].text == "833k/s (60%) · 294k/s (40%)" and java[-1].text == "modes"
    printed = json.loads(render_json(c))
    wall = next(r for r in printed if r["impl"] == "java/threads" and r["metric"] == "wall_time")
    assert [m["share"] for m in wall["a_modes"]] == [0.6, 0.4] and wall["p_value"] is None
    rss = next(r for r in printed if r["impl"] == "java/threads" and r["metric"] == "peak_rss")
    assert rss["verdict"] != "modes" and rss["a_modes"] is None  # memory is not the timing that fell into modes


def hop_claim() -> Claim:
    """One hand-off of ping_pong between 500 and 2000 ns (1 / (2 x round trips per second))."""
    return Claim(id="hop", source=Source("000_x.txt", "2.1", "q"), zh="z", en="e", claimed="500-2000 ns",
                 needs="ping_pong", workload="ping_pong", metric="throughput", scale=5e8, invert=True, unit="ns",
                 rule="range", low=500, high=2000, factor=1.5, checks=((Subject("java/threads"),),))


@pytest.mark.parametrize("flagged", [True, False])
def test_a_claim_resting_on_a_case_with_modes_is_judged_in_each_mode_and_says_why(tmp_path, flagged):
    folder = store_run(tmp_path / "a", "20260101T020000Z", cases())
    if not flagged:  # a run written before the flag: the modes are found in its wall times
        data = json.loads((folder / "run.json").read_text())
        for c in data["cases"]:
            c["flags"], c["extra"]["modes"] = [], None
        (folder / "run.json").write_text(json.dumps(data))
    verdict = evaluate(hop_claim(), load_results([folder]))
    # judged in each mode: both modes' hops lie within the claim, so the verdict stands, naming the modes
    assert verdict.verdict == CONSISTENT
    (check,) = verdict.checks
    assert check.outcome == "pass" and "judged in each mode, alike" in check.text and "fell into modes" in check.text
    assert "2 (60% at 1.2 ms, 40% at 3.4 ms)" in check.text and MODAL in check.text
    used = [e for e in check.evidence if e.case == MODAL]
    assert used and used[0].as_dict()["modes"].startswith("2 (60%")
