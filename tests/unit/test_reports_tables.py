"""The site's tables, built from fixture runs: overview matrix, workload tables, history,
environment, and the Markdown/CSV exports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from reports.data import load_results, summarize
from reports.fmt import fmt_change, fmt_value
from reports.metric_names import (
    declared_key_metrics,
    direction_of,
    key_metric,
    latency_percentile,
    main_metrics,
    ranked,
)
from reports.pages.environment import run_environment, runs_table
from reports.pages.history import build_history, run_labels
from reports.pages.overview import build_overview, workload_cases
from reports.pages.workload import build_workload, scaling_series
from reports.ranking import factor_to_best
from reports.table import Cell, Table

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reports"
POOL = "tasks=100,queue=8,workers=4,rounds=2"
SPAWN = "tasks=100,queue=8,workers=0,rounds=2"


@pytest.fixture(scope="module")
def results():
    return load_results([FIXTURES / "run-a", FIXTURES / "run-b"])


@pytest.fixture(scope="module")
def summaries(results):
    return summarize(results.samples)


@pytest.fixture(scope="module")
def latest(results, summaries):
    return summaries[summaries["run_id"] == results.latest.run_id]


@pytest.fixture(scope="module")
def samples(results):
    return results.samples_of(results.latest.run_id)


def _row(table: Table, first: str, second: str | None = None) -> tuple[Cell, ...]:
    for r in table.rows:
        if r[0].text == first and (second is None or r[0].sub == second):
            return r
    raise AssertionError(f"no row {first} {second}")


def test_overview_marks_the_best_and_the_factor_to_it(results, latest, samples):
    ov = build_overview(results.latest, latest, samples)
    cols = list(ov.table.columns)
    assert cols[0] == "workload"
    row = _row(ov.table, "worker_pool", "workers=4")
    go, c = row[cols.index("go/goroutines")], row[cols.index("c/pthreads")]
    assert "best" in go.cls and go.sub == "best"
    # c/pthreads median 1.5 ms against go's 0.8 ms at the same 100 tasks
    assert c.sub.endswith("slower") and float(c.sub.split("×")[0]) == pytest.approx(1.5 * 1.25, rel=0.05)
    assert "unstable" in c.cls and "IQR" in c.title


def test_overview_shows_statuses_and_reduced_sizes(results, latest, samples):
    ov = build_overview(results.latest, latest, samples)
    cols = list(ov.table.columns)
    ping = _row(ov.table, "ping_pong")
    crashed = ping[cols.index("rust/threads")]
    assert crashed.text == "crashed" and "status-failed" in crashed.cls and "Segmentation" in crashed.title
    atomic = _row(ov.table, "mutex_counter", "mode=atomic")
    assert atomic[cols.index("python/asyncio")].text == "unsupported"
    assert atomic[cols.index("rust/tokio")].text == "—"
    python = _row(ov.table, "worker_pool", "workers=4")[cols.index("python/asyncio")]
    assert "†" in python.text and "tasks=50" in python.title
    assert any("reduced sizes" in n for n in ov.table.notes)


def test_overview_ranks_only_closed_loop_server_phases(results, latest, samples):
    ov = build_overview(results.latest, latest, samples)
    http_rows = [r[0].sub for r in ov.table.rows if r[0].text == "http_server"]
    assert http_rows == ["closed,connections=16", "closed,connections=64"]
    cols = list(ov.table.columns)
    top = _row(ov.table, "http_server", "closed,connections=64")[cols.index("rust/tokio")]
    # measured once (n = 1): the top figure, never named best nor set as a factor
    assert top.sub == "n = 1: not ranked" and top.text.startswith("47") and "n = 1" in str(top)
    # the heatmap shows no ratio to it either: the tiles carry their marks instead
    assert ov.fractions.loc["http_server [closed,connections=64]"].isna().all()
    assert ov.quality.loc["http_server [closed,connections=64]", "rust/tokio"] == "n=1"


def test_overview_csv_export_holds_the_numbers(results, latest, samples):
    ov = build_overview(results.latest, latest, samples)
    rows = list(csv.DictReader(io.StringIO(ov.table.to_csv())))
    go = [r for r in rows if r["workload"] == "ping_pong" and r["implementation"] == "go/goroutines"][0]
    assert go["metric"] == "throughput" and float(go["median"]) == pytest.approx(1000 / 2e-4, rel=0.02)
    assert go["best"] == "True"
    crashed = [r for r in rows if r["implementation"] == "rust/threads"][0]
    assert crashed["status"] == "crashed" and "Segmentation" in crashed["error"]


def test_workload_table_has_median_interval_and_n(results, latest, samples):
    view = build_workload(results.latest, latest, "spawn_idle", workload_cases(results.latest, latest)["spawn_idle"],
                          samples=samples)
    assert view.key_metric == "throughput"
    t = view.sections[0].table
    assert "memory / task" in t.columns and "CPU time / op" in t.columns and "status" not in t.columns
    go = _row(t, "go/goroutines")
    mem = go[t.columns.index("memory / task")]
    assert mem.text.startswith("2.5") and "n=2" in mem.sub and "KiB" in mem.sub
    # both implementations took the same 11 ms for 100 tasks: a tie, neither is the best
    assert [r[t.columns.index("vs best")].text for r in t.rows] == ["≈ best", "≈ best"]
    assert any(n.startswith("≈ best: the figure's 95% interval") for n in t.notes)


def test_workload_table_shows_the_status_column_only_with_failures(results, latest, samples):
    cases = workload_cases(results.latest, latest)
    ping = build_workload(results.latest, latest, "ping_pong", cases["ping_pong"], samples=samples).sections[0].table
    assert "status" in ping.columns
    crashed = _row(ping, "rust/threads")
    assert crashed[1].text == "crashed" and "Segmentation" in crashed[2].text
    assert ping.row_classes[[r[0].text for r in ping.rows].index("rust/threads")] == "failed-row"


def test_server_phases_are_not_ranked_but_shown(results, latest, samples):
    cases = workload_cases(results.latest, latest)["http_server"]
    view = build_workload(results.latest, latest, "http_server", cases, samples=samples)
    by_case = {s.case: s.table for s in view.sections}
    assert "vs best" in by_case["closed,connections=64"].columns
    assert "vs best" not in by_case["open,rate=0.5"].columns
    assert "p99.9 latency" in by_case["open,rate=0.5"].columns
    assert "memory / connection" in by_case["idle,connections=500"].columns
    assert not ranked("open,rate=0.5") and ranked("closed,connections=16") and ranked(POOL)


def test_detail_table_lists_every_metric(results, latest, samples):
    view = build_workload(results.latest, latest, "spawn_idle", ["tasks=100,sleep_ms=10"], samples=samples)
    metrics = {r[2].text for r in view.detail.rows}
    assert {"throughput", "wall time / iteration", "peak RSS", "stack per thread", "memory / task"} <= metrics
    raw = view.detail.raw
    assert {"median", "q1", "q3", "n", "unstable"} <= set(raw.columns)


def test_markdown_export_escapes_and_keeps_notes():
    t = Table.build("x", "A title", ["a", "b|c"], [["1", Cell("2", sub="1 – 3")]], notes=["a note"])
    md = t.to_markdown()
    assert "## A title" in md and "b\\|c" in md and "| 1 | 2 [1 – 3] |" in md and "- a note" in md
    assert t.to_csv().splitlines() == ["a,b|c", "1,2 [1 – 3]"]
    with pytest.raises(ValueError, match="2 columns"):
        Table.build("y", "bad", ["a", "b"], [["only one"]])


def test_history_follows_medians_across_runs(results, summaries):
    histories = {h.workload: h for h in build_history(results, summaries)}
    assert set(histories) >= {"worker_pool", "http_server"}
    h = histories["worker_pool"]
    assert h.metrics[0] == "throughput"
    row = next(r for r in h.table.rows if r[1] == Cell("go/goroutines") and r[2].text == "throughput"
               and r[0].text == "workers=4")
    assert row[-1].text == "+25.0%"  # run-b's go worker_pool is 1.25 times as fast
    assert list(h.table.columns[3:5]) == ["01-01 00:00", "01-02 00:00"]
    assert h.plotted == ("throughput", "peak_rss", "cpu_time_per_op")


def test_history_leaves_out_implementations_with_one_run(results, summaries):
    ping = {h.workload: h for h in build_history(results, summaries)}["ping_pong"]
    assert ping.single == ("java/threads",)  # only in run-a
    assert "java/threads" not in set(ping.frame["implementation"])
    assert any("java/threads" in n for n in ping.table.notes)


def test_run_labels_stay_distinct():
    assert run_labels(["20261122T022300Z", "20261122T023859Z"]) == {
        "20261122T022300Z": "11-22 02:23", "20261122T023859Z": "11-22 02:38"}
    assert run_labels(["20261122T022300Z", "20261122T022312Z"]) == {
        "20261122T022300Z": "11-22 02:23:00", "20261122T022312Z": "11-22 02:23:12"}


def test_history_needs_two_runs():
    one = load_results([FIXTURES / "run-a"])
    assert build_history(one, summarize(one.samples)) == []


def test_environment_tables(results):
    env = run_environment(results.latest)
    facts = {r[0].text: r[1].text for r in env.facts.rows}
    assert facts["CPU model"] == "Fixture CPU" and facts["kernel"] == "Linux 6.1.0"
    assert facts["profile"] == "smoke" and facts["git commit"].startswith("0123456789abcdef")
    assert {r[0].text for r in env.toolchains.rows} >= {"go/goroutines", "rust/tokio"}
    runs = runs_table(results)
    assert [r[0].text for r in runs.rows] == ["20260102T000000Z", "20260101T000000Z"]


def test_scaling_series_finds_a_positive_numeric_parameter():
    assert scaling_series([POOL, SPAWN]) is None  # workers=0 is spawn mode, not a size
    cases = ["closed,connections=16", "closed,connections=64", "open,rate=0.5", "idle,connections=500"]
    assert scaling_series(cases) == ("connections", {"closed,connections=16": 16.0, "closed,connections=64": 64.0})


def test_metric_knowledge():
    assert key_metric({"wall_time", "throughput"}) == "throughput"
    assert key_metric({"qps", "latency_p50"}) == "qps"
    # a workload's declared key metrics (workload.toml [report]) come first, where measured
    assert key_metric({"throughput", "memory_per_task"}, ("memory_per_task",)) == "memory_per_task"
    assert key_metric({"throughput"}, ("timer_late_p50",)) == "throughput"
    assert declared_key_metrics()["spawn_idle"][0] == "memory_per_task"
    assert declared_key_metrics()["preemption"][0] == "timer_late_p50"
    assert direction_of("timer_late_p50", "info") == "lower" and direction_of("qps", "higher") == "higher"
    assert latency_percentile("latency_p999") == 99.9 and latency_percentile("latency_p50") == 50
    assert latency_percentile("latency_max") == 100 and latency_percentile("qps") is None
    assert main_metrics({"peak_rss", "throughput", "cpu_user", "brand_new"}) == ["throughput", "peak_rss", "brand_new"]


def test_formatting_by_unit():
    assert fmt_value(2.5e-6, "s") == "2.5 µs"
    assert fmt_value(2.5e-6, "s/op") == "2.5 µs/op"
    assert fmt_value(3 * 2**20, "B") == "3 MiB"
    assert fmt_value(4.06e6, "ops/s") == "4.06M/s"
    assert fmt_value(41000, "req/s") == "41k req/s"
    assert fmt_value(5.34e-5, "count/op") == "0.0000534/op"  # never e-notation
    assert fmt_value(3.0, "count/op") == "3/op" and fmt_value(1.2e7, "") == "12,000,000"
    assert fmt_value(750, "ns") == "750 ns"
    assert fmt_value(float("nan"), "s") == "—"
    assert fmt_change(1.25) == "+25.0%" and fmt_change(3.0) == "3.00×"
    assert factor_to_best(50, 100, "higher") == 2.0 and factor_to_best(3, 1, "lower") == 3.0


def test_headroom_ratio_against_the_fastest_closed_loop_server():
    from dataclasses import replace

    from reports.pages.workload import headroom_rows

    results = load_results([FIXTURES / "run-a"])
    run = results.runs[-1]
    summaries = summarize(results.samples)
    summaries = summaries[summaries["run_id"] == run.run_id]
    closed = summaries[(summaries["metric"] == "qps") & summaries["case"].str.startswith("closed")]
    fastest = float(closed["median"].max())
    meta = {**run.meta, "loadgen_headroom": {"runs": [{"tool": "wrk", "connections": 256, "qps": 2 * fastest,
                                                       "loadgen_cpu": 0.5, "responder_cpu": 1.0,
                                                       "bottleneck": "responder"}]}}
    rows = headroom_rows(replace(run, meta=meta), summaries)
    assert rows[0]["ratio"] == 2.0 and rows[0]["fastest_qps"] == fastest
    assert headroom_rows(replace(run, meta={**run.meta, "loadgen_headroom": {"error": "no wrk"}}),
                         summaries) == [{"error": "no wrk"}]


def _with_bound(run, *pairs):
    """The run with the given (case, implementation) server cases flagged load-generator bound."""
    from dataclasses import replace

    cases = run.cases.copy()
    cases["bound"] = [(c, i) in pairs for c, i in zip(cases["case"], cases["implementation"])]
    return replace(run, cases=cases)


def test_two_bound_figures_are_lower_bounds_with_no_best(results, latest, samples):
    run = _with_bound(results.latest, ("closed,connections=64", "rust/tokio"), ("closed,connections=64",
                                                                               "go/goroutines"))
    ov = build_overview(run, latest, samples)
    cols = list(ov.table.columns)
    row = _row(ov.table, "http_server", "closed,connections=64")
    tokio, go = row[cols.index("rust/tokio")], row[cols.index("go/goroutines")]
    assert tokio.text.startswith("≥ 47") and "bound" in tokio.cls and "best" not in tokio.cls
    assert go.text.startswith("≥ ") and go.sub == "load-generator bound"
    assert any("no best: 2 figures are load-generator bound" in n for n in ov.table.notes)
    raw = ov.table.raw
    assert not raw[(raw["case"] == "closed,connections=64") & raw["best"]].size
    view = build_workload(run, latest, "http_server", ["closed,connections=16", "closed,connections=64"],
                          samples=samples)
    table = view.sections[1].table
    assert any("no best" in n.lower() for n in table.notes)
    assert any("≥ X (load-generator bound)" in n for n in table.notes)
    assert any("(load-generator bound)" in c.text for r in table.rows for c in r if isinstance(c, Cell))


def test_a_bound_figure_below_a_measured_one_leaves_no_best(results, latest, samples):
    run = _with_bound(results.latest, ("closed,connections=64", "go/goroutines"))
    cols = list(build_overview(run, latest, samples).table.columns)
    row = _row(build_overview(run, latest, samples).table, "http_server", "closed,connections=64")
    tokio = row[cols.index("rust/tokio")]
    assert "best" not in tokio.cls and "×" not in tokio.sub


def test_a_single_bound_figure_that_is_the_highest_is_no_best(results, latest, samples):
    run = _with_bound(results.latest, ("closed,connections=64", "rust/tokio"))
    cols = list(build_overview(run, latest, samples).table.columns)
    row = _row(build_overview(run, latest, samples).table, "http_server", "closed,connections=64")
    tokio, go = row[cols.index("rust/tokio")], row[cols.index("go/goroutines")]
    assert "best" not in tokio.cls and tokio.text.startswith("≥ 47") and tokio.sub == "load-generator bound"
    assert [m.text for m in tokio.marks] == ["≥ lower bound", "n = 1"] and "×" not in go.sub


def test_bound_is_read_from_run_json_flags(tmp_path):
    import json
    import shutil

    from reports.bound import bound_in, bound_set

    shutil.copytree(FIXTURES / "run-b", tmp_path / "run")
    path = tmp_path / "run" / "run.json"
    data = json.loads(path.read_text())
    for c in data["cases"]:
        if c["case"] == "closed,connections=64":
            c["flags"] = (["host busy: x", "load-generator bound: wrk kept 97% of its 1 CPU(s) busy"]
                          if c["impl"] == "rust/tokio" else ["load generator saturated: wrk kept 95% busy"])
    path.write_text(json.dumps(data))
    res = load_results([tmp_path / "run"])
    run = res.latest
    assert bound_set(run) == {("http_server", "closed,connections=64", "rust/tokio"),
                              ("http_server", "closed,connections=64", "go/goroutines")}  # old runs' wording too
    assert bound_in(res, run.run_id, "http_server", "closed,connections=64", "rust/tokio")
    assert not bound_in(res, run.run_id, "http_server", "closed,connections=16", "rust/tokio")


def test_headroom_is_compared_with_the_fastest_server_of_its_mode(results):
    from dataclasses import replace

    from reports.pages.workload import headroom_rows

    run = results.runs[-1]
    summaries = summarize(results.samples)
    summaries = summaries[summaries["run_id"] == run.run_id]
    piped = summaries[(summaries["metric"] == "qps") & (summaries["case"] == "closed,connections=64")].copy()
    piped["case"] = "pipelined,connections=64"
    piped["median"] = piped["median"] * 3
    both = summaries._append(piped)
    runs = [{"tool": "wrk", "mode": "closed", "pipeline": 1, "connections": 64, "qps": 100_000.0, "loadgen_cpu": 1.0,
             "responder_cpu": 0.5, "bottleneck": "load generator"},
            {"tool": "wrk", "mode": "pipelined", "pipeline": 16, "connections": 64, "qps": 400_000.0,
             "loadgen_cpu": 1.0, "responder_cpu": 0.9, "bottleneck": "both"},
            {"tool": "oha", "mode": "closed", "pipeline": 1, "connections": 64, "qps": 50_000.0, "loadgen_cpu": 1.0,
             "responder_cpu": 0.3, "bottleneck": "load generator"}]
    rows = headroom_rows(replace(run, meta={**run.meta, "loadgen_headroom": {"runs": runs}}), both)
    closed_best = float(summaries[(summaries["metric"] == "qps")
                                  & summaries["case"].str.startswith("closed")]["median"].max())
    assert rows[0]["mode"] == "closed" and rows[0]["ratio"] == pytest.approx(100_000 / closed_best)
    assert rows[1]["mode"] == "pipelined x16" and rows[1]["fastest"].endswith("[pipelined,connections=64]")
    assert "ratio" not in rows[2]  # oha caps the open loop; no server runs closed loops under it


def test_bound_bars_are_hatched_and_bound_points_ringed(results, tmp_path, monkeypatch):
    from reports import plots

    drawn = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.append(fig) or path.name)
    samples = results.samples_of(results.latest.run_id)
    cases = ["closed,connections=16", "closed,connections=64"]
    colors = plots.palette(sorted(set(samples["implementation"])))
    bound = {("closed,connections=64", "rust/tokio")}
    plots.bar_grid(samples[samples["workload"] == "http_server"], ["qps"], cases, {c: c for c in cases}, colors,
                   path=tmp_path / "bars.png", title="t", bound=bound)
    axes = drawn[-1].axes
    hatched = [p for ax in axes for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 1  # rust/tokio at 64 connections only
    assert any(t.get_text().startswith("≥ 47") for ax in axes for t in ax.texts)
    assert any("load-generator bound" in t.get_text() for lg in drawn[-1].legends for t in lg.get_texts())
    plots.scaling(samples[samples["workload"] == "http_server"], "qps", "connections",
                  {"closed,connections=16": 16, "closed,connections=64": 64}, colors, path=tmp_path / "s.png",
                  title="t", bound=bound)
    rings = [c for c in drawn[-1].axes[0].collections if c.get_label() == "≥: load-generator bound"]
    assert len(rings) == 1 and len(rings[0].get_offsets()) == 1
