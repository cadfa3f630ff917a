"""Calibrated sizes: the search, the store, and the environment fingerprint they are kept under."""

import itertools
import json

import pytest

from harness.errors import UserError
from harness.host.info import environment_fingerprint, local_environment
from harness.kinds.batch.calibrate import LONGEST, nice, search
from harness.measure.outcome import CaseFailure
from harness.store.calibration import Calibration, CalibrationStore, ShippedCalibrations


def fake_clock(step=0.5):
    ticks = itertools.count()
    return lambda: next(ticks) * step


def test_search_grows_then_scales_to_the_target_and_confirms_it():
    attempts = []

    def measure(n, iterations):
        attempts.append((n, iterations))
        return n * 1e-6  # one microsecond per operation

    found = search(measure, param="roundtrips", start=100, cap=10**7, target=0.1, clock=fake_clock())
    # x64 at most, then the ratio still missing, then close enough to scale; then three processes of three
    # iterations confirm
    assert attempts == [(100, 1), (6400, 1), (50000, 1), (100000, 3), (100000, 3), (100000, 3)]
    assert found.value == 100000 and found.iteration_seconds == pytest.approx(0.1)
    assert [n for n, _ in found.steps] == [n for n, _ in attempts] and found.seconds == 0.5
    assert [t for _, t in found.steps] == pytest.approx([1e-4, 6.4e-3, 0.05, 0.1, 0.1, 0.1])


def test_a_size_measured_before_the_runtime_warmed_up_is_scaled_again():
    def measure(n, iterations):  # a JIT: single iterations at small sizes run ten times slower
        return n * (1e-6 if iterations > 1 or n > 50000 else 1e-5)

    found = search(measure, param="items", start=100, cap=10**7, target=0.1, clock=fake_clock())
    assert [n for n, _ in found.steps] == [100, 5000] + [10000] * 3 + [100000] * 3
    assert found.value == 100000 and found.iteration_seconds == pytest.approx(0.1)


def test_a_case_with_a_slow_and_a_fast_mode_is_sized_by_its_median_process_within_ten_times_the_target():
    """Threads that land on two CPUs (slow) in some processes and on one (fast) in others: one process of the slow
    mode must not size every iteration of the fast mode to a thirtieth of the target, nor may the slow mode's
    iterations last more than `LONGEST` times it."""
    processes = itertools.count()

    def measure(n, iterations):  # every third process is 30 times slower per operation
        return n * (30e-6 if next(processes) % 3 == 1 else 1e-6)

    found = search(measure, param="roundtrips", start=100, cap=10**7, target=0.1, clock=fake_clock())
    assert found.value * 30e-6 <= LONGEST * 0.1  # the slow mode's iterations: ten times the target at most
    assert found.value * 1e-6 >= 0.1 / 3 * 0.9  # the fast mode's: a third of it, not a thirtieth
    assert found.iteration_seconds == pytest.approx(found.value * 30e-6 / LONGEST)


def test_modes_a_thousand_times_apart_keep_the_last_size_their_processes_ran():
    """A spinning hand-off (25 ns a round trip) in some processes and a sleeping one (30 us) in others, scripted as
    a JVM's ping_pong across two CPUs ran them: confirmations of all-slow then mixed processes send the size up and
    down; the search ends on a size its processes ran, whose slowest iterations last ten times the target at most."""
    fast, slow = 25e-9, 30e-6
    per_op = iter([2e-6, 2e-6, slow, slow, slow, fast, fast, slow, slow, slow, fast])

    def measure(n, iterations):
        return n * next(per_op)

    found = search(measure, param="roundtrips", start=1000, cap=10**6, target=0.05, clock=fake_clock())
    confirmations = [n for n, _ in found.steps[2:]]
    assert confirmations == [25000] * 3 + [1700] * 3 + [17000] * 3  # three rounds that disagree
    assert found.value == 17000  # the last measured, not scaled once more from it (to a million: 30 s iterations)
    assert max(t for n, t in found.steps if n == found.value) <= LONGEST * 0.05 * 1.3


def test_search_stops_at_the_cap_and_never_goes_below_the_start():
    fast = search(lambda n, i: n * 1e-8, param="p", start=100, cap=5000, target=0.1, clock=fake_clock())
    assert fast.value == 5000 and [n for n, _ in fast.steps] == [100, 5000, 5000, 5000, 5000]
    slow = search(lambda n, i: 2.0, param="p", start=100, cap=5000, target=0.1, clock=fake_clock())
    assert slow.value == 100 and [n for n, _ in slow.steps] == [100, 100, 100, 100]


