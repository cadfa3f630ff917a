"""Broken HTTP servers: crashed at start, dead under load, daemonised, never ready, flooding stderr."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from harness.kinds.server.loadgen import find_tool
from harness.measure.process import OUTPUT_LIMIT, RunningChild, child_env

from .conftest import FAULT_ROOT, assert_none_left, cases_by_impl, cmbench, fault, impls, marker

pytestmark = pytest.mark.integration

# impl model -> (fault kind, status, a piece of the error)
EXPECTED = {
    "server_crash_at_start": ("server-crashes-at-start", "crashed", "exited before printing its ready line"),
    "server_daemonises": ("server-daemonises", "crashed", "exited before printing its ready line"),
    "server_never_ready": ("server-never-ready", "timeout", "printed no ready line within 5 s"),
    "server_floods_stderr": ("server-floods-stderr", "crashed", f"printed more than {OUTPUT_LIMIT} bytes"),
}


def _needs_two_cpus() -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("the server kind needs 2 CPUs: one for the server, one for the load generator")


@pytest.fixture(scope="module")
def server_run(tmp_path_factory):
    _needs_two_cpus()
    out = tmp_path_factory.mktemp("server") / "run"
    r = cmbench("run", "--profile", "smoke", "--workload", "http_server", "--timeout", "5", "--impl",
                impls([*EXPECTED, "good"]), "--out", str(out), name="server")
    return r, cases_by_impl(out)


@fault(*(kind for kind, _, _ in EXPECTED.values()))
@pytest.mark.parametrize("model", list(EXPECTED))
def test_each_broken_server_fails_its_cases(server_run, model):
    r, cases = server_run
    kind, status, needle = EXPECTED[model]
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    for case in cases[f"fault/{model}"]:
        assert case["status"] == status, case
        assert needle in case["error"], case["error"]


def test_the_good_server_still_runs_every_phase(server_run):
    _, cases = server_run
    assert {c["status"] for c in cases["fault/good"]} <= {"ok", "skipped"}  # skipped: oha missing


@fault("server-dies-under-load")
def test_a_server_that_dies_under_load_is_crashed_and_the_run_goes_on(tmp_path):
    _needs_two_cpus()
    if find_tool("wrk") is None:
        pytest.skip("wrk is needed to load the server")
    out = tmp_path / "run"
    r = cmbench("run", "--profile", "smoke", "--workload", "http_server", "--timeout", "30", "--impl",
                impls(["server_dies_under_load"]), "--out", str(out), name="dies")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    cases = cases_by_impl(out)["fault/server_dies_under_load"]
    crashed = [c for c in cases if c["status"] == "crashed"]
    assert crashed and "the server exited (status 3)" in crashed[0]["error"], cases
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


@fault("server-exits-on-its-own")
def test_alive_is_false_once_a_server_exits_on_its_own():
    """RunningChild.alive() after an exit: a plain answer, not an exception (os.waitid's result has 5 fields)."""
    tmpdir = marker("alive")
    child = RunningChild([sys.executable, "-c", "print('bye')"], cwd=FAULT_ROOT,
                         env=child_env({"TMPDIR": str(tmpdir)}), cpus=None)
    assert child.read_line(10) == "bye\n"
    deadline = time.monotonic() + 10
    while child.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not child.alive()
    result = child.stop()
    assert result.returncode == 0 and not child.alive()
    assert_none_left(tmpdir)
