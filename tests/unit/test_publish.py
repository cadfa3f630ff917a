"""`cmbench publish`: the published layout from two (then three) fake runs, every link inside it."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from cmbench.cli import main
from reports import plots

from ..runs import make_run
from ..site_links import broken_links, parse

PROJECT = Path(__file__).resolve().parent.parent.parent
LEVELS = {("ping_pong", "go/goroutines"): 0.010, ("ping_pong", "c/pthreads"): 0.020}


@pytest.fixture(autouse=True)
def stub_plots(monkeypatch):
    """Figures as empty files: the layout and the links are the point here, not the drawing."""
    def fake(*args, path: Path, **kw) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        return path.name
    for name in ("bar_grid", "latency_curves", "scaling", "overview_heatmap", "history_grid", "change_series"):
        monkeypatch.setattr(plots, name, fake)


def publish(results: Path, to: Path, capsys) -> tuple[int, list[str], str]:
    status = main(["--root", str(PROJECT), "publish", "--results", str(results), "--to", str(to)])
    captured = capsys.readouterr()
    return status, captured.out.strip().splitlines(), captured.err


def links_leaving(root: Path) -> list[str]:
    """Every href/src of every page under `root` that is external or resolves to a place outside `root`."""
    out = []
    for page in root.rglob("*.html"):
        for link in parse(page).links:
            url = urlparse(link)
            target = (page.parent / unquote(url.path)).resolve()
            if url.scheme or url.netloc or not target.is_relative_to(root.resolve()):
                out.append(f"{page.relative_to(root)}: {link}")
    return out


def test_publish_lays_out_the_latest_site_each_run_and_the_history(tmp_path, capsys):
    results, to = tmp_path / "results", tmp_path / "published"
    first = make_run(results, 0, LEVELS)
    second = make_run(results, 1, LEVELS)
    alerts = {"schema": 1, "run_id": second.name, "alerts": []}
    (second / "alerts.json").write_text(json.dumps(alerts), encoding="utf-8")
    (second / "alerts.md").write_text("no open alerts\n", encoding="utf-8")

    status, out, err = publish(results, to, capsys)
    assert status == 0 and out[-1] == str(to.resolve() / "index.html")
    assert "2 run(s), 2 rendered now" in err
    for page in ("index.html", "implementations.html", f"runs/{first.name}/index.html",
                 f"runs/{second.name}/index.html", "runs/index.html", "history/index.html", "history/history.html",
                 "history/regressions.html", "impls/go/goroutines/README.md"):
        assert (to / page).is_file(), page
    assert second.name in (to / "index.html").read_text(encoding="utf-8")  # the latest run's own site
    index = json.loads((to / "runs" / "index.json").read_text(encoding="utf-8"))
    assert [r["run_id"] for r in index["runs"]] == [second.name, first.name]  # newest first
    assert index["runs"][0]["site"] == f"runs/{second.name}/index.html" and index["runs"][0]["open_alerts"] == 0
    assert index["runs"][1]["alerts"] is None
    assert json.loads((to / "alerts.json").read_text()) == alerts
    assert (to / "runs" / second.name / "alerts.md").is_file()
    assert broken_links(to) == []
    assert links_leaving(to) == []  # a run's pages, the latest, the history and the index link only inside DIR
    readme = 'href="../../impls/go/goroutines/README.md"'
    assert readme in (to / "runs" / first.name / "implementations.html").read_text(encoding="utf-8")

    # A third night: only its site is rendered; the earlier ones are kept as they were.
    kept = (to / "runs" / first.name / "index.html").stat().st_ino
    third = make_run(results, 2, LEVELS)
    running = make_run(results, 3, LEVELS)
    meta = json.loads((running / "run.json").read_text())
    (running / "run.json").write_text(json.dumps({**meta, "status": "running"}))
    status, out, err = publish(results, to, capsys)
    assert status == 0 and "3 run(s), 1 rendered now" in err
    assert (to / "runs" / first.name / "index.html").stat().st_ino == kept
    assert third.name in (to / "index.html").read_text(encoding="utf-8")
    assert not (to / "runs" / running.name).exists() and not (to / "alerts.json").exists()
    assert broken_links(to) == [] and links_leaving(to) == []
    assert not list(tmp_path.glob(".published*"))  # no staging folder left beside DIR


def test_publish_never_replaces_a_folder_it_did_not_write(tmp_path, capsys):
    results, to = tmp_path / "results", tmp_path / "mine"
    run = make_run(results, 0, LEVELS)
    to.mkdir()
    (to / "notes.txt").write_text("keep me")
    status, _, err = publish(results, to, capsys)
    assert status == 1 and "did not write" in err and (to / "notes.txt").read_text() == "keep me"
    status, _, err = publish(tmp_path / "none", tmp_path / "empty", capsys)
    assert status == 1 and "no runs found" in err
    published = tmp_path / "published"
    assert publish(results, published, capsys)[0] == 0
    assert main(["--root", str(PROJECT), "report", str(run), "--out", str(published)]) == 1  # never over DIR
    assert "holds files this command did not write" in capsys.readouterr().err
