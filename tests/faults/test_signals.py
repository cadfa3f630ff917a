"""Stopping the harness: Ctrl-C, SIGTERM, SIGHUP, a flurry of Ctrl-C, and SIGKILL.

The run is stopped while a program hangs with a child that ignores SIGTERM and a grandchild
in its own session; afterwards none of them may be running.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from ..conftest import startup_then_ping_pong_plan
from .conftest import (
    FAULT_ROOT,
    assert_none_left,
    cases_by_impl,
    cmbench,
    fault,
    impls,
    start_cmbench,
    wait_for_process,
)

pytestmark = pytest.mark.integration


def _start_hanging(out, name: str):
    """`cmbench run` of a good program, then one that hangs with its family; returns once the family runs.

    The implementations of one case run interleaved, so the good one finishes first only in a unit of
    its own: its server's start-up phase (the hanging program serves no HTTP), then ping_pong hangs.
    """
    plan = startup_then_ping_pong_plan(FAULT_ROOT, impls(["good", "hang_family"]), out.parent / f"{name}.plan.json")
    proc, tmpdir = start_cmbench("run", "--plan", str(plan), "--out", str(out), name=name)
    wait_for_process("faulty.py hang_family", tmpdir)
    time.sleep(0.5)  # its child and grandchild
    return proc, tmpdir


def _stopped_cleanly(proc, tmpdir, out, codes=(130,)) -> str:
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in codes, err
    assert "Traceback" not in err and "interrupted" in err, err
    assert_none_left(tmpdir)
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "interrupted", err
    _kept_the_good_server(out)
    assert "fault/good" in (out / "results.csv").read_text()
    listed = {(c["workload"], c["impl"]) for c in run["cases"]}  # every planned case, run or not
    assert listed >= {("ping_pong", "fault/good"), ("ping_pong", "fault/hang_family")}, run["cases"]
    return err


def _kept_the_good_server(out) -> None:
    """The good server's start-up phase, finished before the hang. The hang comes in ping_pong's verification; a
    signal that lands once its unit measures keeps the good program's one process (smoke's fixed count) where it
    ran, and stores the hang as `interrupted` (or `not_run`, when the signal came before its unit began)."""
    cases = cases_by_impl(out)
    good = [c for c in cases["fault/good"] if c["status"] != "not_run"]  # a stopped run lists what it did not begin
    assert {c["status"] for c in good} == {"ok"} and {c["workload"] for c in good} <= {"http_server", "ping_pong"}
    assert "http_server" in {c["workload"] for c in good}, good
    assert all(c["extra"]["stop"] == "fixed" for c in good if c["workload"] == "ping_pong"), good
    assert {c["status"] for c in cases.get("fault/hang_family", [])} <= {"interrupted", "not_run"}, cases


@fault("ctrl-c", "sigterm", "sighup")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_reaps_every_descendant_and_keeps_finished_cases(tmp_path, sig):
    out = tmp_path / "run"
    proc, tmpdir = _start_hanging(out, sig.name)
    proc.send_signal(sig)
    _stopped_cleanly(proc, tmpdir, out)


@fault("repeated-ctrl-c")
def test_a_flurry_of_ctrl_c_leaves_no_traceback_and_a_finished_run_json(tmp_path):
    out = tmp_path / "run"
    proc, tmpdir = _start_hanging(out, "flurry")
    for _ in range(40):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.005)
    # a Ctrl-C that lands after cmbench finished, while Python shuts down, ends it by SIGINT: a shell
    # reports that as 130 too
    _stopped_cleanly(proc, tmpdir, out, codes=(130, -signal.SIGINT))


@fault("harness-killed")
def test_sigkill_of_the_harness_takes_its_children_along_and_the_next_run_marks_it_abandoned(tmp_path):
    out = tmp_path / "killed"
    proc, tmpdir = _start_hanging(out, "sigkill")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert_none_left(tmpdir)  # rusage-exec noticed its parent die (PR_SET_PDEATHSIG) and stopped everything
    left = json.loads((out / "run.json").read_text())
    assert left["status"] == "running" and left["harness"]["pid"] == proc.pid
    _kept_the_good_server(out)

    r = cmbench("run", "--profile", "smoke", "--workload", "ping_pong", "--impl", impls(["good"]),
                "--out", str(tmp_path / "next"), name="next")
    assert r.returncode == 0, r.stderr
    assert f"{out}: marked abandoned: its harness, pid {proc.pid}" in r.stderr
    after = json.loads((out / "run.json").read_text())
    assert after["status"] == "abandoned" and after["abandoned"]["why"].startswith("its harness")
    assert after["cases"] == left["cases"]
    assert json.loads((tmp_path / "next" / "run.json").read_text())["status"] == "complete"
