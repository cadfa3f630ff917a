"""Pieces of the server measurements with fakes: settling, stalls, bounds, ceilings, host limits, start-up
timing, and the workload's profile fields."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from harness.errors import UserError
from harness.kinds.server import limits
from harness.kinds.server.bound import Ceiling, Ceilings, bound_flag, is_bound, is_short, open_target, rank_bounds
from harness.kinds.server.kind import _read_profile
from harness.kinds.server.settle import (
    ENDED,
    FIXED,
    MAX_DURATION,
    SETTLED,
    Clock,
    Settled,
    Settling,
    has_settled,
    longest_stall,
    spread,
    watch,
)
from harness.kinds.server.startup import first_answer
from harness.manifests.toml import TableReader
from harness.measure.start_times import summarize_starts, time_to_first_iteration, time_to_ready


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def counter(rates):
    """A progress counter that advances by rates[k] in the k-th second, cycling through `rates`."""
    state = {"value": 0, "k": 0}

    def read() -> int:
        value = state["value"]
        rate = rates[state["k"] % len(rates)]
        state["value"] += rate
        state["k"] += 1
        return value

    return read


# --- settling --------------------------------------------------------------------------------------------------


def test_spread_and_settling():
    assert spread([100, 100, 100]) == 0
    assert spread([90, 100, 110]) == pytest.approx(0.1)
    assert spread([]) == float("inf") and spread([0, 0]) == float("inf")
    assert has_settled([50, 100, 101, 99], 3, 0.05)
    assert not has_settled([100, 101], 3, 0.05)
    assert not has_settled([80, 100, 120], 3, 0.05)


def test_a_load_stops_once_its_rate_has_settled_after_the_minimum():
    clock = FakeClock()
    rates = [10, 50, 98, 100, 101, 100, 100, 100]
    how = watch(counter(rates), lambda: True, Settling(3, 10, 3, 0.05), Clock(clock.now, clock.sleep))
    assert how.reason == SETTLED and how.seconds == pytest.approx(5.0)
    assert how.rates == (10, 50, 98, 100, 101)
    assert "the last 3 one-second rates were within 1.7% of their mean" in how.describe()


def test_a_load_that_never_settles_stops_at_the_maximum():
    clock = FakeClock()
    how = watch(counter([100, 150]), lambda: True, Settling(2, 6, 3, 0.05), Clock(clock.now, clock.sleep))
    assert how.reason == MAX_DURATION and how.seconds == pytest.approx(6.0) and len(how.rates) == 6
    assert "without settling" in how.describe()


def test_a_fixed_load_still_records_its_rates():
    clock = FakeClock()
    how = watch(counter([100]), lambda: True, Settling(4, 4, 3, 0.05), Clock(clock.now, clock.sleep))
    assert how.reason == FIXED and how.rates == (100,) * 4


def test_a_generator_that_ends_by_itself_ends_the_watch():
    clock = FakeClock()
    alive = iter([True, True, False])
    how = watch(counter([100]), lambda: next(alive), Settling(5, 9, 3, 0.05), Clock(clock.now, clock.sleep))
    assert how.reason == ENDED and how.rates == (100, 100)


def test_rates_are_per_second_even_when_a_sleep_overruns():
    clock = FakeClock()

    def slow_sleep(seconds: float) -> None:
        clock.t += seconds + 1.0  # every sample comes a second late

    how = watch(counter([100]), lambda: True, Settling(2, 2, 2, 0.05), Clock(clock.now, slow_sleep))
    assert how.rates[0] == pytest.approx(50.0)


def test_settled_scales_to_requests_and_round_trips():
    s = Settled(SETTLED, 7.0, (1300.0, 1310.0, 1290.0), 3, 0.05).scaled(1 / 130)
    assert s.rates == (10.0, 10.1, 9.9)
    assert Settled.from_dict(s.as_dict()) == s


@pytest.mark.parametrize("rates, stall", [
    ((0, 0, 0, 100, 100), 0),  # connecting for three seconds is not a stall
    ((69, 0, 0, 0, 0, 0, 37_000, 35_000), 0),  # nor is a few connections answered while the rest retry SYNs
    ((100, 0, 100, 0), 1),
    ((100, 0, 0, 0), 3),
    ((), 0),
])
def test_longest_stall(rates, stall):
    assert longest_stall(rates) == stall


# --- load-generator bounds -------------------------------------------------------------------------------------


CEILINGS = Ceilings((Ceiling("wrk", 1, 64, 90_000.0, "load generator"), Ceiling("wrk", 1, 256, 100_000.0, "both"),
                     Ceiling("wrk", 16, 256, 400_000.0, "load generator"), Ceiling("oha", 1, 64, 50_000.0, "both")))


def test_ceilings_are_looked_up_by_tool_depth_and_connections():
    assert CEILINGS.of("wrk", 1, 64).qps == 90_000
    assert CEILINGS.of("wrk", 1, 16).qps == 100_000  # not measured there: the highest of that tool and depth
    assert CEILINGS.of("wrk", 16, 4096).qps == 400_000
    assert CEILINGS.of("oha", 16, 64) is None
    record = {"runs": [{"tool": "wrk", "mode": "pipelined", "pipeline": 16, "connections": 256, "qps": 400000.0,
                        "bottleneck": "load generator"}]}
    assert Ceilings.from_record(record).of("wrk", 16, 256).qps == 400_000


@pytest.mark.parametrize("cpu, qps, bound", [(0.5, 50_000, False), (0.95, 50_000, True), (0.5, 85_000, True)])
def test_a_figure_near_the_ceiling_or_with_a_busy_generator_is_bound(cpu, qps, bound):
    flag = bound_flag("wrk", cpu, 1, qps, CEILINGS.of("wrk", 1, 64))
    assert (flag is not None) == bound
    if flag:
        assert is_bound([flag]) and is_bound(f"host busy: x; {flag}")


def test_a_rate_above_a_disturbed_ceiling_says_so():
    flag = bound_flag("wrk", 0.4, 1, 120_000, CEILINGS.of("wrk", 1, 64))
    assert is_bound([flag]) and "120,000 req/s is above wrk's measured ceiling on these CPUs (90,000 req/s" in flag


def test_flags_have_stable_prefixes_and_old_runs_are_read_alike():
    assert is_bound(["load generator saturated: wrk kept 97% of its 1 CPU(s) busy"])  # runs before the prefix
    assert not is_bound(["load generator saturated: oha kept 97% of its 1 CPU(s) busy at this rate"])
    assert not is_bound("host busy: 1-minute load average 9.0 on 2 CPUs")
    assert is_short(["rate short of target: achieved 10 req/s of the 20 req/s asked"])


def test_open_loop_targets_are_capped_below_ohas_ceiling():
    oha = CEILINGS.of("oha", 1, 64)
    assert open_target(0.5, 40_000, oha) == (20_000, 40_000, "this server's best closed-loop rate")
    target, reference, why = open_target(0.5, 90_000, CEILINGS.of("oha", 1, 64))
    assert (target, reference) == (20_000, 40_000) and why.startswith("80% of oha's ceiling (50,000 req/s")
    assert open_target(0.9, 90_000, None)[0] == 81_000


@pytest.mark.parametrize("values, best", [
    ([(100, False), (80, False)], 0),
    ([(100, True), (80, False)], 0),  # the one bound figure is the highest: at least 100 beats 80
    ([(100, False), (90, True)], None),  # 90 bound may be anything above 90
    ([(100, True), (90, True)], None),  # two bound figures: their order is unknown
    ([], None),
])
def test_ranking_never_puts_a_bound_figure_above_another(values, best):
    assert rank_bounds(values) == best


# --- host limits -----------------------------------------------------------------------------------------------


def test_too_few_ephemeral_ports_is_said_with_the_setting(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "raise_fd_limit", lambda needed: None)
    problem = limits.capacity_problem(10_000, ports=5000)
    assert "needs 10000 local ports" in problem and "ip_local_port_range" in problem
    assert limits.capacity_problem(100, ports=28_000) is None
    rng = tmp_path / "range"
    rng.write_text("32768\t60999\n")
    assert limits.ephemeral_ports(rng) == 28232


def test_an_open_file_limit_that_cannot_be_raised_is_said(monkeypatch):
    def refuse(needed):
        raise limits.IdleError(f"needs {needed} open files but the hard limit is 4096: raise it")

    monkeypatch.setattr(limits, "raise_fd_limit", refuse)
    assert limits.capacity_problem(10_000, ports=28_000).startswith("needs 11024 open files")


# --- start-up time ---------------------------------------------------------------------------------------------


def test_time_to_ready_is_a_function_of_timestamps():
    assert time_to_ready(10.0, 10.25) == 0.25
    with pytest.raises(ValueError):
        time_to_ready(10.0, 9.0)
    assert time_to_first_iteration(10.0, 10.5, 200_000_000) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="at least 5"):
        summarize_starts([0.1, 0.2])
    assert summarize_starts([0.1, 0.3, 0.2, 0.2, 0.5]).median == 0.2


def test_first_answer_waits_for_a_server_that_starts_listening_late():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def serve():
        lsock.bind(("127.0.0.1", port))
        lsock.listen(8)
        conn, _ = lsock.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!")

    timer = threading.Timer(0.2, serve)
    timer.start()
    try:
        began = __import__("time").perf_counter()
        answered = first_answer(port, lambda: True, 5.0)
        assert answered is not None and answered - began >= 0.19
    finally:
        timer.join()
        lsock.close()


def test_first_answer_gives_up_when_the_process_dies():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert first_answer(port, lambda: False, 5.0) is None


# --- the workload's profile fields -----------------------------------------------------------------------------


def profile(**fields):
    base = {"connections": [16], "rates": [0.5], "min_duration": 5, "warmup": 1, "idle_connections": 10}
    base.update(fields)
    return _read_profile(TableReader(Path("workload.toml"), base, "profiles.quick."), "quick")


def test_profile_fields_have_defaults():
    p = profile()
    assert (p.max_duration, p.settle_window, p.settle_tolerance, p.pipeline_depth, p.startup_runs) == (5, 3, 0.05,
                                                                                                        16, 0)
    assert profile(max_duration=15, pipelined_connections=[256], startup_runs=5).longest == 15


@pytest.mark.parametrize("fields, text", [
    ({"max_duration": 3}, "max_duration' must be >= min_duration >= 1"),
    ({"max_duration": 10, "settle_window": 9}, "settle_window' must be 1..min_duration"),
    ({"max_duration": 10, "settle_tolerance": 1.5}, "settle_tolerance in (0, 1)"),
    ({"startup_runs": 3}, "startup_runs' must be 0 or at least 5"),
    ({"pipeline_depth": 1}, "pipeline_depth' must be at least 2"),
    ({"pipelined_connections": [25.5]}, "pipelined_connections' must list whole numbers"),
    ({"rates": [1.5]}, "rates' must be fractions of saturation"),
    ({"settle_windw": 3}, "unknown key 'profiles.quick.settle_windw'"),
])
def test_profile_mistakes_name_the_field(fields, text):
    with pytest.raises(UserError, match=text.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        profile(**fields)
