"""`cmbench nightly` end to end with real processes: ten nightlies of a fixture whose one case slows down.

The fixture's implementations run a script outside their folders (knob_impl.py, knobs.toml), so no kept
build of theirs is the code an old run measured: these nightlies run `--no-confirm` (detection alone).
The A/B confirmation is tested end to end on a compiled fixture by test_nightly_c.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from ..conftest import PROJECT

pytestmark = pytest.mark.integration

FIXTURE = PROJECT / "tests" / "fixtures" / "nightly_root"
RUNS, CHANGED_AFTER = 10, 6
SLOWER = 1.5  # the knob: fake/knob's ping_pong sleeps 50% longer from the seventh nightly on
# The noise floor for a shared test host (`--min-change`, default 3%), well under the knob's 50% step. What
# the fixture does not change still moves with the host: the start-up CPU time of all four implementation
# and workload pairs (one process per run) stepped up 15-19% at one nightly of a clean `make test`.
MIN_CHANGE = "30"
FIGURES = ("wall_time", "throughput")


def nightly(root, results, *extra):
    return subprocess.run([sys.executable, "-m", "cmbench", "--root", str(root), "nightly", "--profile", "smoke",
                           "--results", str(results), "--quiet-wait", "0", "--fail-on", "regression",
                           "--min-change", MIN_CHANGE, "--no-confirm", *extra],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def nightlies(tmp_path_factory):
    root = tmp_path_factory.mktemp("nightly") / "root"
    shutil.copytree(FIXTURE, root)
    results = root / "results"
    knobs = root / "knobs.toml"
    statuses = []
    for i in range(RUNS):
        if i == CHANGED_AFTER:
            knobs.write_text(knobs.read_text().replace("[knob]\nping_pong = 1.0", f"[knob]\nping_pong = {SLOWER}"))
        r = nightly(root, results)
        assert r.returncode in (0, 3), r.stderr
        statuses.append(r.returncode)
    runs = sorted(p for p in results.iterdir() if (p / "run.json").is_file())
    return root, results, runs, statuses


def alerts_of(folder):
    return json.loads((folder / "alerts.json").read_text())["alerts"]


def figures(alerts):
    """The alerts of what the knob moves. The fake implementations' CPU, start-up and overhead metrics are
    milliseconds of a Python process and step with the host (system CPU +85% from one nightly on, seen in a
    clean `make test`): the nightly reports them, and this test does not count on their staying still."""
    return [a for a in alerts if a["metric"] in FIGURES]


def reports_new_regression(alerts):
    return any(a["new"] and a["kind"] == "regression" for a in alerts)


def test_only_the_slowed_series_alerts(nightlies):
    _, _, runs, statuses = nightlies
    assert len(runs) == RUNS
    alerts = json.loads((runs[-1] / "alerts.json").read_text())
    assert alerts["schema"] == 2 and alerts["run_id"] == runs[-1].name
    found = {(a["workload"], a["case"], a["impl"], a["variant"], a["metric"], a["kind"])
             for a in figures(alerts["alerts"])}
    assert ("ping_pong", "roundtrips=1000", "fake/knob", "default", "wall_time", "regression") in found
    assert {f[:4] for f in found} == {("ping_pong", "roundtrips=1000", "fake/knob", "default")}, found
    wall = next(a for a in alerts["alerts"] if a["metric"] == "wall_time")
    assert wall["change"] == pytest.approx(SLOWER - 1, abs=0.1)
    assert wall["first_bad"]["run_id"] == runs[CHANGED_AFTER].name
    assert wall["last_good"]["run_id"] == runs[CHANGED_AFTER - 1].name
    assert wall["pvalue"] < 0.001 and wall["before"] < wall["after"]
    # No figure alerted before the change; one run reported the regression first, within five runs.
    for folder in runs[:CHANGED_AFTER]:
        assert figures(alerts_of(folder)) == []
    first = [i for i, folder in enumerate(runs) if reports_new_regression(figures(alerts_of(folder)))]
    assert len(first) == 1 and CHANGED_AFTER <= first[0] < CHANGED_AFTER + 5, first
    # --fail-on regression: exit 3 exactly from the runs that reported a new regression
    assert statuses == [3 if reports_new_regression(alerts_of(folder)) else 0 for folder in runs], statuses
    assert statuses[first[0]] == 3


def test_store_site_and_regressions_command(nightlies):
    root, results, runs, _ = nightlies
    assert len(list((results / "history" / "runs").glob("*.parquet"))) == RUNS
    regressions = (results / "site" / "regressions.html").read_text(encoding="utf-8")
    assert "fake/knob" in regressions and "roundtrips=1000" in regressions
    assert "change point" in (results / "site" / "history.html").read_text(encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "cmbench", "--root", str(root), "regressions", "--results",
                        str(results), "--min-change", MIN_CHANGE], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    rows = [line for line in lines[2:] if re.match(r"\d{8}T\d{6}Z ", line)]  # the table; sensitivity lines follow
    assert lines[0].startswith("first bad run") and any("fake/knob" in line and "regression" in line for line in rows)
    assert not any(("fake/steady" in line or "mutex_counter" in line) and any(m in line for m in FIGURES)
                   for line in rows)
    # the command detects as these --no-confirm nightlies did: it shows what the newest one raised
    shown = {tuple(line.split()[3:5]) for line in rows if line.split()[4] in FIGURES}
    assert shown == {(a["impl"], a["metric"]) for a in figures(alerts_of(runs[-1]))}, r.stdout
    assert any(line.startswith("Minimum detectable change over") for line in lines)
