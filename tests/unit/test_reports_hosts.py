"""A run measured on several hosts: figures of different environment fingerprints, or of different load
generator layouts, are ranked apart, each named; workload pages show each case's host and layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from harness.store.run import load_run
from reports.data import load_results, summarize
from reports.hosts import comparability, placement_text
from reports.pages.overview import build_overview
from reports.pages.workload import build_workload, headroom_rows

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reports"
OTHER = {"cpu_model": "Other CPU", "cpu_count": 64, "kernel": "Linux 6.12"}


def _cluster_run(tmp_path: Path) -> Path:
    """run-b as if measured by b1 (the fixture's machine) and b2 (another machine: c/pthreads' worker_pool
    cases), with rust/tokio's closed loops driven from a separate generator host lg1."""
    folder = tmp_path / "run"
    shutil.copytree(FIXTURES / "run-b", folder)
    data = load_run(folder)
    fixture = dict(data["host"])
    data["hosts"] = {"b1": {**fixture, "hostname": "b1"}, "b2": {**fixture, **OTHER, "hostname": "b2"}}
    for c in data["cases"]:
        c["host"] = "b2" if (c["workload"], c["impl"]) == ("worker_pool", "c/pthreads") else "b1"
        if c["workload"] == "http_server" and c["case"].startswith("closed"):
            separate = c["impl"] == "rust/tokio"
            c.setdefault("extra", {}).update(layout="separate" if separate else "same-host",
                                             loadgen_host="lg1" if separate else "")
    (folder / "run.json").write_text(json.dumps(data))
    return folder


def _latest(folder: Path):
    results = load_results([folder])
    run = results.latest
    summaries = summarize(results.samples)
    return run, summaries[summaries["run_id"] == run.run_id], results.samples_of(run.run_id)


def test_cases_of_another_fingerprint_form_their_own_group(tmp_path):
    run, _, _ = _latest(_cluster_run(tmp_path))
    groups = comparability(run)
    pool = {i: groups[("worker_pool", c, i)] for (w, c, i) in groups if w == "worker_pool"}
    assert pool["c/pthreads"].fingerprint.cpu_model == "Other CPU" and pool["c/pthreads"].hosts == ("b2",)
    assert pool["go/goroutines"].key != pool["c/pthreads"].key
    assert pool["go/goroutines"].label != pool["c/pthreads"].label  # A and B: one letter per fingerprint
    http = {(c, i): groups[("http_server", c, i)] for (w, c, i) in groups if w == "http_server"}
    tokio, go = http[("closed,connections=64", "rust/tokio")], http[("closed,connections=64", "go/goroutines")]
    assert tokio.label == go.label and tokio.key != go.key  # one machine, two layouts
    assert "separate generator" in tokio.name and "Other CPU" not in tokio.text


def test_the_overview_never_ranks_figures_of_two_environments_in_one_row(tmp_path):
    run, summaries, samples = _latest(_cluster_run(tmp_path))
    one = build_overview(run, summaries, samples)
    raw = one.table.raw
    pool = raw[(raw["workload"] == "worker_pool") & (raw["status"] == "ok")]
    for case in set(pool["case"]):
        rows = pool[pool["case"] == case]
        assert rows["best"].sum() == 2  # one best per environment: c/pthreads is best of its own row
        assert bool(rows.loc[rows["implementation"] == "c/pthreads", "best"].iloc[0])
    heads = [str(r[0]) for r in one.table.rows if str(r[0]).startswith("worker_pool")]
    assert any("· A" in h for h in heads) and any("· B" in h for h in heads), heads
    assert any("environments or load-generator layouts" in n and "Other CPU" in n for n in one.table.notes)
    closed = raw[(raw["workload"] == "http_server") & (raw["case"] == "closed,connections=64")]
    assert not closed["best"].any()  # measured once (n = 1): never named best
    http = [str(r[0]) for r in one.table.rows if str(r[0]).startswith("http_server [closed,connections=64")]
    assert len(http) == 2, http  # the separate generator's figure has its own row, not ranked against the other


def test_a_run_on_one_machine_keeps_one_row_per_case(tmp_path):
    run, summaries, samples = _latest(FIXTURES / "run-b")
    table = build_overview(run, summaries, samples).table
    assert not any("·" in str(r[0]) for r in table.rows)
    assert not any("environments" in n for n in table.notes)


def test_workload_tables_show_hosts_environments_and_layouts(tmp_path):
    run, summaries, samples = _latest(_cluster_run(tmp_path))
    cases = list(dict.fromkeys(run.cases.loc[run.cases["workload"] == "worker_pool", "case"]))
    view = build_workload(run, summaries, "worker_pool", cases, samples=samples)
    table = view.sections[0].table
    assert table.columns[1:3] == ("environment", "host")
    rows = {str(r[0]): r for r in table.rows}
    assert str(rows["c/pthreads"][1]) == "B" and str(rows["c/pthreads"][2]) == "b2"
    assert str(rows["c/pthreads"][-2]).startswith("best")  # best of its environment, not compared with A
    assert any("compared (vs best) only with those of its own" in n for n in table.notes)

    http_cases = list(dict.fromkeys(run.cases.loc[run.cases["workload"] == "http_server", "case"]))
    view = build_workload(run, summaries, "http_server", http_cases, samples=samples)
    closed = next(s for s in view.sections if s.case == "closed,connections=64").table
    assert "server and load generator" in closed.columns
    cells = {str(r[0]): [str(c) for c in r] for r in closed.rows}
    assert "separate: lg1 → b1" in cells["rust/tokio"] and "same host: b1" in cells["go/goroutines"]


def test_placement_text():
    assert placement_text("b1", "separate", "lg1") == "separate: lg1 → b1"
    assert placement_text("b1", "same-host", "") == "same host: b1"
    assert placement_text("b1", "", "") == ""


def test_headroom_in_the_separate_layout_is_compared_with_servers_of_that_layout(tmp_path):
    from dataclasses import replace

    run, summaries, samples = _latest(_cluster_run(tmp_path))
    probe = {"tool": "wrk", "mode": "closed", "pipeline": 1, "connections": 64, "qps": 1e6, "loadgen_cpu": 1.0,
             "responder_cpu": 0.5, "bottleneck": "load generator"}
    meta = {**run.meta, "loadgen_headroom": {"runs": [probe]},
            "loadgen_headroom_separate": [{"host": "b1", "loadgen_host": "lg1", "runs": [{**probe, "qps": 2e6,
                                                                                           "relay_cpu": 0.4}]}]}
    rows = headroom_rows(replace(run, meta=meta), summaries)
    same, separate = rows
    assert same["layout"] == "same host" and same["fastest"].startswith("go/goroutines")
    assert separate["layout"] == "separate: lg1 → b1" and separate["fastest"].startswith("rust/tokio")
    assert separate["relay_cpu"] == 0.4
