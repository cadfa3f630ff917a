"""The harness's own threads leave the measured CPUs for the time of a case, when the host has others."""

from __future__ import annotations

import os
import threading

import pytest

from harness.console import Console
from harness.engine.local import run_cases
from harness.measure.affinity import kept_off, spare_cpus


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs a CPU besides the measured one")
def test_the_harness_threads_leave_the_measured_cpus_for_a_case_and_come_back(fixture_catalog, fake_executor,
                                                                              tmp_path):
    allowed = os.sched_getaffinity(0)
    measured = min(allowed)
    seen = []
    real_run = fake_executor.run

    def run(*a, **k):
        seen.append(os.sched_getaffinity(0))
        return real_run(*a, **k)

    fake_executor.run = run
    with open(tmp_path / "console.txt", "a") as stream:
        run_cases(fixture_catalog, fake_executor, fixture_catalog.select_impls(["fake/good"]),
                  fixture_catalog.select_workloads(["ping_pong"]), profile="smoke", cpus=(measured,),
                  out=tmp_path / "run", console=Console(stream=stream))
    assert os.sched_getaffinity(0) == allowed
    measuring = seen[-1]  # the verification runs first, as the harness does; the measured processes last
    assert measuring == allowed - {measured}


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_kept_off_moves_every_thread_and_gives_each_its_cpus_back():
    allowed = sorted(os.sched_getaffinity(0))
    go, done = threading.Event(), threading.Event()
    ids = {}

    def body():
        ids["tid"] = threading.get_native_id()
        go.set()
        done.wait(10)

    t = threading.Thread(target=body)
    t.start()
    go.wait(10)
    try:
        with kept_off(allowed[:1]) as spare:
            assert spare == tuple(allowed[1:])
            assert os.sched_getaffinity(ids["tid"]) == set(allowed[1:]) == os.sched_getaffinity(0)
        assert os.sched_getaffinity(ids["tid"]) == set(allowed) == os.sched_getaffinity(0)
        with kept_off(allowed) as spare:  # nothing to spare: nothing moves
            assert spare == () and os.sched_getaffinity(0) == set(allowed)
    finally:
        done.set()
        t.join()
    assert spare_cpus((1, 3), (0, 1, 2, 3)) == (0, 2)
