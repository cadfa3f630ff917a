"""Modes of a case's per-process values: the gap rule, the dip test from 11 processes, and what is recorded."""

import json

import numpy as np
import pytest

from harness.measure.modes import MODES_PREFIX, Modes, find_modes, has_modes


def spread(center: float, n: int, width: float = 0.02, seed: int = 0) -> list[float]:
    """`n` per-process values around `center`, normal noise of `width` (relative), seeded."""
    return list(center * (1 + width * np.random.default_rng(seed).standard_normal(n)))


def test_a_clearly_bimodal_case_of_ten_processes_shows_both_modes_with_their_shares():
    values = spread(1.2e-3, 6, seed=1) + spread(3.4e-3, 4, seed=2)
    order = np.random.default_rng(3).permutation(10)  # processes land in either mode in any order
    found = find_modes([values[i] for i in order])
    assert found.multimodal and [m.n for m in found.modes] == [6, 4]
    assert [m.share for m in found.modes] == [0.6, 0.4]
    assert found.modes[0].location == pytest.approx(1.2e-3, rel=0.03)
    assert found.modes[1].location == pytest.approx(3.4e-3, rel=0.03)
    slow = {int(i) for i, v in enumerate(order) if v >= 6}
    assert set(found.modes[1].processes) == slow  # which processes, as results.csv numbers them
    assert found.text() == "2 (60% at 1.21 ms, 40% at 3.37 ms)"
    assert found.flag().startswith(MODES_PREFIX) and has_modes([found.flag()])
    assert found.separation > 8 and found.p_value < 0.01


def test_unimodal_noise_is_one_mode():
    found = find_modes(spread(1e-3, 10, width=0.05, seed=4))
    assert not found.multimodal and found.modes[0].share == 1.0 and found.modes[0].n == 10
    # the documented false-positive rate: a few percent at most, over seeded samples of each size
    for n in (4, 6, 10):
        hits = sum(find_modes(spread(1.0, n, width=0.05, seed=s)).multimodal for s in range(300))
        assert hits <= 0.03 * 300, (n, hits)


def test_three_processes_never_show_modes():
    # a mode needs two processes and there are two modes to show: a split of three leaves one alone
    for values in ([1.0, 1.0, 100.0], [1.0, 10.0, 100.0], [1e-3, 1e-3, 2e-3]):
        found = find_modes(values)
        assert not found.multimodal and found.dip is None and found.separation is None


def test_four_processes_two_and_two_far_apart_are_the_fewest_that_show_modes():
    assert find_modes([1.0, 1.01, 2.0, 2.02]).text() == "2 (50% at 1 s, 50% at 2.01 s)"
    assert not find_modes([1.0, 1.01, 1.02, 2.0]).multimodal  # one process apart is an outlier


def test_groups_closer_than_ten_percent_are_not_modes():
    assert not find_modes([1.0, 1.0, 1.0, 1.08, 1.08, 1.08]).multimodal
    assert find_modes([1.0, 1.0, 1.0, 1.12, 1.12, 1.12]).multimodal


def test_the_dip_test_decides_from_eleven_processes_only():
    def groups(n):  # two flat groups 1.5x apart: their gap is under 8 standard deviations
        lo = np.linspace(0.92, 1.08, n // 2)
        return [*lo, *(1.5 * np.linspace(0.92, 1.08, n - n // 2))]
    ten, eleven = find_modes(groups(10)), find_modes(groups(11))
    assert ten.p_value < 0.05 and ten.separation < 8 and not ten.multimodal  # recorded, not decisive
    assert eleven.p_value < 0.05 and eleven.multimodal and [m.n for m in eleven.modes] == [5, 6]


def test_a_time_and_its_reciprocal_split_alike():
    values = spread(1.0, 5, seed=5) + spread(2.5, 5, seed=6)
    times, rates = find_modes(values), find_modes([1 / v for v in values])
    assert times.multimodal and rates.multimodal
    assert [m.processes for m in times.modes] == [m.processes for m in reversed(rates.modes)]
    assert times.separation == pytest.approx(rates.separation)


def test_a_far_third_group_splits_off_too():
    found = find_modes([1.0, 1.0, 1.0, 1.3, 1.3, 1.3, 4.0, 4.0, 4.0])
    assert [m.location for m in found.modes] == [1.0, 1.3, 4.0]


def test_values_that_are_not_above_zero_leave_one_group():
    assert not find_modes([0.0, 0.0, 5.0, 5.0]).multimodal


def test_modes_round_trip_through_json_without_infinities():
    found = find_modes([1.0, 1.0, 2.0, 2.0])  # no spread within the groups: an infinite separation
    text = json.dumps(found.to_dict(), allow_nan=False)
    back = Modes.from_dict(json.loads(text))
    assert back.modes == found.modes and back.separation is None and back.p_value == found.p_value
    assert has_modes("host busy: x; modes: 2 (50% at 1 s, 50% at 2 s)") and not has_modes("unconverged: ...")
