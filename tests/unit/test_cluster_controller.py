"""The fleet controller's bookkeeping with a fake Dask client: retries stored whole, lost cases, refusals, stops."""

from __future__ import annotations

import json
import os
import signal

import pytest

from harness.cluster.controller import ClusterRun
from harness.cluster.identity import Expectation, differences
from harness.cluster.units import _Host
from harness.console import Console
from harness.engine.host import status_result
from harness.engine.local import make_plan
from harness.engine.recorder import Recorder
from harness.host.info import git_commit
from harness.measure.interrupts import Interrupts


class FakeFuture:
    def __init__(self, answer=None, status="finished") -> None:
        self.answer, self.status = answer, status

    def done(self) -> bool:
        return True

    def result(self):
        return self.answer

    def release(self) -> None:
        pass

    def cancel(self, force=False) -> None:
        self.status = "cancelled"


@pytest.fixture
def controller(fixture_catalog, fake_executor, tmp_path):
    impls = fixture_catalog.select_impls(["fake/good", "fake/crash"])
    workloads = [fixture_catalog.workloads["http_server"], fixture_catalog.workloads["ping_pong"]]
    plan = make_plan(fixture_catalog, fake_executor, impls, workloads, profile="smoke", cpus=(0, 1),
                     results=tmp_path / "none")
    recorder = Recorder.start(plan, fixture_catalog, out=tmp_path / "run", console=Console(),
                              meta={"seed": 1, "cluster": {}})
    run = ClusterRun(plan, recorder, client=object(), expected=Expectation("a" * 40, "process", {}, (0, 1)),
                     ready={}, address="tcp://scheduler:8786", console=Console(), timeout=None)
    return run


def stored(run: ClusterRun) -> dict:
    run.recorder.store.flush()
    data = json.loads((run.recorder.store.out / "run.json").read_text())
    return {(c["impl"], c["workload"], c["case"]): c for c in data["cases"]}


def item(spec, host: str) -> dict:
    return {"result": status_result(spec, "crashed", f"measured on {host}").to_dict(), "provenance": {}, "spec": None}


def http_unit(run: ClusterRun):
    unit = next(u for u in run.units.values() if u.http and len(u.cases) > 2)
    run.pending.remove(unit)
    run.inflight[unit.index] = unit
    return unit


def test_ctrl_c_while_a_finished_unit_is_stored_keeps_the_whole_unit(controller, monkeypatch):
    """The console prints each case of a finished unit as it is stored: a Ctrl-C seen after the first line
    stops the run once the unit is stored, and none of its cases is `interrupted`."""
    unit = http_unit(controller)
    controller._started(unit, "h1")
    record = controller.recorder.record

    def record_then_ctrl_c(measured, host=""):
        record(measured, host)
        os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(controller.recorder, "record", record_then_ctrl_c)
    unit.future = FakeFuture({"host": "h1", "results": [item(s, "h1") for s in unit.cases], "busy": 0.0})
    with Interrupts(), pytest.raises(KeyboardInterrupt):
        controller._collect()
    monkeypatch.setattr(controller.recorder, "record", record)
    controller.stop("interrupted")
    cases = stored(controller)
    assert {cases[(s.impl, s.workload, s.case)]["error"] for s in unit.cases} == {"measured on h1"}


def test_a_retried_unit_is_stored_whole_from_the_host_that_finished_it(controller):
    unit = http_unit(controller)
    controller._started(unit, "h1")
    for spec in unit.cases[:3]:  # h1 finishes three phases, then dies
        controller._reported(unit, item(spec, "h1"), "h1")
    assert not set(controller.recorder.recorded) & {s.key for s in unit.cases}  # nothing stored before it settles
    controller._started(unit, "h2")  # Dask starts it again on h2
    controller._reported(unit, item(unit.cases[0], "h1"), "h1")  # a late word of the first attempt
    unit.future = FakeFuture({"host": "h2", "results": [item(s, "h2") for s in unit.cases], "busy": 0.0})
    controller._collect()
    cases = stored(controller)
    mine = [cases[(s.impl, s.workload, s.case)] for s in unit.cases]
    assert {c["host"] for c in mine} == {"h2"} and {c["error"] for c in mine} == {"measured on h2"}


def test_lost_cases_name_the_hosts_that_died_not_the_one_that_started_it_third(controller):
    unit = http_unit(controller)
    unit.future = FakeFuture(status="pending")
    unit.future.done = lambda: False
    controller._started(unit, "h1")
    controller._reported(unit, item(unit.cases[0], "h1"), "h1")
    controller._started(unit, "h3")
    controller._reported(unit, item(unit.cases[0], "h3"), "h3")
    controller._started(unit, "h2")  # a third start: the unit is lost, h2 stays up
    cases = [stored(controller)[(s.impl, s.workload, s.case)] for s in unit.cases]
    assert {c["status"] for c in cases} == {"lost"}
    assert {c["host"] for c in cases} == {"h3"} and {tuple(c["lost_hosts"]) for c in cases} == {("h1", "h3")}
    assert all("host h1 went away" in c["error"] and "host h3" in c["error"] and "h2" not in c["error"]
               for c in cases)
    assert unit.index not in controller.inflight


def test_a_stopped_run_keeps_the_attempt_in_flight_and_lists_the_rest_as_not_run(controller):
    unit = http_unit(controller)
    controller._started(unit, "h1")
    controller._reported(unit, item(unit.cases[0], "h1"), "h1")
    controller.stop("lost the connection to the scheduler")
    controller.recorder.not_run("the run stopped before it (lost the connection to the scheduler)")
    outcome = controller.recorder.finish("interrupted", "lost the connection to the scheduler")
    cases = stored(controller)
    first, *rest = [cases[(s.impl, s.workload, s.case)] for s in unit.cases]
    assert (first["status"], first["host"]) == ("crashed", "h1")
    assert {c["status"] for c in rest} == {"interrupted"} and "on host h1" in rest[0]["error"]
    others = [c for k, c in cases.items() if k not in {(s.impl, s.workload, s.case) for s in unit.cases}]
    assert others and {c["status"] for c in others} <= {"not_run", "unsupported", "skipped"}
    assert "not_run" in {c["status"] for c in others}
    assert len(cases) == len(controller.plan.cases)
    assert not [r for r in outcome.results if r.status == "not_run"]  # run.json only, not the terminal's tables


def test_every_refusal_is_recorded_in_run_json(controller):
    host = _Host("tcp://10.0.0.4:4000", "h4")
    controller.hosts[host.address] = host
    host.future = FakeFuture({"refused": "its checkout has uncommitted changes"})
    controller._collect()
    meta = json.loads((controller.recorder.store.out / "run.json").read_text())
    assert meta["refused_hosts"] == [{"host": "h4", "address": "tcp://10.0.0.4:4000", "role": "bench",
                                      "reason": "its checkout has uncommitted changes"}]
    assert host.state == "refused"


def test_a_host_with_uncommitted_changes_is_refused(tmp_path):
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a.txt").write_text("one")
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "commit.gpgsign=false", "commit", "-qm", "x"], cwd=tmp_path, check=True, env=env)
    git = git_commit(tmp_path)
    expected = Expectation(git["commit"], "process", {}, (0,))
    assert differences(expected, git["commit"], git["commit"], {}, [0], git["dirty"]) == []
    (tmp_path / "a.txt").write_text("two")
    git = git_commit(tmp_path)
    why = differences(expected, git["commit"], git["commit"], {}, [0], git["dirty"])
    assert len(why) == 1 and "uncommitted changes" in why[0]
