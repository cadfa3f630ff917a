"""Deliberately broken implementations, run as real processes through the CLI."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ..conftest import startup_then_ping_pong_plan

pytestmark = pytest.mark.integration


def cmbench(fixture_root, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "cmbench", "--root", str(fixture_root), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_faults_become_statuses_and_the_run_exits_1(fixture_root, tmp_path):
    out = tmp_path / "run"
    r = cmbench(fixture_root, "run", "--profile", "smoke", "--workload", "ping_pong", "--timeout", "3",
                "--impl", "fake/good,fake/crash,fake/hang,fake/wrong,fake/garbage,fake/notool,fake/badbuild",
                "--out", str(out))
    assert r.returncode == 1, r.stderr
    cases = {c["impl"]: c for c in json.loads((out / "run.json").read_text())["cases"]}
    assert {k: c["status"] for k, c in cases.items()} == {
        "fake/good": "ok", "fake/crash": "crashed", "fake/hang": "timeout", "fake/wrong": "verify_failed",
        "fake/garbage": "verify_failed", "fake/notool": "skipped", "fake/badbuild": "build_failed"}
    assert "exit status 3" in cases["fake/crash"]["error"]
    assert "no result after 3 s" in cases["fake/hang"]["error"]
    for needle in ("CRASHED", "TIMEOUT", "VERIFY_FAILED", "BUILD FAILED", "skip fake/notool"):
        assert needle in r.stderr
    assert "ping_pong [roundtrips=2000]" in r.stdout  # the table still prints the good case


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "fake_impl.py hang" in line]


def _run_until_hanging(fixture_root, impls: str, out, plan=None) -> subprocess.Popen:
    """Start `cmbench run` (smoke's ping_pong, or `plan`) and return once the hanging fixture is running."""
    what = ["--plan", str(plan)] if plan else ["--profile", "smoke", "--workload", "ping_pong", "--impl", impls,
                                               "--timeout", "600"]
    proc = subprocess.Popen([sys.executable, "-m", "cmbench", "--root", str(fixture_root), "run", *what,
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _descendants(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _descendants(proc.pid), "the hanging fixture never started"
    return proc


def test_ctrl_c_reaps_children_and_keeps_finished_cases(fixture_root, tmp_path):
    out = tmp_path / "run"
    # The implementations of one case run interleaved, so a case finishes before the hang only in a unit of its
    # own: the good server's start-up phase (the hanging fixture serves no HTTP) runs first, then ping_pong hangs.
    impls = "fake/good,fake/hang"
    proc = _run_until_hanging(fixture_root, impls, out, startup_then_ping_pong_plan(fixture_root, impls,
                                                                                     tmp_path / "plan.json"))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    time.sleep(0.2)
    assert _descendants(proc.pid) == []
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "interrupted"
    good = [c for c in run["cases"] if c["impl"] == "fake/good"]
    assert good and "ok" in {c["status"] for c in good if c["workload"] == "http_server"}
    # a signal that lands once ping_pong's unit measures keeps the good program's process where it ran before the
    # hang (smoke runs one), and stores the hang as `interrupted`
    assert all(c["status"] in ("ok", "not_run") for c in good if c["workload"] == "ping_pong"), good
    hang = {c["status"] for c in run["cases"] if c["impl"] == "fake/hang"}
    assert hang and hang <= {"interrupted", "not_run"}, run["cases"]  # every planned case is listed
    assert (out / "results.csv").read_text().count("fake/good") > 0


def test_sigterm_is_handled_like_ctrl_c(fixture_root, tmp_path):
    out = tmp_path / "run"
    proc = _run_until_hanging(fixture_root, "fake/hang", out)
    os.kill(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    time.sleep(0.2)
    assert _descendants(proc.pid) == []
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
