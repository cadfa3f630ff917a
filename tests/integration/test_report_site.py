"""The report site from a small real run: pages, plots, links, and the index in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from cmbench.cli import main
from harness.catalog import load_catalog
from harness.executors.native import NativeExecutor

from ..conftest import PROJECT
from ..site_layout import measure
from ..site_links import broken_links, parse

pytestmark = pytest.mark.integration

IMPL = "go/goroutines"
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    impl = load_catalog(PROJECT).impls[IMPL]
    if not NativeExecutor().toolchain(impl).present:
        pytest.skip(f"{IMPL}: toolchain missing: {impl.toolchain_hint}")
    tmp = tmp_path_factory.mktemp("report")
    assert main(["--root", str(PROJECT), "run", "--profile", "smoke", "--impl", IMPL,
                 "--workload", "ping_pong,spawn_idle,worker_pool", "--out", str(tmp / "run")]) == 0
    out = tmp / "site"
    assert main(["--root", str(PROJECT), "report", str(tmp / "run"), "--out", str(out)]) == 0
    return out


def test_pages_exist_for_every_workload_run(site):
    pages = {p.name for p in site.glob("*.html")}
    assert {"index.html", "workload-ping-pong.html", "workload-spawn-idle.html", "environment.html",
            "history.html", "compare.html", "claims.html"} <= pages
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "ping_pong" in index and "spawn_idle" in index
    assert f"{IMPL}," in (site / "tables" / "overview.csv").read_text(encoding="utf-8")
    spawn = (site / "workload-spawn-idle.html").read_text(encoding="utf-8")
    assert "memory / task" in spawn and "interquartile range" in spawn


def test_plots_exist_and_are_referenced(site):
    referenced = set()
    for page in site.glob("*.html"):
        referenced |= set(parse(page).links)
    plots = sorted(site.glob("plots/*.png"))
    assert {"ping-pong-throughput.png", "spawn-idle-memory.png", "spawn-idle-costs.png"} <= {p.name for p in plots}
    for p in plots:
        assert p.stat().st_size > 5000 and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"plots/{p.name}" in referenced


def test_every_internal_link_resolves(site):
    assert broken_links(site) == []


def test_claims_are_judged_from_the_run(site):
    claims = (site / "claims.html").read_text(encoding="utf-8")
    # worker_pool of go/goroutines, pool and spawn mode at the same size, judges the pool/spawn ratio
    start = claims.index('id="claim-pool-vs-spawn-throughput"')
    header = claims[start:claims.index("</header>", start)]
    assert any(f">{v}<" in header for v in ("consistent", "contradicted", "inconclusive")), header
    verdicts = {c["id"]: c for c in json.loads((site / "claims.json").read_text(encoding="utf-8"))["claims"]}
    # under load from other tests the cases may be flagged `host busy`: they still count, and a spread too wide
    # to decide leaves the claim inconclusive, never unjudged
    used = [e for e in verdicts["pool-vs-spawn-throughput"]["evidence"] if e["used"]]
    assert {e["case"].split(",")[0] for e in used} == {"tasks=5000"} and all(e["n"] >= 3 for e in used)
    # claims made on one CPU read only the one-CPU placement of ping_pong, which a run on two CPUs measures too
    switch = verdicts["lightweight-switch"]
    assert switch["verdict"] != "not measured" or switch["group"] == "evidence not usable", switch
    assert all("placement=one" in e["case"] for e in switch["evidence"])


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_index_renders_in_headless_chromium(site, tmp_path):
    shot = tmp_path / "index.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1400,1200", f"--screenshot={shot}", (site / "index.html").as_uri()],
                   capture_output=True, timeout=120, check=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a blank page is a few kB


def _fits(page, tmp_path, *, overview: bool = False) -> dict:
    """A page at 1400 px: no sideways scrolling (none inside the overview either), no two texts overlapping, every
    figure as wide as the content column and drawn at that size (not stretched)."""
    m = measure(page, tmp_path)
    assert m["sideways"] <= 0, (page.name, m["sideways"])
    if overview:
        assert m["scrollers"] == [], m["scrollers"]
    assert m["overlaps"] == [], (page.name, m["overlaps"])
    assert m["texts"] > 3  # the measuring script saw the page's text
    for img in m["images"]:
        assert img["natural"] > 0, img
        assert img["shown"] >= 0.95 * m["column"], (img, m["column"])
        assert img["natural"] >= 0.95 * img["shown"], img
    return m


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
@pytest.mark.parametrize("name", ["index.html", "workload-ping-pong.html", "workload-spawn-idle.html",
                                  "environment.html", "history.html", "regressions.html"])
def test_pages_read_at_1400_px(site, tmp_path, name):
    m = _fits(site / name, tmp_path, overview=name == "index.html")
    if name == "index.html":
        assert m["images"]  # the heatmap


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_the_fixture_runs_pages_read_at_1400_px(tmp_path):
    from reports.data import load_results
    from reports.site import build_site

    fixtures = PROJECT / "tests" / "fixtures" / "reports"
    out = tmp_path / "site"
    build_site(load_results([fixtures / "run-a", fixtures / "run-b"]), out)
    _fits(out / "index.html", tmp_path, overview=True)
    http = _fits(out / "workload-http-server.html", tmp_path)
    assert len(http["images"]) >= 3
