"""The plan: case specifications and results as JSON values, `cmbench plan`, and `run --plan`."""

import json

import pytest

from cmbench.cli import main
from harness.engine.local import check_plan, make_plan, run_plan
from harness.errors import UserError
from harness.kinds import KINDS, plan_cases, result_from_dict
from harness.kinds.base import PlanContext
from harness.kinds.server.detail import LoadSummary, PhaseDetail
from harness.kinds.server.idle import IdleMeasurement
from harness.kinds.server.loadgen import Latency, LoadResult, SocketErrors
from harness.kinds.server.settle import Settled
from harness.measure.memory import MemoryPeaks, TreeMemory
from harness.measure.outcome import CaseKey, CaseResult, Iteration, ProcessRun
from harness.measure.process import Rusage
from harness.plan.spec import CaseSpec, Plan


def round_trip(value):
    return json.loads(json.dumps(value))


@pytest.fixture
def plan(fixture_catalog, fake_executor, tmp_path):
    impls = fixture_catalog.select_impls(["fake/good"])
    return make_plan(fixture_catalog, fake_executor, impls, list(fixture_catalog.workloads.values()),
                     profile="smoke", cpus=(0, 1), results=tmp_path / "none")


def test_every_kind_plans_specs_that_round_trip(plan):
    kinds = {s.kind for s in plan.cases}
    assert kinds == set(KINDS) == {"batch", "server"}
    for spec in plan.cases:
        assert CaseSpec.from_dict(round_trip(spec.to_dict())) == spec
    assert Plan.from_dict(round_trip(plan.to_dict()), "plan") == plan


def test_a_spec_says_what_runs_and_where(plan):
    by_case = {(s.workload, s.case): s for s in plan.cases}
    pp = by_case[("ping_pong", "roundtrips=2000")]
    assert pp.command == ("fake", "fake/good", "ping_pong", "--roundtrips", "2000", "--warmups", "1",
                          "--iterations", "3", "--cpus", "2")
    assert (pp.processes, pp.warmups, pp.iterations, pp.cpus) == (1, 1, 3, (0, 1))  # smoke: 1 x (1 + 3)
    atomic = by_case[("mutex_counter", "threads=2,increments=1000,mode=atomic")]
    assert atomic.status == "unsupported" and atomic.reason == "fixture declares atomic unsupported"
    closed = by_case[("http_server", "closed,connections=4")]
    assert closed.cpus == (0,) and closed.load_cpus == (1,) and "{port}" in closed.command
    assert closed.params == {"phase": "closed", "connections": 4, "min_duration": 2.0, "max_duration": 2.0,
                             "warmup": 1.0}
    idle = by_case[("http_server", "idle,connections=20")]
    assert idle.params == {"phase": "idle", "connections": 20, "hold": 7.0}


def _batch_result():
    its = (Iteration(0, True, 0.5, {}), Iteration(1, False, 0.25, {"stack_bytes": 8192}))
    ru = Rusage(0.1, 0.02, 12 << 20, 7, 1)
    return CaseResult(CaseKey("ping_pong", "roundtrips=2000", "fake/good", "default"), "fake", "good",
                      {"roundtrips": 2000, "cpus": 2, "executor": "fake"}, "ok", operations=2000,
                      processes=(ProcessRun(its, ru, 0.9, 0),), baseline=Rusage(0.01, 0.0, 5 << 20, 2, 0),
                      seconds=1.5, kind="batch")