@pytest.mark.parametrize("elapsed", [lambda n: 1e-6, lambda n: 2e-4 + n * 1e-10], ids=["constant", "setup only"])
def test_iterations_that_do_not_grow_with_the_work_fail_the_case(elapsed):
    with pytest.raises(CaseFailure, match=r"an iteration does not take longer with more work: p=100 took .*, "
                       r"p=50000 \(500x\) .*; elapsed_ns must time the iteration's work") as e:
        search(lambda n, i: elapsed(n), param="p", start=100, cap=50000, target=0.05, clock=fake_clock())
    assert e.value.status == "verify_failed"


def test_a_short_iteration_that_grows_with_the_work_is_sized_at_the_cap():
    """A fixed cost per iteration (threads started) with the work beside it: the time grows, if slowly."""
    found = search(lambda n, i: 2e-4 + n * 1e-8, param="p", start=100, cap=50000, target=0.05, clock=fake_clock())
    assert found.value == 50000


def test_a_failing_attempt_ends_the_search():
    def measure(n, iterations):
        raise RuntimeError("crashed")

    with pytest.raises(RuntimeError):
        search(measure, param="p", start=1, cap=10, target=0.1, clock=fake_clock())


@pytest.mark.parametrize("value, rounded", [(123456, 120000), (99.4, 99), (0.2, 1), (1950, 2000)])
def test_sizes_are_rounded_to_two_digits(value, rounded):
    assert nice(value) == rounded


def calibration(value=1000):
    return Calibration("roundtrips", value, 0.1, 0.09, ((100, 0.01), (1000, 0.09)), 1.5, "2026-01-01T00:00:00+00:00")


def test_store_keeps_other_environments_and_cases(tmp_path):
    store = CalibrationStore(tmp_path)
    assert store.sizes("env-a") == {}
    store.save("env-a", {"cpus": 2}, "ping_pong[r=1] go/goroutines", calibration(1000))
    store.save("env-b", {"cpus": 1}, "ping_pong[r=1] go/goroutines", calibration(2000))
    store.save("env-a", {"cpus": 2}, "ping_pong[r=1] c/pthreads", calibration(30))
    assert {k: c.value for k, c in store.sizes("env-a").items()} == {"ping_pong[r=1] go/goroutines": 1000,
                                                                     "ping_pong[r=1] c/pthreads": 30}
    assert store.sizes("env-b")["ping_pong[r=1] go/goroutines"] == calibration(2000)
    data = json.loads((tmp_path / "calibration.json").read_text())
    assert data["schema"] == 1 and data["environments"]["env-b"]["environment"] == {"cpus": 1}
    assert not list(tmp_path.glob(".calibration.json*"))  # written through a temporary file, renamed


def test_a_cluster_host_reads_the_shipped_copy_and_the_controller_stores_what_it_found(tmp_path):
    controller = CalibrationStore(tmp_path)
    controller.save("env-a", {"cpus": 2}, "ping_pong[r=1] go/goroutines", calibration(1000))
    host = ShippedCalibrations(json.loads(json.dumps(controller.environments())))  # as it crosses the wire
    assert host.sizes("env-a")["ping_pong[r=1] go/goroutines"].value == 1000
    host.save("env-a", {"cpus": 2}, "ping_pong[r=1] c/pthreads", calibration(30))
    assert host.sizes("env-a")["ping_pong[r=1] c/pthreads"].value == 30  # reused by the host's later units
    assert "c/pthreads" not in (tmp_path / "calibration.json").read_text()  # the host writes nothing
    found = json.loads(json.dumps(host.drain()))
    assert host.drain() == []
    controller.save_found(found)
    assert {k: c.value for k, c in controller.sizes("env-a").items()} == {"ping_pong[r=1] go/goroutines": 1000,
                                                                          "ping_pong[r=1] c/pthreads": 30}


def warnings(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("cmbench: warning: ")]


