"""Alerts (reports/history/alerts.py) and `cmbench regressions` / `cmbench history rebuild` over small run folders."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace

import pytest

from cmbench.cli import main
from harness.errors import UserError
from reports.history.alerts import _same, alerts_for_run, load_alerts, open_alerts
from reports.history.changes import DetectionConfig
from reports.history.store import ANALYSIS_COLUMNS, load_history, sync

from ..runs import fake_commit, make_run

GO, C = ("ping_pong", "go/goroutines"), ("ping_pong", "c/pthreads")


@pytest.fixture
def stepped(tmp_path):
    """Twelve nights; go/goroutines is 10% slower from night 6 on, with a Go upgrade that night."""
    results = tmp_path / "results"
    for night in range(12):
        make_run(results, night, {GO: 0.010 * (1.10 if night >= 6 else 1.0), C: 0.020},
                 toolchain="go version go1.28.0" if night >= 6 else "go version go1.27.3")
    sync(results)
    return results


def test_the_run_that_finds_a_regression_writes_it_and_later_runs_keep_it_open(stepped):
    runs = sorted(p.name for p in stepped.iterdir() if p.name.startswith("2026"))
    for run in runs[:8]:
        assert alerts_for_run(stepped, run) == []
    first = alerts_for_run(stepped, runs[8])  # three runs after the change
    assert len(first) == 1 and first[0].new
    doc = load_alerts(stepped / runs[8])
    assert doc["schema"] == 2 and doc["run_id"] == runs[8]
    [a] = doc["alerts"]
    assert {k: a[k] for k in ("workload", "case", "impl", "variant", "metric", "kind")} == {
        "workload": "ping_pong", "case": "n=1", "impl": "go/goroutines", "variant": "default",
        "metric": "wall_time", "kind": "regression"}
    assert a["change"] == pytest.approx(0.10, abs=0.01) and a["pvalue"] < 1e-4
    assert a["last_good"]["run_id"] == runs[5] and a["first_bad"]["run_id"] == runs[6]
    assert a["first_bad"]["commit"] == fake_commit(6) and a["commits"] is None  # not commits of this repository
    assert a["likely_causes"][0] == ("toolchain of go/goroutines changed: go version go1.27.3 -> "
                                     "go version go1.28.0")
    assert a["fingerprint"]["text"].startswith("Test CPU x2, Linux 6.1.0, native")
    md = (stepped / runs[8] / "alerts.md").read_text()
    assert "## regression: ping_pong[n=1] go/goroutines wall_time +" in md and "(new)" in md
    later = alerts_for_run(stepped, runs[11])
    assert len(later) == 1 and not later[0].new


def test_another_metric_moving_at_another_run_is_another_change(tmp_path):
    results = tmp_path / "results"
    for night in range(10):  # slower from night 6 on; a larger peak RSS from night 7 on
        make_run(results, night, {GO: 0.010 * (1.2 if night >= 6 else 1.0)}, rss=2.0**20 * (1.2 if night >= 7 else 1))
    sync(results)
    runs = sorted(p.name for p in results.iterdir() if p.name.startswith("2026"))
    [first] = alerts_for_run(results, runs[8])
    assert first.change.series.metric == "wall_time" and first.new
    both = {a.change.series.metric: a for a in alerts_for_run(results, runs[9])}
    assert both["peak_rss"].new and not both["wall_time"].new


def test_one_change_is_the_same_in_a_metric_of_its_case_at_its_run_or_in_its_metric_nearby(stepped):
    runs = sorted(p.name for p in stepped.iterdir() if p.name.startswith("2026"))
    [alert] = alerts_for_run(stepped, runs[8])
    wall = alert.change

    def moved(metric="wall_time", by=0, **changes):
        return replace(wall, series=replace(wall.series, metric=metric, **changes), index=wall.index + by)
    assert _same(wall, moved(by=2)) and not _same(wall, moved(by=3))
    assert _same(wall, moved("throughput")) and not _same(wall, moved("throughput", by=1))
    assert not _same(wall, moved(impl="c/pthreads")) and not _same(wall, replace(wall, kind="improvement"))


def test_open_alerts_newest_first_and_since(stepped):
    history = load_history(stepped, ANALYSIS_COLUMNS)
    [a] = open_alerts(history)
    assert a.change.first_bad.run_id == "20260107T020000Z"
    assert open_alerts(history, since="20260108T020000Z") == []
    with pytest.raises(UserError, match="--since nope"):
        open_alerts(history, since="nope")
    assert open_alerts(history, DetectionConfig(min_change=0.2)) == []  # under a 20% noise floor


def test_commits_between_the_runs_come_from_the_repository(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "base")
    good = git("rev-parse", "HEAD").strip()
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "make it slow")
    bad = git("rev-parse", "HEAD").strip()
    results = tmp_path / "results"
    for night in range(10):
        make_run(results, night, {GO: 0.010 * (1.2 if night >= 6 else 1.0)}, commit=good if night < 6 else bad)
    sync(results)
    [a] = alerts_for_run(results, "20260110T020000Z", repo=repo)
    assert [(c.sha, c.subject) for c in a.commits] == [(bad, "make it slow")]
    assert "1 commit between" in a.causes[0]


def test_regressions_and_history_commands(stepped, fixture_root, capsys):
    assert main(["--root", str(fixture_root), "history", "rebuild", "--results", str(stepped)]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("history: 12 run(s)") and "kB per run" in out.out
    assert main(["--root", str(fixture_root), "regressions", "--results", str(stepped)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["first", "bad", "run"]
    assert lines[3].startswith("Minimum detectable change")
    # read over the host's level of each run (c/pthreads, the case's other implementation): about +10%
    assert "go/goroutines" in lines[2] and "regression" in lines[2] and re.search(r"\+(9\.[5-9]|10\.[0-4])%", lines[2])
    assert main(["--root", str(fixture_root), "regressions", "--results", str(stepped), "--since",
                 "20260112T020000Z"]) == 0
    assert capsys.readouterr().out.startswith("no open alerts in 12 run(s) since")
    assert main(["--root", str(fixture_root), "regressions", "--results", str(stepped), "--min-change", "150"]) == 2
    assert "--min-change" in capsys.readouterr().err


def test_regressions_detects_as_the_newest_nightly_did(tmp_path, fixture_root, capsys):
    """Over `--no-confirm` nightlies (alerts.json `ab_confirmation` false) the command reads the medians as
    measured, as they did: over the host's level the same step of both implementations of the case cancels."""
    results = tmp_path / "results"
    for night in range(10):
        make_run(results, night, {GO: 0.010 * (1.30 if night >= 6 else 1.0), C: 0.020 * (1.25 if night >= 6 else 1.0)})
    sync(results)
    regressions = ["--root", str(fixture_root), "regressions", "--results", str(results), "--min-change", "20"]
    assert main(regressions) == 0
    assert capsys.readouterr().out.startswith("no open alerts in 10 run(s)")  # 1.30 / 1.25: +4%
    newest = sorted(p.name for p in results.iterdir() if p.name.startswith("2026"))[-1]
    alerts_for_run(results, newest, DetectionConfig(min_change=0.2))  # what a --no-confirm nightly writes
    assert load_alerts(results / newest)["config"]["ab_confirmation"] is False
    assert main(regressions) == 0
    rows = capsys.readouterr().out.splitlines()[2:4]
    assert sorted(r.split()[3] for r in rows) == ["c/pthreads", "go/goroutines"]
    assert all("regression" in r for r in rows)


def test_alerts_json_is_refused_when_newer(stepped):
    folder = next(p for p in stepped.iterdir() if p.name.startswith("2026"))
    (folder / "alerts.json").write_text(json.dumps({"schema": 3, "alerts": []}))
    with pytest.raises(UserError, match="newer"):
        load_alerts(folder)