def _server_results():
    load = LoadResult("oha", ("oha", "-q", "100"), 5000, 5.000123, SocketErrors(1, 0, 0, 0, {"reset": 2}), 0,
                      Latency(1e-4, 2e-4, 3e-4, 4e-4, 9e-3), {"encoding": "HISTFAAA", "count": 5000},
                      cpu=1.234567, wall=5.5)
    ru = Rusage(1.0, 0.5, 30 << 20, 900, 12)
    key = CaseKey("http_server", "open,rate=0.5", "fake/server", "default")
    open_ = CaseResult(key, "fake", "server", {"phase": "open", "rate": 0.5, "target_qps": 1000.0}, "ok",
                       operations=6000, processes=(ProcessRun((), ru, 7.0, 4096),), baseline=ru, seconds=8.25,
                       kind="server", flags=("achieved 999 req/s of the 1000 req/s asked",),
                       detail=PhaseDetail("open", 6000, (1.5, 1.0, 0.5), 0, load=load,
                                          primer=LoadSummary(800, 1.0), warmup=None, loadgen_cpu=0.4,
                                          target_qps=1000.0))
    idle = CaseResult(CaseKey("http_server", "idle,connections=20", "fake/server", "default"), "fake", "server",
                      {"phase": "idle", "connections": 20}, "ok", kind="server",
                      detail=PhaseDetail("idle", 120, idle=IdleMeasurement(20, TreeMemory(2 << 20, 1 << 20, 2),
                                                                           TreeMemory(3 << 20, 2 << 20, 2), 0.0123),
                                         peak_memory=MemoryPeaks(3 << 20, 2 << 20, 4)))
    startup = CaseResult(CaseKey("http_server", "startup", "fake/server", "default"), "fake", "server",
                         {"phase": "startup", "runs": 5}, "ok", kind="server",
                         detail=PhaseDetail("startup", 5, startup_seconds=(0.01, 0.012, 0.011, 0.02, 0.013)))
    settled = Settled("settled", 7.0, (9000.0, 9100.0, 9050.0), 3, 0.05)
    closed_load = LoadResult("wrk", ("wrk",), 64000, 7.0, SocketErrors(), 0, Latency(1e-4, 2e-4, 3e-4, 4e-4, 9e-3,
                             2e-4), None, cpu=6.9, wall=7.1, pipeline=16, bytes=8_000_000, settled=settled)
    bound = CaseResult(CaseKey("http_server", "pipelined,connections=4", "fake/server", "default"), "fake", "server",
                       {"phase": "pipelined", "connections": 4, "pipeline": 16}, "ok", kind="server",
                       flags=("load-generator bound: wrk kept 97% of its 1 CPU(s) busy",),
                       detail=PhaseDetail("pipelined", 64000, load=closed_load, loadgen_cpu=0.97, bound=True,
                                          ceiling_qps=9500.0, probe_qps=3000.0))
    failed = CaseResult(key, "fake", "server", {"phase": "open"}, "crashed", "the server exited", kind="server")
    return [open_, idle, startup, bound, failed]


@pytest.mark.parametrize("result", [_batch_result(), *_server_results()], ids=lambda r: f"{r.kind}-{r.status}")
def test_every_kind_of_result_round_trips(result):
    back = result_from_dict(round_trip(result.to_dict()))
    assert back == result


def test_a_result_of_another_version_is_refused():
    d = _batch_result().to_dict()
    d["schema"] = 99
    with pytest.raises(UserError, match="schema 99"):
        result_from_dict(d)


