"""Reference measurements: perf and reference-spawn are faked at the process boundary."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.errors import UserError
from harness.host import oscosts as reference_bench
from harness.host.drift import CROSS_HANDOFFS, HANDOFFS, ROUNDS, HostDrift
from harness.host.oscosts import ReferenceMeasurements, measure_references


class FakeRunner:
    def __init__(self, perf_seconds=(0.4, 0.5, 0.6), spawn="30000\n31000\n29000\n", perf_code=0):
        self.perf_seconds = list(perf_seconds)
        self.spawn, self.perf_code = spawn, perf_code
        self.calls: list[tuple[tuple[str, ...], int]] = []

    def __call__(self, argv, cpu):
        self.calls.append((tuple(argv), cpu))
        if "perf" in argv[0]:
            if self.perf_code:
                return self.perf_code, "", "perf_event_open: Permission denied\n"
            return 0, f"{self.perf_seconds[len(self.calls) % len(self.perf_seconds)]}\n", ""
        return 0, self.spawn, ""


@pytest.fixture
def perf_present(monkeypatch):
    monkeypatch.setattr(reference_bench.shutil, "which", lambda name: f"/usr/bin/{name}")


def fake_program() -> Path:
    return Path("/cache/reference-spawn")


class Quiet:
    """A watch that saw no other process."""

    def flags(self) -> list[str]:
        return []


def test_switches_are_per_switch_and_every_command_is_pinned(perf_present):
    run = FakeRunner(perf_seconds=(0.4,))
    r = measure_references(3, repeats=3, switch_loops=100_000, spawn_count=10, run=run, program=fake_program,
                           watch=Quiet)
    assert r.cpu == 3 and [s.name for s in r.skipped] == ["cross_cpu_switch"]  # no other CPU named
    # 0.4 s for 100,000 round trips = 2 us per round trip = 2,000 ns per switch
    assert r.get("thread_switch").values == (2000.0, 2000.0, 2000.0)
    assert "-T" in run.calls[3][0] and "-T" not in run.calls[0][0]
    assert all(cpu == 3 for _, cpu in run.calls)
    assert r.get("thread_create").summary.median == 30000.0
    assert r.get("process_create").method.startswith("taskset -c 3 reference-spawn fork 10 3")
    assert run.calls[-1][0] == ("/cache/reference-spawn", "thread", "10", "3")


def test_missing_or_refused_perf_is_a_reason_not_an_error(monkeypatch):
    monkeypatch.setattr(reference_bench.shutil, "which", lambda name: None)
    r = measure_references(0, other=1, repeats=3, run=FakeRunner(), program=fake_program, watch=Quiet)
    assert {s.name for s in r.skipped} == {"process_switch", "thread_switch"}
    assert "perf is not installed" in r.skipped[0].reason
    assert {m.name for m in r.measured} == {"process_create", "thread_create", "cross_cpu_switch"}
    monkeypatch.setattr(reference_bench.shutil, "which", lambda name: "/usr/bin/perf")
    refused = measure_references(0, repeats=3, run=FakeRunner(perf_code=255), program=fake_program,
                                 watch=Quiet)
    assert "Permission denied" in refused.skipped[0].reason and "not be permitted" in refused.skipped[0].reason


def test_bad_output_and_no_compiler_are_skipped(perf_present):
    def no_gcc() -> Path:
        raise UserError("gcc: not found")

    r = measure_references(0, repeats=3, run=FakeRunner(spawn="12\n"), program=no_gcc, watch=Quiet)
    assert {s.name: s.reason for s in r.skipped}["thread_create"] == "gcc: not found"
    short = measure_references(0, repeats=3, run=FakeRunner(spawn="12\n"), program=fake_program, watch=Quiet)
    assert "printed 1 values, expected 3" in {s.name: s.reason for s in short.skipped}["process_create"]


def test_the_stored_form_round_trips_and_is_versioned(perf_present):
    r = measure_references(1, repeats=3, run=FakeRunner(), program=fake_program, watch=Quiet)
    stored = json.loads(json.dumps(r.as_dict()))
    assert stored["schema"] == 1 and stored["measured"][0]["n"] == 3 and "median" in stored["measured"][0]
    assert ReferenceMeasurements.from_dict(stored) == r
    with pytest.raises(UserError, match="schema 2 is newer"):
        ReferenceMeasurements.from_dict({**stored, "schema": 2})
    with pytest.raises(UserError, match="malformed"):
        ReferenceMeasurements.from_dict({"schema": 1, "measured": [{"name": "x"}]})


def test_a_busy_host_flags_the_figures(perf_present):
    class Busy:
        def flags(self):
            return ["host busy: other processes used 0.90 CPUs while this was measured"]

    r = measure_references(0, repeats=3, run=FakeRunner(), program=fake_program, watch=Busy)
    assert r.flags == ("host busy: other processes used 0.90 CPUs while this was measured",)
    assert ReferenceMeasurements.from_dict(json.loads(json.dumps(r.as_dict()))).flags == r.flags


def test_the_cross_cpu_hand_off_pins_its_two_threads_or_says_why_not(perf_present):
    run = FakeRunner(spawn="20000\n21000\n19000\n")
    r = measure_references(0, other=1, repeats=3, handoffs=500, run=run, program=fake_program, watch=Quiet)
    handoff = r.get("cross_cpu_switch")
    assert handoff.summary.median == 20000.0 and handoff.unit == "ns"
    assert run.calls[-1] == (("/cache/reference-spawn", "handoff", "500", "3", "0", "1"), 0)
    assert "CPU 0 and CPU 1" in handoff.method
    alone = measure_references(0, repeats=3, run=FakeRunner(), program=fake_program, watch=Quiet)
    assert {s.name: s.reason for s in alone.skipped}["cross_cpu_switch"].startswith("the run has one CPU")


def test_the_hand_off_program_really_hands_off_and_refuses_a_cpu_it_cannot_use():
    import os

    from harness.host.oscosts import spawn_program
    cpus = sorted(os.sched_getaffinity(0))
    binary = spawn_program()
    r = measure_references(cpus[0], other=cpus[-1], repeats=2, switch_loops=10, spawn_count=10, handoffs=200,
                           watch=Quiet)
    assert len(r.get("cross_cpu_switch").values) == 2 and min(r.get("cross_cpu_switch").values) > 0
    bad = measure_references(cpus[0], other=4096, repeats=1, switch_loops=10, spawn_count=10, handoffs=10,
                             program=lambda: binary, watch=Quiet)
    assert "Invalid argument" in {s.name: s.reason for s in bad.skipped}["cross_cpu_switch"]


# --- the host's steadiness during a run (harness/host/drift.py) -------------------------------------


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        self.now += 2.5
        return self.now


def drift(*rounds, program=fake_program, other=None):
    """A HostDrift on CPU 1 (and `other`) whose probes print `rounds` in turn (each a list of ROUNDS values)."""
    lines = iter("".join(f"{v}\n" for v in r) for r in rounds)
    runner = FakeRunner()
    runner.spawn = None

    def run(argv, cpu):
        runner.calls.append((tuple(argv), cpu))
        return 0, next(lines), ""
    probe = HostDrift(1, other, run=run, program=program, clock=Clock())
    probe.calls = runner.calls
    return probe


def test_host_drift_probes_the_pinned_hand_off_and_records_its_spread():
    d = drift([1000, 1200, 1100, 900, 1000], [1000] * 5, [1400] * 5, [1200] * 5)
    for _ in range(4):
        d.probe()
    assert d.calls[0] == (("/cache/reference-spawn", "handoff", str(HANDOFFS), str(ROUNDS), "1", "1"), 1)
    stored = json.loads(json.dumps(d.as_dict()))
    assert stored["values"] == [[0.0, 1000.0], [2.5, 1000.0], [5.0, 1400.0], [7.5, 1200.0]]  # each probe's median
    assert stored["n"] == 4 and stored["median"] == 1100.0 and stored["min"] == 1000.0 and stored["max"] == 1400.0
    assert stored["cv"] == pytest.approx(0.1665, abs=1e-4)
    assert stored["robust_cv"] == pytest.approx(1.4826 * 100 / 1100) and stored["steady"] is False
    assert "spread 13.5% (robust; CV 16.7%" in d.text() and "the host was not steady" in d.text()


def test_host_drift_with_a_second_cpu_probes_the_hand_off_across_them_too():
    # same-CPU probes hold still at 1 us; the cross-CPU ones move 20, 26, 23 us
    d = drift([1000] * 5, [20000] * 5, [1010] * 5, [26000] * 5, [1000] * 5, [23000] * 5, other=0)
    for _ in range(3):
        d.probe()
    assert d.calls[1] == (("/cache/reference-spawn", "handoff", str(CROSS_HANDOFFS), str(ROUNDS), "1", "0"), 1)
    stored = json.loads(json.dumps(d.as_dict()))
    assert stored["schema"] == 4 and stored["values"] == [[0.0, 1000.0], [2.5, 1010.0], [5.0, 1000.0]]
    assert stored["steady"] is True
    cross = stored["cross"]
    assert cross["cpus"] == [1, 0] and cross["values"] == [[0.0, 20000.0], [2.5, 26000.0], [5.0, 23000.0]]
    assert cross["n"] == 3 and cross["median"] == 23000.0 and cross["robust_cv"] == pytest.approx(1.4826 * 3 / 23)
    assert cross["steady"] is False and "method" in cross
    lines = d.text().splitlines()
    assert len(lines) == 2 and "not steady" not in lines[0]
    assert lines[1].startswith("host drift across CPUs 1 and 0: the hand-off between them, 23 us median, spread 19.3%")
    assert "`spread` figures of this run" in lines[1]
    assert "cross" not in drift([1000] * 5).as_dict()  # one CPU: no hand-off across


def test_a_few_slow_probes_among_many_leave_the_host_steady():
    # 20 probes within 1%, two that met a brief disturbance 40% slow: a CV of 12%, while every median held still
    d = drift(*([[1000 + 10 * (k % 3 - 1)] * 5 for k in range(20)] + [[1400] * 5] * 2))
    for _ in range(22):
        d.probe()
    stored = d.as_dict()
    assert stored["cv"] > 0.05 and stored["robust_cv"] < 0.02 and stored["steady"] is True
    assert "not steady" not in d.text() and "a few met brief disturbances" in d.text()


def test_two_slow_probes_in_a_row_are_a_spell_one_is_not():
    calm = [[1000 + 10 * (k % 3 - 1)] * 5 for k in range(6)]
    d = drift(*calm, [1300] * 5, [1000] * 5, [1300] * 5, [1250] * 5, [1000] * 5)
    states = []
    for _ in range(11):
        d.probe()
        states.append(d.in_spell())
    assert states == [False] * 6 + [False, False, False, True, False]  # 1250 is 25% above the calm 990-1000
    assert d.as_dict()["spells"] == 1 and "1 found it in a slow spell" in d.text()
    early = drift([1000] * 5, [2000] * 5, [2000] * 5)  # too few probes to know the calm level
    for _ in range(3):
        early.probe()
    assert not early.in_spell() and early.as_dict()["spells"] == 0


def test_a_steady_host_says_so_without_a_warning():
    d = drift([1000] * 5, [1010] * 5)
    d.probe()
    assert d.text() == "" and d.as_dict()["cv"] is None  # one probe: no spread yet
    d.probe()
    assert d.as_dict()["steady"] is True and "not steady" not in d.text() and "CV 0.7%" in d.text()
    assert "brief disturbances" not in d.text()


def test_host_drift_without_a_compiler_says_why_once():
    def no_gcc():
        raise UserError("no C compiler (gcc or cc) to build reference-spawn")
    d = drift([1000] * 5, program=no_gcc)
    d.probe()
    d.probe()
    assert d.values == [] and d.as_dict()["skipped"].startswith("no C compiler")
    assert d.text() == "host drift: not measured (no C compiler (gcc or cc) to build reference-spawn)"


def test_host_drift_takes_a_real_probe():
    d = HostDrift(min(os.sched_getaffinity(0)))
    d.probe()
    if d.skipped:
        pytest.skip(d.skipped)
    assert len(d.values) == 1 and 10 < d.values[0][1] < 1e6  # ns per same-CPU hand-off
