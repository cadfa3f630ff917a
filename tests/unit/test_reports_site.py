"""The site and the two commands, rendered from the fixture runs (plots included, no processes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cmbench.cli import main
from harness.errors import UserError
from reports import plots
from reports.compare import compare_runs, render_terminal
from reports.data import load_results
from reports.site import MARKER, build_site

from ..site_links import broken_links, parse

PROJECT = Path(__file__).resolve().parent.parent.parent
FIXTURES = PROJECT / "tests" / "fixtures" / "reports"
RUN_A, RUN_B = FIXTURES / "run-a", FIXTURES / "run-b"


@pytest.fixture
def stub_plots(monkeypatch):
    """Figures as empty files: for tests about pages and commands, not about drawing."""
    def fake(*args, path: Path, **kw) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        return path.name
    for name in ("bar_grid", "latency_curves", "scaling", "overview_heatmap", "history_grid"):
        monkeypatch.setattr(plots, name, fake)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    summary = build_site(load_results([RUN_A, RUN_B]), out, descriptions={"ping_pong": "two tasks pass a token"})
    return out, summary


def test_every_page_is_written_and_every_link_resolves(site):
    out, summary = site
    pages = {p.name for p in out.glob("*.html")}
    assert pages >= {"index.html", "history.html", "compare.html", "claims.html", "environment.html",
                     "workload-worker-pool.html", "workload-http-server.html", "workload-ping-pong.html"}
    assert summary.index == out.resolve() / "index.html" and summary.pages == len(pages)
    assert broken_links(out) == []


def test_every_plot_and_export_is_referenced(site):
    out, summary = site
    referenced = set()
    for page in out.glob("*.html"):
        referenced |= {link for link in parse(page).links}
    plots = {f"plots/{p.name}" for p in (out / "plots").glob("*.png")}
    assert plots and plots <= referenced and summary.plots == len(plots)
    assert {"plots/http-server-latency.png", "plots/http-server-scaling-connections.png",
            "plots/spawn-idle-memory.png", "plots/overview-heatmap.png"} <= plots
    exports = {f"tables/{p.name}" for p in (out / "tables").iterdir()}
    assert exports <= referenced and "tables/overview.csv" in exports and "tables/claims.md" in exports


def test_pages_use_no_network(site):
    out, _ = site
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text, page.name


def test_pages_carry_what_the_reader_needs(site):
    out, _ = site
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "two tasks pass a token" in index and "crashed" in index and "unsupported" in index
    workload = (out / "workload-worker-pool.html").read_text(encoding="utf-8")
    assert "how sure" in workload and "interquartile range" in workload
    claims = (out / "claims.html").read_text(encoding="utf-8")
    assert "线程切换" in claims and "FastAPI" in claims and "not measured" in claims and "contradicted" in claims
    compare = (out / "compare.html").read_text(encoding="utf-8")
    assert "20260102T000000Z" in compare and "faster" in compare
    env = (out / "environment.html").read_text(encoding="utf-8")
    assert "Fixture CPU" in env and "0123456789ab" in env
    run_b = env.split('id="run-20260102T000000Z"', 1)[1].split("<h2", 1)[0]  # the run whose host checks warned
    assert "Not set for measuring when the run started" in run_b and "thp: always" in run_b
    assert "1 ok, 1 warn, 1 n/a" in run_b
    assert "Not set for measuring" not in env.split('id="run-20260101T000000Z"', 1)[1]


def test_rerendering_replaces_a_site_but_never_a_foreign_folder(stub_plots, tmp_path):
    results = load_results([RUN_A])
    out = tmp_path / "site"
    build_site(results, out)
    (out / "plots" / "stale.png").write_bytes(b"old")
    (out / "compare" / "x").mkdir(parents=True)
    (out / "compare" / "x" / "index.html").write_text("saved")
    build_site(results, out)
    assert not (out / "plots" / "stale.png").exists() and (out / MARKER).exists()
    assert (out / "compare" / "x" / "index.html").read_text() == "saved"
    assert "compare/x/index.html" in (out / "compare.html").read_text(encoding="utf-8")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="holds files this command did not write"):
        build_site(results, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_two_processes_against_two_cannot_show_a_change():
    """The fixture runs have 2 processes of 3 iterations per case: one value per process is tested
    (direction-aware verdicts on enough processes: test_reports_compare.py)."""
    results = load_results([RUN_A, RUN_B])
    c = compare_runs(results, "20260101T000000Z", "20260102T000000Z")
    f = c.frame.set_index(["workload", "case", "implementation", "metric"])
    pool = ("worker_pool", "tasks=100,queue=8,workers=4,rounds=2")
    assert f.loc[(*pool, "go/goroutines", "throughput"), "change_pct"] == pytest.approx(25)
    assert f.loc[(*pool, "go/goroutines", "wall_time"), "change_pct"] == pytest.approx(-20)
    for metric in ("throughput", "wall_time", "peak_rss"):
        assert f.loc[(*pool, "go/goroutines", metric), "verdict"] == "too few samples"
        assert f.loc[(*pool, "go/goroutines", metric), "n_a"] == 2
    assert c.tests == 0 and not f["significant"].any()
    text = render_terminal(c)
    assert text.splitlines()[0] == "compare: B = 20260102T000000Z vs A = 20260101T000000Z"
    assert "too few samples to test (at least 4 processes per run" in text and "Mann-Whitney" in text


def test_report_command_prints_the_index_last(stub_plots, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["--root", str(PROJECT), "report", str(RUN_A), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == str(out.resolve() / "index.html")


def test_report_without_runs_is_a_user_error(tmp_path, capsys):
    root = tmp_path / "root"
    shutil.copytree(PROJECT / "workloads", root / "workloads")
    (root / "impls").mkdir()
    assert main(["--root", str(root), "report"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("cmbench: error:") and "no runs found" in err and "\n" not in err


def test_compare_command_writes_a_page_and_a_terminal_table(stub_plots, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["--root", str(PROJECT), "compare", str(RUN_A), str(RUN_B), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str(out.resolve() / "index.html") and "too few samples" in "\n".join(printed)
    assert broken_links(out) == []
    assert main(["--root", str(PROJECT), "compare", str(RUN_A), str(RUN_A)]) == 2  # 1 is a regression found
    assert "the same run" in capsys.readouterr().err


def test_implementations_page_shows_knobs_variants_and_links_the_readme(tmp_path):
    from reports.site import ImplInfo

    readme = tmp_path / "project/impls/node/event-loop/README.md"
    readme.parent.mkdir(parents=True)
    readme.write_text("# node/event-loop\n")
    info = ImplInfo(id="node/event-loop", language="node", model="event-loop", description="one event loop",
                    workloads=("ping_pong",), knobs=(("v8_pool_size", "--v8-pool-size={cpus}"),),
                    variants=(("worker-threads", "Worker threads", ("ping_pong",)),),
                    unsupported=(("mutex_counter", "mode=atomic", "one thread"),), readme=readme)
    out = tmp_path / "project/reports/site"
    build_site(load_results([RUN_A]), out, impls=[info])
    page = (out / "implementations.html").read_text()
    for text in ("one event loop", "v8_pool_size", "--v8-pool-size={cpus}", "worker-threads", "Worker threads",
                 "only ping_pong", "mode=atomic", 'href="impls/node/event-loop/README.md"'):
        assert text in page, text
    # the README is copied in: a site copied elsewhere keeps its links
    assert (out / "impls/node/event-loop/README.md").read_text() == "# node/event-loop\n"
    moved = tmp_path / "elsewhere"
    shutil.copytree(out, moved)
    assert broken_links(moved) == []
    assert 'href="implementations.html"' in (out / "index.html").read_text()
    # or linked to where the sources are served, when a source URL is given
    build_site(load_results([RUN_A]), out, impls=[info], source_url="https://example.org/cmbench/blob/main/")
    page = (out / "implementations.html").read_text()
    assert 'href="https://example.org/cmbench/blob/main/impls/node/event-loop/README.md"' in page


def test_system_warnings_name_each_host_of_a_run_that_had_several():
    from reports.data import Run
    from reports.pages.environment import system_summary, system_warnings

    warned = {"checks": [{"name": "boost", "status": "warn", "state": "on"}, {"name": "aslr", "status": "ok"}]}
    meta = {"run_id": "r", "host": {"system": warned},
            "hosts": {"a": {"system": warned}, "b": {"system": {"checks": []}}, "c": {}}}
    assert system_warnings(Run(Path("r"), meta, None)) == ("a: boost: on",)
    assert system_warnings(Run(Path("r"), {"run_id": "r", "host": {"system": warned}}, None)) == ("boost: on",)
    assert system_warnings(Run(Path("r"), {"run_id": "r", "host": {"system": "damaged"}}, None)) == ()
    assert system_summary(warned) == "1 ok, 1 warn" and system_summary(None) == "—"


def test_cases_a_stopped_run_did_not_reach_show_as_not_run(stub_plots, tmp_path):
    import csv
    import json

    run = tmp_path / "run-b"
    shutil.copytree(RUN_B, run)
    meta = json.loads((run / "run.json").read_text())
    gone = meta["cases"][-1]
    gone.update(status="not_run", error="the run stopped before it (lost the connection to the scheduler)", host="")
    meta["status"] = "interrupted"
    (run / "run.json").write_text(json.dumps(meta))
    with open(RUN_B / "results.csv") as f:
        rows = [r for r in csv.reader(f) if r[1:4] != [gone["workload"], gone["case"], gone["impl"]]]
    with open(run / "results.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    build_site(load_results([run]), tmp_path / "site")
    overview = (tmp_path / "site" / "index.html").read_text() + "".join(
        p.read_text() for p in (tmp_path / "site").rglob("*.html"))
    assert "status-not_run" in overview and ">not run<" in overview
