"""The overview's blocks, the quality vocabulary, the declared key metrics, the plots' text and the pages' empty
states, from the fixture runs (tests/fixtures/reports) and runs built here."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from reports import plotcheck
from reports.data import load_results, summarize
from reports.figures import BOOTSTRAP, SINGLE, Figure
from reports.metric_names import declared_key_metrics
from reports.pages.environment import busy_text, drift_text
from reports.pages.overview import build_blocks
from reports.pages.workload import headroom_rows, http_notes
from reports.plots import DPI, PAGE_WIDTH
from reports.quality import BOUND, BUSY, MODES, ONCE, UNCONVERGED, UNSETTLED, mark_counts, marks
from reports.ranking import ONCE_STANDING, rank
from reports.site import build_site

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reports"
RUN_A, RUN_B = FIXTURES / "run-a", FIXTURES / "run-b"


def latest(folder: Path = RUN_B):
    results = load_results([folder])
    run = results.latest
    return run, summarize(results.samples), results.samples_of(run.run_id)


def test_marks_read_run_json_flags_in_one_vocabulary():
    found = marks(["unconverged: stopped at the budget", "host busy: other processes used 1.3 CPUs",
                   "rate did not settle: max_duration after 10 s", "load-generator bound: wrk kept 97% busy"],
                  {"ci": {"half_width": 0.034}}, n=1)
    assert [m.code for m in found] == [UNCONVERGED, BUSY, UNSETTLED, BOUND, ONCE]
    assert [m.text for m in found] == ["unconverged ±3.4%", "host busy", "rate not settled", "≥ lower bound",
                                       "n = 1"]
    assert found[1].detail.startswith("host busy: other processes")  # the flag itself, for the tooltip
    assert marks([], {}, n=5) == ()
    short = "modes: 2 (44% at 658 us, 56% at 1.82 ms); the widest mode's 95% CI ±40.1%, wider than the ±2% asked"
    assert [(m.code, m.text) for m in marks([short], {"ci": {"half_width": 0.37}})] == [
        (UNCONVERGED, "unconverged ±40.1%"), (MODES, "modes")]  # modes stopped short carry both marks
    assert [m.code for m in marks(["modes: 2 (50% at 1 ms, 50% at 2 ms)"])] == [MODES]
    # just wider than the precision: the decimals that say so, not a ±2.0% that reads as the ±2% asked
    (close,) = marks(["unconverged: 10 processes ran"], {"ci": {"half_width": 0.0204}, "precision": 0.02})
    assert close.text == "unconverged ±2.04%"


def test_a_figure_measured_once_or_a_bound_is_never_best_nor_a_factor():
    once = Figure(100.0, 100.0, 100.0, SINGLE)
    tight = Figure(50.0, 49.0, 51.0, BOOTSTRAP)
    r = rank({"a": once, "b": tight}, set(), "higher")
    assert r.best is None and "measured once" in r.note
    assert r.standing("a", 100.0, "higher", "qps") == ONCE_STANDING and math.isnan(r.factor(100.0, "higher", "a"))
    assert "×" not in r.standing("b", 50.0, "higher", "qps")  # no factor to a top that has no interval
    bound = rank({"a": Figure(100.0, 99.0, 101.0, BOOTSTRAP), "b": tight}, {"a"}, "higher")
    assert bound.best is None and math.isnan(bound.factor(100.0, "higher", "a"))
    clear = rank({"a": Figure(100.0, 99.0, 101.0, BOOTSTRAP), "b": tight}, set(), "higher")
    assert clear.best == "a" and clear.standing("b", 50.0, "higher", "throughput") == "2.00× slower"


def test_each_workload_declares_the_metrics_that_answer_it():
    declared = declared_key_metrics()
    assert declared["spawn_idle"][:2] == ("memory_per_task", "cpu_time_per_op")
    assert declared["preemption"][0] == "timer_late_p50"
    assert declared["mutex_counter"] == ("throughput", "cpu_time_per_op")
    assert declared["http_server"] == ("qps", "memory_per_connection")


def test_the_overview_block_ranks_by_speed_and_shows_memory_n_and_quality():
    run, summaries, samples = latest()
    blocks = {b.workload: b for b in build_blocks(run, summaries, samples, declared_key_metrics())}
    pool = blocks["worker_pool"]
    cols = list(pool.table.columns)
    assert cols[:3] == ["implementation", "throughput", "CPU time / op"] and "peak RSS" in cols
    first = pool.table.rows[0]
    assert first[0].text == "go/goroutines" and "best" in first[1].cls and "n=6" in first[1].sub
    assert "±" in first[1].sub  # the interval of the median, inline
    assert "CPUs busy" in first[2].sub  # CPU time beside the rate: how many CPUs the model kept busy
    assert pool.verdicts[0] == "fastest: go/goroutines" and pool.verdicts[1].startswith("least memory")
    # spawn_idle answers with memory per live task, not a rate of sleeping tasks
    spawn = blocks["spawn_idle"]
    assert spawn.table.columns[1] == "memory / task" and spawn.verdicts[0].startswith("best memory / task")
    # requests/s measured once: listed by value, never best, the mark says why
    http = blocks["http_server"]
    assert all("best" not in r[1].cls.split() for r in http.table.rows)
    assert all("n = 1" in [m.text for m in r[-1].marks] for r in http.table.rows if r[1].text != "")
    assert http.verdicts[0].startswith("fastest: not known")
    assert any(c.startswith("memory / connection") for c in http.table.columns)


def test_the_header_counts_the_marks_the_cells_show(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(RUN_B, folder)
    data = json.loads((folder / "run.json").read_text())
    for c in data["cases"]:
        c["flags"] = ["host busy: other processes used 1.2 CPUs"]
    (folder / "run.json").write_text(json.dumps(data))
    run, summaries, samples = latest(folder)
    ok = sum(c["status"] == "ok" for c in data["cases"])
    assert dict(mark_counts(run))[BUSY] == ok
    blocks = build_blocks(run, summaries, samples, declared_key_metrics())
    rows = [r for b in blocks for r in b.table.rows if r[1].text and "status" not in r[1].cls]
    assert rows and all(BUSY in {m.code for m in r[-1].marks} for r in rows)


def test_the_environment_page_warns_about_a_busy_host():
    run, _, _ = latest()
    assert busy_text(run) == ""  # load 0.1 on 2 CPUs
    busy = replace(run, meta={**run.meta, "host": {**run.host, "loadavg": [3.5, 2.0, 1.0]}})
    assert "load average was 3.50" in busy_text(busy) and "2 CPUs" in busy_text(busy)


def test_the_environment_page_says_when_the_host_itself_was_not_steady():
    run, _, _ = latest()
    steady = {"n": 5, "cv": 0.012, "min": 1200.0, "max": 1250.0, "steady": True}
    assert busy_text(replace(run, meta={**run.meta, "host_drift": steady})) == ""
    assert drift_text(steady) == "CV 1.2% over 5 probes (1.2 us-1.25 us)" and drift_text(None) == "—"
    moved = {**steady, "cv": 0.19, "max": 1900.0, "steady": False}
    assert "moved by a CV of 19.0%" in busy_text(replace(run, meta={**run.meta, "host_drift": moved}))
    assert drift_text(moved).endswith(", not steady")
    robust = {**moved, "robust_cv": 0.08}  # host_drift schema 2: judged on the spread of most probes
    assert "moved by a spread of 8.0%" in busy_text(replace(run, meta={**run.meta, "host_drift": robust}))
    assert drift_text(robust) == "spread 8.0% (robust), CV 19.0% over 5 probes (1.2 us-1.9 us), not steady"
    assert drift_text({"n": 0, "values": [], "skipped": "no C compiler"}) == "not measured (no C compiler)"
    # host_drift schema 3: the hand-off across CPUs, probed with each same-CPU probe
    cross = {"cpus": [0, 1], "n": 5, "cv": 0.15, "robust_cv": 0.09, "min": 18000.0, "max": 24000.0, "steady": False}
    text = busy_text(replace(run, meta={**run.meta, "host_drift": {**steady, "cross": cross}}))
    assert text.startswith("the host's thread hand-off across CPUs, probed 5 times during the run, moved by a "
                           "spread of 9.0%") and "`spread` figures" in text
    assert drift_text(cross) == "spread 9.0% (robust), CV 15.0% over 5 probes (18 us-24 us), not steady"


def test_the_http_page_states_the_cpu_split_and_the_generator_ceilings():
    run, summaries, _ = latest()
    notes = http_notes(run, headroom_rows(run, summaries))
    assert "1 CPU (0)" in notes["split"] and "other 1 CPU (1)" in notes["split"]
    assert "rate=0.5" in notes["open"] and "not a capacity" in notes["open"]


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    plotcheck.PROBLEMS.clear()
    out = tmp_path_factory.mktemp("site") / "site"
    build_site(load_results([RUN_A, RUN_B]), out)
    return out, list(plotcheck.PROBLEMS)


def test_no_plot_has_overlapping_or_cut_text_and_every_plot_spans_the_page(drawn):
    out, problems = drawn
    assert problems == []
    widths = {p.name: int.from_bytes(p.read_bytes()[16:20], "big") for p in (out / "plots").glob("*.png")}  # IHDR
    assert widths and set(widths.values()) == {round(PAGE_WIDTH * DPI)}, widths


def test_plotcheck_finds_overlapping_text():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure
    fig = MplFigure(figsize=(3, 2), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.5, "100 ms")
    fig.text(0.15, 0.5, "200 ms")
    fig.text(0.9, 0.9, "cut by the edge")
    fig.text(0.1, 0.1, "7.86e-05/op")
    fig.canvas.draw()
    found = plotcheck.problems(fig, "x.png")
    assert "x.png: '100 ms' overlaps '200 ms'" in found and any("is cut" in f for f in found)
    assert any("'7.86e-05/op' is not plain" in f for f in found)


def test_empty_history_and_regressions_say_what_they_need(drawn):
    out, _ = drawn
    regressions = (out / "regressions.html").read_text(encoding="utf-8")
    assert "runs of one environment" in regressions and "No open alerts in" not in regressions
    history = (out / "history.html").read_text(encoding="utf-8")
    assert "change points need 6" in history or "6 runs of one environment" in history
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'class="legend"' in index and "unstable" not in index.lower().split("how sure")[0]
