import csv
import io
import json

import pyperf
import pytest

from harness.console import Console
from harness.engine.local import run_cases, verify_impls
from harness.kinds.batch.kind import UNKNOWN_FLAG
from harness.store.run import RESULTS_COLUMNS, RUN_SCHEMA
from tests.conftest import FakeExecutor


def run(catalog, executor, tmp_path, impls, workloads=("ping_pong", "mutex_counter")):
    with open(tmp_path / "console.txt", "a") as stream:
        return run_cases(catalog, executor, catalog.select_impls(impls), catalog.select_workloads(workloads),
                         profile="smoke", cpus=(0,), out=tmp_path / "run", console=Console(stream=stream))


def statuses(outcome):
    return {(r.key.impl, r.key.workload, r.key.case): r.status for r in outcome.results}


def test_good_run_stores_every_metric(fixture_catalog, fake_executor, tmp_path):
    outcome = run(fixture_catalog, fake_executor, tmp_path, ["fake/good"])
    assert not outcome.failed and not outcome.interrupted
    assert set(statuses(outcome).values()) == {"ok", "unsupported"}
    with open(tmp_path / "run" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == RESULTS_COLUMNS
    metrics = {r["metric"] for r in rows}
    assert {"wall_time", "throughput", "peak_rss", "cpu_user", "cpu_system", "ctx_switches_voluntary",
            "ctx_switches_involuntary", "ctx_switches_voluntary_per_op", "ctx_switches_involuntary_per_op",
            "cpu_time_per_op", "startup_peak_rss", "harness_overhead"} <= metrics
    walls = [r for r in rows if r["metric"] == "wall_time" and r["workload"] == "ping_pong"]
    assert len(walls) == 1 * 3  # smoke: 1 process x 3 measured iterations
    # per-op switches subtract the baseline: the fake reports 5 + N; (8 - 5) over (1 + 3) x 2000 round trips
    per_op = [float(r["value"]) for r in rows if r["metric"] == "ctx_switches_voluntary_per_op"
              and r["workload"] == "ping_pong"]
    assert per_op == [pytest.approx(3 / (4 * 2000))]
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_json["schema"] == RUN_SCHEMA == 6 and run_json["status"] == "complete"
    assert run_json["interleave"] == "run"
    assert run_json["profile"] == "smoke" and run_json["toolchains"]["fake/good"] == "fake 1.0"
    unsupported = [c for c in run_json["cases"] if c["status"] == "unsupported"]
    assert unsupported[0]["error"] == "fixture declares atomic unsupported"
    suite = pyperf.BenchmarkSuite.load(str(tmp_path / "run" / "samples.wall_time.pyperf.json"))
    names = suite.get_benchmark_names()
    assert names and all(n.endswith("wall_time") for n in names)
    assert not (tmp_path / "run" / "samples.pyperf.json").exists()


def test_every_fault_is_a_status_and_others_still_run(fixture_catalog, fake_executor, tmp_path):
    impls = ["fake/good", "fake/crash", "fake/hang", "fake/wrong", "fake/garbage", "fake/notool", "fake/badbuild"]
    outcome = run(fixture_catalog, fake_executor, tmp_path, impls, workloads=["ping_pong"])
    by_impl = {impl: status for (impl, _, _), status in statuses(outcome).items()}
    assert by_impl == {"fake/good": "ok", "fake/crash": "crashed", "fake/hang": "timeout",
                       "fake/wrong": "verify_failed", "fake/garbage": "verify_failed", "fake/notool": "skipped",
                       "fake/badbuild": "build_failed"}
    errors = {c["impl"]: c["error"] for c in json.loads((tmp_path / "run" / "run.json").read_text())["cases"]}
    assert "deliberate crash" in errors["fake/crash"]
    assert "wrong roundtrips" in errors["fake/wrong"]
    assert "not JSON" in errors["fake/garbage"]
    assert "install the imaginary toolchain" in errors["fake/notool"]
    assert "compile error" in errors["fake/badbuild"]
    assert len(outcome.failed) == 5  # skipped is not a failure


def test_verify_failure_skips_measurement(fixture_catalog, fake_executor, tmp_path):
    run(fixture_catalog, fake_executor, tmp_path, ["fake/wrong"], workloads=["ping_pong"])
    # one verify case (with its baseline), then nothing measured
    assert len(fake_executor.calls) == 2
    assert all("100" in call[2] for call in fake_executor.calls)  # the verify size


def test_existing_run_folder_is_refused(fixture_catalog, fake_executor, tmp_path):
    from harness.errors import UserError

    run(fixture_catalog, fake_executor, tmp_path, ["fake/good"], workloads=["ping_pong"])
    with pytest.raises(UserError, match="already holds a run"):
        run(fixture_catalog, fake_executor, tmp_path, ["fake/good"], workloads=["ping_pong"])


def test_a_run_with_reference_measurements_records_the_host_s_steadiness(fixture_catalog, fake_executor, tmp_path,
                                                                         monkeypatch):
    from harness.engine import local
    from harness.host.drift import HostDrift
    from harness.host.oscosts import ReferenceMeasurements
    from harness.kinds.batch import kind as batch_kind

    values = iter([1000, 1000, 1300, 1000, 1000] * 20)
    probes = []

    def fake_drift(cpu, other=None):
        d = HostDrift(cpu, other, run=lambda argv, c: (0, "".join(f"{next(values)}\n" for _ in range(5)), ""),
                      program=lambda: tmp_path / "reference-spawn")
        probes.append(d)
        return d
    monkeypatch.setattr(local, "HostDrift", fake_drift)
    monkeypatch.setattr(batch_kind, "measure_references", lambda cpu, other=None: ReferenceMeasurements(cpu, ()))
    with open(tmp_path / "console.txt", "a") as stream:
        run_cases(fixture_catalog, fake_executor, fixture_catalog.select_impls(["fake/good"]),
                  fixture_catalog.select_workloads(["ping_pong", "mutex_counter"]), profile="quick", cpus=(0,),
                  out=tmp_path / "run", console=Console(stream=stream), references=True)
    stored = json.loads((tmp_path / "run" / "run.json").read_text())["host_drift"]
    n = stored["n"]
    assert n >= 3 and stored["cpu"] == 0  # before each visit of the two units (one or more each), and at the end
    assert [v for _, v in stored["values"]] == [1000.0] * n and stored["steady"] is True
    assert f"host drift: the host's own thread hand-off on CPU 0, measured {n} times" in (
        tmp_path / "console.txt").read_text()


def test_a_run_without_reference_measurements_takes_no_probe(fixture_catalog, fake_executor, tmp_path):
    run(fixture_catalog, fake_executor, tmp_path, ["fake/good"])
    assert "host_drift" not in json.loads((tmp_path / "run" / "run.json").read_text())


class Lenient(FakeExecutor):
    """A program that ignores flags it does not know (and would ignore a parameter added later)."""

    def run(self, impl, variant, args, *, cpus, timeout):
        if tuple(args[-2:]) == UNKNOWN_FLAG:
            self.probes += 1
            args = args[:-2]
        return super().run(impl, variant, args, cpus=cpus, timeout=timeout)


@pytest.mark.parametrize("executor, status", [(FakeExecutor, "ok"), (Lenient, "verify_failed")])
def test_verify_asks_a_program_to_refuse_an_unknown_flag(fixture_catalog, executor, status):
    ex = executor()
    impls = fixture_catalog.select_impls(["fake/good"])
    _, results = verify_impls(fixture_catalog, ex, impls, fixture_catalog.select_workloads(["ping_pong"]), cpus=(0,),
                              console=Console(stream=io.StringIO()))
    assert [r.status for r in results] == [status], results
    assert ex.probes == 1  # one per workload, default variant only
    if status != "ok":
        assert results[0].error.startswith("given an unknown flag (--no-such-flag 1) it exited with status 0; a "
                                           "workload, flag or value it does not know must be a usage error")