@pytest.mark.parametrize("content, why", [
    (b'{"schema": 1, "environments": {"env-a": {"siz', "not a calibration file (Unterminated string"),
    (b"\xff\xfe garbage", "not a calibration file ('utf-8' codec can't decode"),
    (b"", "not a calibration file (Expecting value"),
    (b'{"schema": 1}', "not a calibration file of schema 1"),
    (b'["schema", 1]', "not a calibration file of schema 1"),
])
def test_a_damaged_store_is_moved_aside_and_sizes_calibrate_again(tmp_path, capsys, content, why):
    path = tmp_path / "calibration.json"
    path.write_bytes(content)
    store = CalibrationStore(tmp_path)
    assert store.sizes("env-a") == {}
    [aside] = tmp_path.glob("calibration.json.corrupt-*")
    [warning] = warnings(capsys)
    assert warning.startswith(f"cmbench: warning: {path}: {why}")
    assert warning.endswith(f"; moved aside to {aside}, sizes calibrate again")
    assert aside.read_bytes() == content and not path.exists()  # nothing thrown away
    store.save("env-a", {"cpus": 2}, "ping_pong[r=1] go/goroutines", calibration(1000))  # the new size is kept
    assert store.sizes("env-a")["ping_pong[r=1] go/goroutines"].value == 1000 and warnings(capsys) == []
    path.write_bytes(content)  # damaged again within the second: a second file aside, the first kept
    assert store.environments() == {} and len(list(tmp_path.glob("calibration.json.corrupt-*"))) == 2


def test_damaged_entries_are_dropped_and_the_other_sizes_kept(tmp_path, capsys):
    store = CalibrationStore(tmp_path)
    store.save("env-a", {"cpus": 2}, "ping_pong[r=1] go/goroutines", calibration(1000))
    path = tmp_path / "calibration.json"
    data = json.loads(path.read_text())
    data["environments"]["env-a"]["sizes"]["ping_pong[r=1] c/pthreads"] = {"value": 1}
    data["environments"]["env-b"] = ["not", "an", "environment"]
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    assert {k: c.value for k, c in store.sizes("env-a").items()} == {"ping_pong[r=1] go/goroutines": 1000}
    [aside] = tmp_path.glob("calibration.json.corrupt-*")
    assert warnings(capsys) == [f"cmbench: warning: {path}: entry 'ping_pong[r=1] c/pthreads', environment "
                                f"'env-b' damaged; moved aside to {aside}, the other sizes kept, those calibrate "
                                "again"]
    assert aside.read_bytes() == before
    assert set(json.loads(path.read_text())["environments"]) == {"env-a"}
    assert store.sizes("env-a") and warnings(capsys) == []  # repaired once


def test_a_newer_store_is_refused_and_never_written_over(tmp_path, capsys):
    path = tmp_path / "calibration.json"
    newer = '{"schema": 9, "environments": {"env-a": {"sizes": {"k": {"v": 2}}}}}'
    path.write_text(newer)
    store = CalibrationStore(tmp_path)
    for call in (lambda: store.sizes("env-a"), lambda: store.save("env-a", {}, "k", calibration())):
        with pytest.raises(UserError) as e:
            call()
        assert str(e.value) == f"{path}: schema 9 is newer than this cmbench reads (1); update cmbench"
    assert path.read_text() == newer and [p.name for p in tmp_path.iterdir()] == ["calibration.json"]
    assert warnings(capsys) == []


def test_fingerprint_names_what_changes_speed():
    meta = {"host": {"cpu_model": "X", "cpu_count": 2, "kernel": "Linux 6", "hostname": "a", "loadavg": [1, 2, 3]},
            "executor": "native", "cpus": [0, 1], "profile": "quick", "run_id": "r1"}
    same = {**meta, "host": {**meta["host"], "hostname": "b", "loadavg": [9, 9, 9]}, "run_id": "r2", "cpus": 2}
    assert environment_fingerprint(meta) == environment_fingerprint(same)
    for change in ({"cpus": [0]}, {"profile": "full"}, {"executor": "docker"},
                   {"host": {**meta["host"], "kernel": "Linux 7"}}, {"host": {**meta["host"], "cpu_model": "Y"}}):
        assert environment_fingerprint({**meta, **change}) != environment_fingerprint(meta)


def test_local_environment_is_what_a_run_records():
    from pathlib import Path

    from harness.host.info import host_metadata

    run = {"host": host_metadata(Path(".")), "executor": "native", "cpus": [0], "profile": "quick"}
    assert environment_fingerprint(local_environment("native", (0,), "quick")) == environment_fingerprint(run)