def test_plan_json_is_what_scripts_read(fixture_root, capsys):
    assert main(["--root", str(fixture_root), "plan", "--impl", "fake/good", "--workload", "ping_pong",
                 "--profile", "smoke", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    case = data["cases"][0]
    assert {"workload", "case", "impl", "variant", "command"} <= set(case)
    assert isinstance(case["command"], list) and case["command"][-1] == "--cpus" or case["command"][-2] == "--cpus"


def test_plan_table_ends_with_count_and_estimate(fixture_root, capsys):
    assert main(["--root", str(fixture_root), "plan", "--impl", "fake/good", "--profile", "smoke"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("9 cases (8 measured), profile smoke, executor native: about ")
    assert any("fake_impl.py good ping_pong --roundtrips 2000" in line for line in out)
    assert any("UNSUPPORTED: fixture declares atomic unsupported" in line for line in out)


def test_run_executes_exactly_a_saved_plan(fixture_root, tmp_path, capsys):
    assert main(["--root", str(fixture_root), "plan", "--impl", "fake/good", "--workload", "ping_pong,mutex_counter",
                 "--profile", "smoke", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    plan["cases"] = plan["cases"][1:]  # a subset: re-run only some cases
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    out = tmp_path / "run"
    assert main(["--root", str(fixture_root), "run", "--plan", str(path), "--out", str(out)]) == 0
    run = json.loads((out / "run.json").read_text())
    assert [(c["workload"], c["case"]) for c in run["cases"]] == [(c["workload"], c["case"]) for c in plan["cases"]]
    ok = [c for c in run["cases"] if c["status"] == "ok"]
    assert ok and all(c["command"] == c["spec"]["command"] for c in ok)
    assert next(c for c in plan["cases"] if c["status"] == "")["command"] == ok[0]["command"]


def test_the_next_plan_estimates_from_the_stored_run(fixture_catalog, fake_executor, tmp_path):
    from harness.console import Console

    impls = fixture_catalog.select_impls(["fake/good"])
    workloads = fixture_catalog.select_workloads(["ping_pong"])
    first = make_plan(fixture_catalog, fake_executor, impls, workloads, profile="smoke", cpus=(0,),
                      results=tmp_path)
    assert first.cases[0].estimate_from == "profile"
    with open(tmp_path / "console.txt", "w") as stream:
        outcome = run_plan(first, fixture_catalog, fake_executor, out=tmp_path / "r1", console=Console(stream))
    again = make_plan(fixture_catalog, fake_executor, impls, workloads, profile="smoke", cpus=(0,),
                      results=tmp_path)
    stored = json.loads((tmp_path / "r1" / "run.json").read_text())
    assert again.cases[0].estimate_from == stored["run_id"]
    assert again.cases[0].estimate == pytest.approx(outcome.results[0].seconds, abs=1e-3)


@pytest.mark.parametrize("edit, message", [
    (lambda p: p["cases"][0].update(command=["rm", "-rf", "/"]), "has command"),
    (lambda p: p["cases"][0].update(impl="fake/nope"), "has no implementation 'fake/nope'"),
    (lambda p: p["cases"][0].update(case="roundtrips=3"), "is no longer planned"),
])
def test_a_stale_or_edited_plan_is_refused(fixture_catalog, fake_executor, edit, message):
    ctx = PlanContext("smoke", (0,), fake_executor)
    specs = plan_cases(ctx, fixture_catalog.select_impls(["fake/good"]), fixture_catalog.select_workloads(
        ["ping_pong"]))
    data = round_trip(Plan("smoke", "fake", (0,), tuple(specs)).to_dict())
    edit(data)
    with pytest.raises(UserError, match=message):
        check_plan(Plan.from_dict(data, "plan.json"), fixture_catalog, fake_executor)


@pytest.mark.parametrize("text, message", [
    ("{", "not a JSON plan"),
    ('{"cases": []}', "plan schema None"),
    ('{"schema": 1, "profile": "smoke", "executor": "native", "cpus": [0], "cases": []}', "has no cases"),
    ('{"schema": 1, "profile": "smoke", "executor": "native", "cpus": [0], "cases": [{"schema": 1, "colour": 1}]}',
     "unknown field 'colour'"),
])
def test_bad_plan_files_are_one_line_errors(fixture_root, tmp_path, capsys, text, message):
    path = tmp_path / "plan.json"
    path.write_text(text)
    assert main(["--root", str(fixture_root), "run", "--plan", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_plan_and_selection_flags_do_not_mix(fixture_root, tmp_path, capsys):
    path = tmp_path / "plan.json"
    path.write_text("{}")
    assert main(["--root", str(fixture_root), "run", "--plan", str(path), "--impl", "fake/good"]) == 2
    assert "drop --impl" in capsys.readouterr().err


def test_a_spec_carries_what_its_kind_resolved(plan, fixture_catalog):
    """A server phase runs its profile's settings from the spec; running it never looks the profile up again."""
    closed = next(s for s in plan.cases if s.workload == "http_server" and s.params.get("phase") == "closed")
    profile = fixture_catalog.workloads["http_server"].servers["smoke"]
    assert closed.settings == round_trip(profile.as_settings())
    assert type(profile).from_settings(round_trip(closed.settings)) == profile


def test_a_calibrated_spec_carries_the_bounds_of_its_search(fixture_catalog, fake_executor, tmp_path):
    impls = fixture_catalog.select_impls(["fake/good"])
    quick = make_plan(fixture_catalog, fake_executor, impls, fixture_catalog.select_workloads(["ping_pong"]),
                      profile="quick", cpus=(0,), results=tmp_path / "none")
    calibrated = [s for s in quick.cases if s.calibrate]
    assert calibrated
    verify = fixture_catalog.workloads["ping_pong"].cases_for("verify")
    for s in calibrated:
        written = next(c for c in fixture_catalog.workloads["ping_pong"].cases_for("quick") if c.label == s.case)
        assert s.settings == {"size_from": min(c.as_dict()[s.calibrate] for c in verify),
                              "size_cap": 10 * written.as_dict()[s.calibrate]}


def test_a_saved_plan_of_an_older_schema_gets_its_settings_when_checked(plan, fixture_catalog, fake_executor):
    data = round_trip(plan.to_dict())
    data["schema"] = 3
    for c in data["cases"]:
        c["schema"] = 2
        del c["settings"]
    old = Plan.from_dict(data, "plan.json")
    assert all(not s.settings for s in old.cases)
    checked = check_plan(old, fixture_catalog, fake_executor)
    assert [s.settings for s in checked.cases] == [s.settings for s in plan.cases]
    assert [s.command for s in checked.cases] == [s.command for s in plan.cases]


def test_run_options_are_one_value():
    from pathlib import Path

    from harness.engine.local import RunOptions

    options = RunOptions(out=Path("/r/run"), seed=3).with_fields(argv=["cmbench", "run"])
    assert options.argv == ("cmbench", "run") and options.results_dir == Path("/r")
    assert RunOptions(results=Path("/x")).results_dir == Path("/x")
    with pytest.raises(TypeError):
        options.with_fields(colour=1)
